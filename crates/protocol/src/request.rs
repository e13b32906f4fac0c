//! The signed-request message.
//!
//! A client proves which account makes a request to a service by signing,
//! with its chain key, a message that binds the service it is meant for
//! (the audience: the service's account), the method, the path (with its
//! query), the BLAKE3 hash of the body, a timestamp and a random nonce.
//!
//! The message is [`LABEL`] followed by each field as a 32-bit
//! little-endian length and its bytes: audience, method, path, body hash,
//! timestamp (milliseconds since the Unix epoch, 64-bit little-endian),
//! nonce. The label keeps these signatures from ever passing as signatures
//! of chain transactions or of anything else; the lengths keep fields from
//! sliding into each other.
//!
//! A read of a record has one canonical path, [`read_path`], so that the
//! chain can rebuild the message of a read from an access receipt's fields
//! alone and check that the accessor the receipt names signed it.

use alloc::{string::String, vec::Vec};

/// The purpose a read names (from `medigate-access-policy`).
pub use medigate_access_policy::Purpose;

/// The label the signed message starts with.
pub const LABEL: &[u8] = b"medigate/v2/service-request";

/// BLAKE3-256 of the empty body: the body hash of every `GET`.
pub const EMPTY_BODY_HASH: [u8; 32] = [
    0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6, 0xa0, 0x40, 0x4d, 0xea, 0x36, 0xdc, 0xc9, 0x49,
    0x9b, 0xcb, 0x25, 0xc9, 0xad, 0xc1, 0x12, 0xb7, 0xcc, 0x9a, 0x93, 0xca, 0xe4, 0x1f, 0x32, 0x62,
];

/// The exact bytes a request signature covers.
pub fn message(
    audience: &[u8; 32],
    method: &str,
    path: &str,
    body_hash: &[u8; 32],
    timestamp_ms: u64,
    nonce: &[u8; 16],
) -> Vec<u8> {
    let fields: [&[u8]; 6] = [
        audience,
        method.as_bytes(),
        path.as_bytes(),
        body_hash,
        &timestamp_ms.to_le_bytes(),
        nonce,
    ];
    let mut message = Vec::with_capacity(LABEL.len() + 6 * 4 + path.len() + 128);
    message.extend_from_slice(LABEL);
    for field in fields {
        message.extend_from_slice(&(field.len() as u32).to_le_bytes());
        message.extend_from_slice(field);
    }
    message
}

/// The path and query of a read of `patient`'s record `content_id` for
/// `purpose`: `/blobs/{content id}?patient={patient}&purpose={code}`, ids
/// in lower-case hex. A vault serves a read only at this path.
pub fn read_path(content_id: &[u8; 32], patient: &[u8; 32], purpose: Purpose) -> String {
    let mut path = String::with_capacity(7 + 64 + 9 + 64 + 9 + 6);
    path.push_str("/blobs/");
    push_hex(&mut path, content_id);
    path.push_str("?patient=");
    push_hex(&mut path, patient);
    path.push_str("&purpose=");
    path.push_str(purpose.code());
    path
}

/// The message of a read (`GET` of [`read_path`], empty body) signed at
/// `timestamp_ms` with `nonce` for the vault `audience`.
pub fn read_message(
    audience: &[u8; 32],
    content_id: &[u8; 32],
    patient: &[u8; 32],
    purpose: Purpose,
    timestamp_ms: u64,
    nonce: &[u8; 16],
) -> Vec<u8> {
    message(
        audience,
        "GET",
        &read_path(content_id, patient, purpose),
        &EMPTY_BODY_HASH,
        timestamp_ms,
        nonce,
    )
}

fn push_hex(text: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cannot_slide_into_each_other() {
        // Without length prefixes, "GE" + "T/blobs" would sign like "GET" + "/blobs".
        let one = message(&[5; 32], "GE", "T/blobs", &EMPTY_BODY_HASH, 1, &[7; 16]);
        let two = message(&[5; 32], "GET", "/blobs", &EMPTY_BODY_HASH, 1, &[7; 16]);
        assert_ne!(one, two);
    }

    #[test]
    fn a_read_path_names_record_patient_and_purpose() {
        let mut content_id = [0u8; 32];
        content_id[0] = 0xab;
        content_id[31] = 0x01;
        let path = read_path(&content_id, &[0x10; 32], Purpose::Treatment);
        assert_eq!(
            path,
            format!(
                "/blobs/ab{}01?patient={}&purpose=TREAT",
                "00".repeat(30),
                "10".repeat(32)
            )
        );
    }

    #[test]
    fn a_read_message_is_the_message_of_its_path() {
        let read = read_message(&[1; 32], &[2; 32], &[3; 32], Purpose::Research, 9, &[4; 16]);
        let path = read_path(&[2; 32], &[3; 32], Purpose::Research);
        assert_eq!(
            read,
            message(&[1; 32], "GET", &path, &EMPTY_BODY_HASH, 9, &[4; 16])
        );
    }
}
