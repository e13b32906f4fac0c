//! A client of a MediGate vault: every request signed with the user's chain
//! key (the vault's `x-medigate-*` headers).

use std::sync::Arc;

use base64::Engine as _;
use medigate_crypto::keys::SigningKeypair;
use medigate_vault::{
    auth::{sign_headers, sign_headers_for_hash, unix_ms},
    batch::BatchItem,
};
use reqwest::{Method, StatusCode};

use crate::error::GatewayError;

/// The header carrying the requester's key wrap on a read (the vault's
/// `KEY_WRAP_HEADER`).
const KEY_WRAP_HEADER: &str = "x-medigate-key-wrap";
/// The header naming the grant that allowed a read.
const GRANT_HEADER: &str = "x-medigate-grant";

/// An envelope fetched from a vault, with what the vault sent beside it.
#[derive(Debug)]
pub struct Fetched {
    /// The envelope.
    pub envelope: Vec<u8>,
    /// The requester's key wrap, if the vault holds one.
    pub wrap: Option<Vec<u8>>,
    /// The grant that allowed the read (none for the owner or a delegate).
    pub grant: Option<u64>,
}

/// The outcome of a read: the envelope, or the vault's refusal.
#[derive(Debug)]
pub enum ReadOutcome {
    /// Served.
    Served(Fetched),
    /// Refused by the chain's consent: the vault's code (`no_grant`,
    /// `revoked`...) and message.
    Denied {
        /// The vault's stable code.
        code: String,
        /// Its message.
        message: String,
    },
}

/// A vault, as one account talks to it.
#[derive(Clone, Debug)]
pub struct VaultClient {
    base: String,
    http: reqwest::Client,
    /// The vault's account, the audience of every signed request: read
    /// from its `/health` once.
    account: Arc<tokio::sync::OnceCell<[u8; 32]>>,
}

fn hex32(bytes: &[u8; 32]) -> String {
    hex::encode(bytes)
}

impl VaultClient {
    /// A client of the vault at `base` (`http://127.0.0.1:8700`).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .tcp_nodelay(true)
                .pool_max_idle_per_host(64)
                .build()
                .expect("a reqwest client builds"),
            account: Arc::default(),
        }
    }

    /// The vault's account, as its `/health` names it (asked once): what
    /// every signed request names as its audience, so that a request made
    /// for this vault is refused by any other service.
    pub async fn account(&self) -> Result<[u8; 32], GatewayError> {
        self.account
            .get_or_try_init(|| async {
                let unreachable =
                    |error: reqwest::Error| GatewayError::Vault(format!("GET /health: {error}"));
                // A degraded vault (503) still names its account.
                let health: serde_json::Value = self
                    .http
                    .get(format!("{}/health", self.base))
                    .send()
                    .await
                    .map_err(unreachable)?
                    .json()
                    .await
                    .map_err(unreachable)?;
                health["vault"]
                    .as_str()
                    .and_then(|text| hex::decode(text).ok())
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or_else(|| {
                        GatewayError::Vault(format!(
                            "{}/health does not name the vault's account",
                            self.base
                        ))
                    })
            })
            .await
            .copied()
    }

    /// The vault's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, GatewayError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request
            .body(body)
            .send()
            .await
            .map_err(|error| GatewayError::Vault(format!("{method} {path}: {error}")))
    }

    async fn refusal(response: reqwest::Response, what: &str) -> GatewayError {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|body| body["message"].as_str().map(str::to_string))
            .unwrap_or(text);
        GatewayError::Vault(format!("{what} was refused ({status}): {message}"))
    }

    /// Stores an envelope under its content id.
    pub async fn put_blob(
        &self,
        signer: &SigningKeypair,
        content_id: &[u8; 32],
        envelope: Vec<u8>,
    ) -> Result<(), GatewayError> {
        let path = format!("/blobs/{}", hex32(content_id));
        let headers = sign_headers_for_hash(
            signer,
            self.account().await?,
            "PUT",
            &path,
            *content_id,
            unix_ms(),
        );
        let response = self.send(Method::PUT, &path, headers, envelope).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::refusal(response, "storing an envelope").await)
        }
    }

    /// Stores many envelopes and key wraps in one request (`POST /batches`,
    /// all or nothing).
    pub async fn put_batch(
        &self,
        signer: &SigningKeypair,
        items: &[BatchItem<'_>],
    ) -> Result<(), GatewayError> {
        let mut body = Vec::with_capacity(
            items
                .iter()
                .map(|item| match item {
                    BatchItem::Envelope { bytes, .. } => bytes.len() + 37,
                    BatchItem::KeyWrap { bytes, .. } => bytes.len() + 69,
                })
                .sum(),
        );
        for item in items {
            medigate_vault::batch::encode(item, &mut body);
        }
        let path = "/batches";
        let headers = sign_headers(
            signer,
            self.account().await?,
            "POST",
            path,
            &body,
            unix_ms(),
        );
        let response = self.send(Method::POST, path, headers, body).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::refusal(response, "storing a batch").await)
        }
    }

    /// Stores the key wrap of `content_id` for `grantee`.
    pub async fn put_wrap(
        &self,
        signer: &SigningKeypair,
        content_id: &[u8; 32],
        grantee: &[u8; 32],
        wrap: Vec<u8>,
    ) -> Result<(), GatewayError> {
        let path = format!("/wraps/{}/{}", hex32(content_id), hex32(grantee));
        let headers = sign_headers(
            signer,
            self.account().await?,
            "PUT",
            &path,
            &wrap,
            unix_ms(),
        );
        let response = self.send(Method::PUT, &path, headers, wrap).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::refusal(response, "storing a key wrap").await)
        }
    }

    /// Reads the envelope of `content_id`, a record of `patient`, for
    /// `purpose` (an HL7 code). The vault asks the chain first and records
    /// an access receipt for every read it serves.
    pub async fn get_blob(
        &self,
        signer: &SigningKeypair,
        content_id: &[u8; 32],
        patient: &[u8; 32],
        purpose: &str,
    ) -> Result<ReadOutcome, GatewayError> {
        let code = purpose;
        let purpose = medigate_access_policy::Purpose::from_code(code).ok_or_else(|| {
            GatewayError::BadRequest {
                what: format!("the purpose {code:?}"),
                expected: "an HL7 purpose of use code (TREAT, ETREAT, BTG, ...)".into(),
            }
        })?;
        // The one path a vault serves a read at (the chain rebuilds the
        // signed request from the receipt).
        let path = medigate_protocol::request::read_path(content_id, patient, purpose);
        let headers = sign_headers(signer, self.account().await?, "GET", &path, b"", unix_ms());
        let response = self.send(Method::GET, &path, headers, Vec::new()).await?;
        let status = response.status();
        if status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            return Ok(ReadOutcome::Denied {
                code: body["error"].as_str().unwrap_or("denied").to_string(),
                message: body["message"].as_str().unwrap_or_default().to_string(),
            });
        }
        if !status.is_success() {
            return Err(Self::refusal(response, "reading an envelope").await);
        }
        let headers = response.headers().clone();
        let wrap = headers
            .get(KEY_WRAP_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| base64::engine::general_purpose::STANDARD.decode(value).ok());
        let grant = headers
            .get(GRANT_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        let envelope = response
            .bytes()
            .await
            .map_err(|error| GatewayError::Vault(format!("reading an envelope: {error}")))?
            .to_vec();
        Ok(ReadOutcome::Served(Fetched {
            envelope,
            wrap,
            grant,
        }))
    }

    /// Every record with a key wrap for `grantee` (the signer), as
    /// `(patient, content id)`: the patient is the one its envelope names.
    pub async fn wrapped_for(
        &self,
        signer: &SigningKeypair,
        grantee: &[u8; 32],
    ) -> Result<Vec<([u8; 32], [u8; 32])>, GatewayError> {
        let path = format!("/grantees/{}/wraps", hex32(grantee));
        let headers = sign_headers(signer, self.account().await?, "GET", &path, b"", unix_ms());
        let response = self.send(Method::GET, &path, headers, Vec::new()).await?;
        if !response.status().is_success() {
            return Err(Self::refusal(response, "listing key wraps").await);
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|error| GatewayError::Vault(format!("listing key wraps: {error}")))?;
        let id = |value: &serde_json::Value| {
            value
                .as_str()
                .and_then(|id| hex::decode(id).ok())
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| GatewayError::Vault(format!("not a 64-hex-digit id: {value}")))
        };
        body["records"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|record| Ok((id(&record["patient"])?, id(&record["content_id"])?)))
            .collect()
    }
}
