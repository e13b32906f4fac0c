//! Signatures on requests to MediGate's services (vaults, custodians).
//!
//! A client proves which account makes a request by signing, with its chain
//! key (sr25519), a message that binds the service it is meant for (the
//! audience: the service's account), the method, the path (with its query),
//! the BLAKE3 hash of the body, a timestamp and a random nonce. A service
//! checks the audience and the signature here, and freshness and replays
//! itself (it keeps the clock and the nonces it has seen); a request
//! captured at one service is refused by every other.
//!
//! The signed message is [`medigate_protocol::request::message`]: the
//! chain rebuilds it too, to check that an access receipt's accessor signed
//! the read it names.

use rand_core::{OsRng, RngCore};
use subxt_signer::sr25519;

use crate::CryptoError;

/// What a request signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedRequest<'a> {
    /// The account of the service the request is meant for.
    pub audience: [u8; 32],
    /// The HTTP method, upper case (`GET`, `PUT`, `DELETE`).
    pub method: &'a str,
    /// The path and query, as sent (`/blobs/ab12…?purpose=TREAT`).
    pub path: &'a str,
    /// BLAKE3-256 of the body (of the empty string when there is none).
    pub body_hash: [u8; 32],
    /// When the client made the request, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// 16 random bytes, never reused.
    pub nonce: [u8; 16],
}

impl SignedRequest<'_> {
    /// A fresh random nonce.
    pub fn new_nonce() -> [u8; 16] {
        let mut nonce = [0u8; 16];
        OsRng.fill_bytes(&mut nonce);
        nonce
    }

    /// The exact bytes that are signed.
    pub fn message(&self) -> Vec<u8> {
        medigate_protocol::request::message(
            &self.audience,
            self.method,
            self.path,
            &self.body_hash,
            self.timestamp_ms,
            &self.nonce,
        )
    }

    /// Signs the request with `keypair`.
    pub fn sign(&self, keypair: &sr25519::Keypair) -> [u8; 64] {
        keypair.sign(&self.message()).0
    }

    /// Checks that `account` signed this request.
    pub fn verify(&self, account: &[u8; 32], signature: &[u8; 64]) -> Result<(), CryptoError> {
        verify_sr25519(account, self.message(), signature)
    }
}

/// What an access receipt says was read: the vault that served it, the
/// record, the patient and the purpose, and the accessor's request (time
/// and nonce).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptedRead {
    /// The vault that served the read (the request's audience).
    pub vault: [u8; 32],
    /// The record's content id.
    pub content_id: [u8; 32],
    /// The patient whose record it is.
    pub patient: [u8; 32],
    /// Why it was read.
    pub purpose: medigate_protocol::request::Purpose,
    /// When the accessor signed the request.
    pub signed_at: u64,
    /// The request's nonce.
    pub nonce: [u8; 16],
}

impl ReceiptedRead {
    /// Checks that `accessor` signed (sr25519, as vaults require) the
    /// request of this read: the check that tells a genuine access receipt
    /// from one a vault made up. The chain does not make it when it takes
    /// receipts; it makes it when someone proves a receipt forged.
    pub fn verify(&self, accessor: &[u8; 32], signature: &[u8; 64]) -> Result<(), CryptoError> {
        // The message the chain rebuilds from a receipt, byte for byte.
        let message = medigate_protocol::request::read_message(
            &self.vault,
            &self.content_id,
            &self.patient,
            self.purpose,
            self.signed_at,
            &self.nonce,
        );
        verify_sr25519(accessor, message, signature)
    }
}

/// Checks that `account`'s sr25519 key signed `message`.
fn verify_sr25519(
    account: &[u8; 32],
    message: Vec<u8>,
    signature: &[u8; 64],
) -> Result<(), CryptoError> {
    if sr25519::verify(
        &sr25519::Signature(*signature),
        message,
        &sr25519::PublicKey(*account),
    ) {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// BLAKE3-256 of a request body.
pub fn body_hash(body: &[u8]) -> [u8; 32] {
    *blake3::hash(body).as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipted_read_is_verified_against_the_message_the_vault_checked() {
        let read = ReceiptedRead {
            vault: [5; 32],
            content_id: [6; 32],
            patient: [7; 32],
            purpose: medigate_protocol::request::Purpose::Treatment,
            signed_at: 1_790_000_000_000,
            nonce: [8; 16],
        };
        let doctor = sr25519::dev::bob();
        let signed = medigate_protocol::request::read_message(
            &read.vault,
            &read.content_id,
            &read.patient,
            read.purpose,
            read.signed_at,
            &read.nonce,
        );
        let signature = doctor.sign(&signed).0;
        assert!(read.verify(&doctor.public_key().0, &signature).is_ok());
        let moved = ReceiptedRead {
            content_id: [9; 32],
            ..read
        };
        assert!(matches!(
            moved.verify(&doctor.public_key().0, &signature),
            Err(CryptoError::BadSignature)
        ));
        assert!(
            read.verify(&sr25519::dev::charlie().public_key().0, &signature)
                .is_err()
        );
    }

    fn request() -> SignedRequest<'static> {
        SignedRequest {
            audience: [5; 32],
            method: "GET",
            path: "/blobs/0a0b?purpose=TREAT",
            body_hash: body_hash(b""),
            timestamp_ms: 1_790_000_000_000,
            nonce: [7; 16],
        }
    }

    #[test]
    fn the_signer_is_recognised() {
        let keypair = sr25519::dev::bob();
        let signature = request().sign(&keypair);
        assert!(
            request()
                .verify(&keypair.public_key().0, &signature)
                .is_ok()
        );
    }

    #[test]
    fn another_account_is_refused() {
        let signature = request().sign(&sr25519::dev::bob());
        let result = request().verify(&sr25519::dev::charlie().public_key().0, &signature);
        assert!(matches!(result, Err(CryptoError::BadSignature)));
    }

    #[test]
    fn every_field_is_covered() {
        let keypair = sr25519::dev::bob();
        let account = keypair.public_key().0;
        let signature = request().sign(&keypair);
        let changed = [
            SignedRequest {
                audience: [6; 32],
                ..request()
            },
            SignedRequest {
                method: "DELETE",
                ..request()
            },
            SignedRequest {
                path: "/blobs/0a0c?purpose=TREAT",
                ..request()
            },
            SignedRequest {
                path: "/blobs/0a0b?purpose=HRESCH",
                ..request()
            },
            SignedRequest {
                body_hash: body_hash(b"x"),
                ..request()
            },
            SignedRequest {
                timestamp_ms: 1_790_000_000_001,
                ..request()
            },
            SignedRequest {
                nonce: [8; 16],
                ..request()
            },
        ];
        for other in changed {
            assert!(other.verify(&account, &signature).is_err(), "{other:?}");
        }
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        // Without length prefixes, "GE" + "T/blobs" would sign like "GET" + "/blobs".
        let one = SignedRequest {
            method: "GE",
            path: "T/blobs",
            ..request()
        };
        let two = SignedRequest {
            method: "GET",
            path: "/blobs",
            ..request()
        };
        assert_ne!(one.message(), two.message());
    }

    #[test]
    fn the_empty_body_hash_is_blake3_of_nothing() {
        assert_eq!(body_hash(b""), medigate_protocol::request::EMPTY_BODY_HASH);
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(SignedRequest::new_nonce(), SignedRequest::new_nonce());
    }
}
