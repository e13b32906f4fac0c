//! Who is asking: signed-request headers, checked.
//!
//! Every signed request to a service (the vault, a custodian) carries six
//! headers:
//!
//! | header | value |
//! | --- | --- |
//! | `x-medigate-account` | the signer's account id, 64 hex digits |
//! | `x-medigate-timestamp` | when the request was made, milliseconds since the Unix epoch |
//! | `x-medigate-nonce` | 16 random bytes, 32 hex digits |
//! | `x-medigate-signature` | the sr25519 signature, 128 hex digits |
//! | `x-medigate-audience` | the account of the service the request is meant for, 64 hex digits |
//! | `x-medigate-body-hash` | the BLAKE3 hash the signature covers as the body's, 64 hex digits |
//!
//! The signature covers the audience, method, path and query, the BLAKE3
//! hash of the body, the timestamp and the nonce
//! (`medigate_crypto::request`). A service refuses a request meant for
//! another (`other_audience`), so a request captured at one service cannot
//! be replayed to another within the freshness window. Because the body's
//! hash is declared in a header, a service checks who is asking before it
//! reads any body, and then that the body is the one signed.

use http::HeaderMap;
use medigate_crypto::request::SignedRequest;

use crate::replay::{ReplayError, ReplayGuard};

/// The account header.
pub const ACCOUNT_HEADER: &str = "x-medigate-account";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-medigate-timestamp";
/// The nonce header.
pub const NONCE_HEADER: &str = "x-medigate-nonce";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-medigate-signature";
/// The audience header: the service the request is meant for.
pub const AUDIENCE_HEADER: &str = "x-medigate-audience";
/// The body-hash header: the BLAKE3 hash of the body the request signs.
pub const BODY_HASH_HEADER: &str = "x-medigate-body-hash";

/// Why a request is not authenticated.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A header is missing.
    #[error("the request is not signed: the {0} header is missing")]
    Missing(&'static str),
    /// A header is not in its format.
    #[error("the {header} header is malformed: {expected}")]
    Malformed {
        /// The header.
        header: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// The signature does not match the account and the request.
    #[error("the signature does not match the account and the request")]
    BadSignature,
    /// The request is meant for another service.
    #[error(
        "the request is signed for another service (account {meant_for}), not this one (account {this}): sign it for this service"
    )]
    OtherAudience {
        /// The account the request names (hex).
        meant_for: String,
        /// This service's account (hex).
        this: String,
    },
    /// The request is stale, from the future, or a replay.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The body that came is not the one the request signs.
    #[error(
        "the body is not the one the request signs: its BLAKE3 hash differs from the x-medigate-body-hash header"
    )]
    BodyNotSigned,
}

/// The signing fields of a request, as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestSigner {
    /// The account that signed.
    pub account: [u8; 32],
    /// When it says it made the request.
    pub timestamp_ms: u64,
    /// Its nonce.
    pub nonce: [u8; 16],
    /// Its signature.
    pub signature: [u8; 64],
    /// The service it is meant for.
    pub audience: [u8; 32],
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, AuthError> {
    headers
        .get(name)
        .ok_or(AuthError::Missing(name))?
        .to_str()
        .map_err(|_| AuthError::Malformed {
            header: name,
            expected: "visible ASCII",
        })
}

fn hex_bytes<const N: usize>(
    text: &str,
    header: &'static str,
    expected: &'static str,
) -> Result<[u8; N], AuthError> {
    let malformed = AuthError::Malformed { header, expected };
    if text.len() != 2 * N || !text.is_ascii() {
        return Err(malformed);
    }
    let mut bytes = [0u8; N];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16)
            .map_err(|_| AuthError::Malformed { header, expected })?;
    }
    Ok(bytes)
}

/// Bytes as lower-case hex digits.
fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl RequestSigner {
    /// Reads the five headers.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, AuthError> {
        let account = hex_bytes(
            header(headers, ACCOUNT_HEADER)?,
            ACCOUNT_HEADER,
            "64 hex digits",
        )?;
        let timestamp = header(headers, TIMESTAMP_HEADER)?;
        let timestamp_ms = timestamp
            .parse::<u64>()
            .ok()
            .filter(|_| timestamp.bytes().all(|byte| byte.is_ascii_digit()))
            .ok_or(AuthError::Malformed {
                header: TIMESTAMP_HEADER,
                expected: "milliseconds since the Unix epoch, in decimal",
            })?;
        let nonce = hex_bytes(
            header(headers, NONCE_HEADER)?,
            NONCE_HEADER,
            "32 hex digits",
        )?;
        let signature = hex_bytes(
            header(headers, SIGNATURE_HEADER)?,
            SIGNATURE_HEADER,
            "128 hex digits",
        )?;
        let audience = hex_bytes(
            header(headers, AUDIENCE_HEADER)?,
            AUDIENCE_HEADER,
            "64 hex digits",
        )?;
        Ok(Self {
            account,
            timestamp_ms,
            nonce,
            signature,
            audience,
        })
    }

    /// The body hash the request declares (`x-medigate-body-hash`), to
    /// authenticate it with before its body is read; the body, once read,
    /// must hash to it ([`check_body`]).
    pub fn declared_body_hash(headers: &HeaderMap) -> Result<[u8; 32], AuthError> {
        hex_bytes(
            header(headers, BODY_HASH_HEADER)?,
            BODY_HASH_HEADER,
            "64 hex digits",
        )
    }

    /// Checks that the request is meant for `service` (the checking
    /// service's own account), the signature over it, `method`, `path`
    /// (with query) and the body's hash, then freshness and replay with
    /// `guard`, which reads `clock` (milliseconds since the Unix epoch) once
    /// it is locked. On success the account is who is asking.
    pub fn authenticate(
        &self,
        service: [u8; 32],
        method: &str,
        path: &str,
        body_hash: [u8; 32],
        guard: &ReplayGuard,
        clock: impl FnOnce() -> u64,
    ) -> Result<[u8; 32], AuthError> {
        if self.audience != service {
            return Err(AuthError::OtherAudience {
                meant_for: hex_string(&self.audience),
                this: hex_string(&service),
            });
        }
        let request = SignedRequest {
            audience: self.audience,
            method,
            path,
            body_hash,
            timestamp_ms: self.timestamp_ms,
            nonce: self.nonce,
        };
        request
            .verify(&self.account, &self.signature)
            .map_err(|_| AuthError::BadSignature)?;
        // Only a genuine signature may use up a nonce.
        guard.accept_at(self.account, self.nonce, self.timestamp_ms, clock)?;
        Ok(self.account)
    }
}

/// Checks that `body` is the body whose hash a request declared and
/// signed.
pub fn check_body(body: &[u8], declared: [u8; 32]) -> Result<(), AuthError> {
    if medigate_crypto::request::body_hash(body) == declared {
        Ok(())
    } else {
        Err(AuthError::BodyNotSigned)
    }
}

/// Milliseconds since the Unix epoch by this machine's clock: the time
/// signed requests carry and the vault checks them against.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or_default()
}

/// The headers that sign a request with `body` for the service whose
/// account is `audience`, for clients.
pub fn sign_headers(
    keypair: &medigate_crypto::keys::SigningKeypair,
    audience: [u8; 32],
    method: &str,
    path: &str,
    body: &[u8],
    timestamp_ms: u64,
) -> Vec<(&'static str, String)> {
    let body_hash = medigate_crypto::request::body_hash(body);
    sign_headers_for_hash(keypair, audience, method, path, body_hash, timestamp_ms)
}

/// The headers that sign a request whose body hashes to `body_hash`: a
/// blob upload signs its content id (the BLAKE3 hash of the envelope) before
/// streaming it.
pub fn sign_headers_for_hash(
    keypair: &medigate_crypto::keys::SigningKeypair,
    audience: [u8; 32],
    method: &str,
    path: &str,
    body_hash: [u8; 32],
    timestamp_ms: u64,
) -> Vec<(&'static str, String)> {
    let nonce = SignedRequest::new_nonce();
    let request = SignedRequest {
        audience,
        method,
        path,
        body_hash,
        timestamp_ms,
        nonce,
    };
    vec![
        (ACCOUNT_HEADER, hex_string(&keypair.public_key().0)),
        (TIMESTAMP_HEADER, timestamp_ms.to_string()),
        (NONCE_HEADER, hex_string(&nonce)),
        (SIGNATURE_HEADER, hex_string(&request.sign(keypair))),
        (AUDIENCE_HEADER, hex_string(&audience)),
        (BODY_HASH_HEADER, hex_string(&body_hash)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use medigate_crypto::keys::Identity;

    const NOW: u64 = 1_790_000_000_000;
    const PATH: &str = "/blobs/00ff?purpose=TREAT";
    /// The service the tests' requests are meant for.
    const SERVICE: [u8; 32] = [0x5e; 32];

    fn signed(method: &str, path: &str, body: &[u8]) -> (HeaderMap, [u8; 32]) {
        signed_for(SERVICE, method, path, body)
    }

    fn signed_for(
        audience: [u8; 32],
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (HeaderMap, [u8; 32]) {
        let keypair = Identity::generate().signing_keypair();
        let mut headers = HeaderMap::new();
        for (name, value) in sign_headers(&keypair, audience, method, path, body, NOW) {
            headers.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        (headers, keypair.public_key().0)
    }

    fn authenticate(
        headers: &HeaderMap,
        method: &str,
        path: &str,
        body: &[u8],
        guard: &ReplayGuard,
    ) -> Result<[u8; 32], AuthError> {
        RequestSigner::from_headers(headers)?.authenticate(
            SERVICE,
            method,
            path,
            medigate_crypto::request::body_hash(body),
            guard,
            || NOW + 5,
        )
    }

    #[test]
    fn a_signed_request_names_its_account_once() {
        let (headers, account) = signed("GET", PATH, b"");
        let guard = ReplayGuard::new(60_000);
        assert_eq!(
            authenticate(&headers, "GET", PATH, b"", &guard),
            Ok(account)
        );
        assert_eq!(
            authenticate(&headers, "GET", PATH, b"", &guard),
            Err(AuthError::Replay(ReplayError::Replayed))
        );
    }

    #[test]
    fn a_request_meant_for_another_service_is_refused_without_using_the_nonce() {
        let other_service = [0x6f; 32];
        let (headers, account) = signed_for(other_service, "GET", PATH, b"");
        let guard = ReplayGuard::new(60_000);
        assert_eq!(
            authenticate(&headers, "GET", PATH, b"", &guard),
            Err(AuthError::OtherAudience {
                meant_for: hex_string(&other_service),
                this: hex_string(&SERVICE),
            })
        );
        // Claiming this service as the audience breaks the signature.
        let mut claimed = headers.clone();
        claimed.insert(
            AUDIENCE_HEADER,
            HeaderValue::from_str(&hex_string(&SERVICE)).unwrap(),
        );
        assert_eq!(
            authenticate(&claimed, "GET", PATH, b"", &guard),
            Err(AuthError::BadSignature)
        );
        let at_its_service = RequestSigner::from_headers(&headers).unwrap().authenticate(
            other_service,
            "GET",
            PATH,
            medigate_crypto::request::body_hash(b""),
            &guard,
            || NOW + 5,
        );
        assert_eq!(at_its_service, Ok(account));
    }

    #[test]
    fn a_request_changed_in_transit_is_refused_without_using_the_nonce() {
        let (headers, account) = signed("PUT", PATH, b"envelope");
        let guard = ReplayGuard::new(60_000);
        assert_eq!(
            authenticate(&headers, "PUT", PATH, b"forged", &guard),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            authenticate(
                &headers,
                "PUT",
                "/blobs/00ff?purpose=HRESCH",
                b"envelope",
                &guard
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            authenticate(&headers, "DELETE", PATH, b"envelope", &guard),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            authenticate(&headers, "PUT", PATH, b"envelope", &guard),
            Ok(account)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let (headers, _) = signed("GET", PATH, b"");
        for name in [
            ACCOUNT_HEADER,
            TIMESTAMP_HEADER,
            NONCE_HEADER,
            SIGNATURE_HEADER,
            AUDIENCE_HEADER,
        ] {
            let mut without = headers.clone();
            without.remove(name);
            assert_eq!(
                RequestSigner::from_headers(&without),
                Err(AuthError::Missing(name))
            );
            let mut malformed = headers.clone();
            malformed.insert(name, HeaderValue::from_static("zz"));
            assert!(matches!(
                RequestSigner::from_headers(&malformed),
                Err(AuthError::Malformed { header, .. }) if header == name
            ));
        }
        let mut signed_timestamp = headers.clone();
        signed_timestamp.insert(TIMESTAMP_HEADER, HeaderValue::from_static("+1790000000000"));
        assert!(RequestSigner::from_headers(&signed_timestamp).is_err());
    }
}
