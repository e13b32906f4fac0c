//! A client of the custodians of emergency key shares: their identity, the
//! patient's hand-over of a share, and a responder's release request, each
//! signed with the user's chain key as vault requests are.

use medigate_crypto::keys::SigningKeypair;
use medigate_custodian::service::{
    ErrorBody, Identity, ReleaseRequest, ReleasedShare, ShareHandover,
};
use medigate_vault::auth::{sign_headers, unix_ms};
use reqwest::Method;

use crate::error::GatewayError;

/// A share as dealt to one custodian.
#[derive(Clone, Copy, Debug)]
pub struct DealtShare<'a> {
    /// The key generation.
    pub generation: u32,
    /// The dealing.
    pub dealing: &'a [u8; 32],
    /// How many of the dealing's shares rebuild the key.
    pub threshold: u8,
    /// The patient's endorsement of the share.
    pub endorsement: &'a [u8; 64],
    /// The share, sealed to the custodian.
    pub sealed: &'a [u8],
}

/// A custodian's refusal: its stable code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The custodian's code (`no_break_glass`, `replayed`...).
    pub code: String,
    /// Its message.
    pub message: String,
}

/// The custodians one gateway knows, by their base URLs.
#[derive(Clone, Debug)]
pub struct CustodianClient {
    http: reqwest::Client,
}

impl Default for CustodianClient {
    fn default() -> Self {
        Self::new()
    }
}

impl CustodianClient {
    /// A client with short timeouts: a custodian that does not answer in
    /// seconds is passed over for others.
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(2))
                .timeout(std::time::Duration::from_secs(10))
                .tcp_nodelay(true)
                .build()
                .expect("an HTTP client builds"),
        }
    }

    /// The custodian's account and encryption key.
    pub async fn identity(&self, base: &str) -> Result<([u8; 32], [u8; 32]), GatewayError> {
        let unreachable =
            |error: reqwest::Error| GatewayError::Custodian(format!("{base}: {error}"));
        let identity: Identity = self
            .http
            .get(format!("{base}/identity"))
            .send()
            .await
            .map_err(unreachable)?
            .error_for_status()
            .map_err(unreachable)?
            .json()
            .await
            .map_err(unreachable)?;
        let decode = |text: &str| -> Result<[u8; 32], GatewayError> {
            hex::decode(text)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| GatewayError::Custodian(format!("{base}: a malformed identity")))
        };
        Ok((
            decode(&identity.account)?,
            decode(&identity.encryption_key)?,
        ))
    }

    /// Sends a request signed by `signer` for the custodian `custodian`
    /// (its account, the request's audience) at `base`.
    async fn signed(
        &self,
        base: &str,
        custodian: &[u8; 32],
        signer: &SigningKeypair,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Result<reqwest::Response, Refusal>, GatewayError> {
        let headers = sign_headers(signer, *custodian, method.as_str(), path, &body, unix_ms());
        let mut request = self
            .http
            .request(method, format!("{base}{path}"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|error| GatewayError::Custodian(format!("{base}: {error}")))?;
        if response.status().is_success() {
            return Ok(Ok(response));
        }
        let status = response.status();
        let refusal = match response.json::<ErrorBody>().await {
            Ok(body) => Refusal {
                code: body.code,
                message: body.message,
            },
            Err(_) => Refusal {
                code: "http".into(),
                message: format!("answered {status}"),
            },
        };
        Ok(Err(refusal))
    }

    /// Hands `patient`'s share (sealed to the custodian) over to the
    /// custodian at `base` (account `custodian`).
    pub async fn hand_over(
        &self,
        base: &str,
        custodian: &[u8; 32],
        signer: &SigningKeypair,
        patient: &[u8; 32],
        dealt: &DealtShare<'_>,
    ) -> Result<Result<(), Refusal>, GatewayError> {
        let body = serde_json::to_vec(&ShareHandover {
            generation: dealt.generation,
            dealing: hex::encode(dealt.dealing),
            threshold: dealt.threshold,
            endorsement: hex::encode(dealt.endorsement),
            sealed: hex::encode(dealt.sealed),
        })
        .expect("a hand-over serializes");
        let path = format!("/shares/{}", hex::encode(patient));
        Ok(self
            .signed(base, custodian, signer, Method::PUT, &path, body)
            .await?
            .map(|_| ()))
    }

    /// Asks the custodian at `base` (account `custodian`) for its share of
    /// the patient's key under break-glass `break_glass`.
    pub async fn release(
        &self,
        base: &str,
        signer: &SigningKeypair,
        custodian: &[u8; 32],
        break_glass: u64,
    ) -> Result<Result<ReleasedShare, Refusal>, GatewayError> {
        let body = serde_json::to_vec(&ReleaseRequest {
            break_glass,
            custodian: hex::encode(custodian),
        })
        .expect("a release request serializes");
        match self
            .signed(base, custodian, signer, Method::POST, "/releases", body)
            .await?
        {
            Ok(response) => response
                .json::<ReleasedShare>()
                .await
                .map(Ok)
                .map_err(|error| GatewayError::Custodian(format!("{base}: {error}"))),
            Err(refusal) => Ok(Err(refusal)),
        }
    }
}
