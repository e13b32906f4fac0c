//! The properties the fuzz targets of `medigate-vault` check, one function
//! a target. The libFuzzer targets (`fuzz_targets/`) call them; so does the
//! crate's `tests/fuzz_replay.rs`, on the stable toolchain.

use http::{HeaderMap, HeaderValue};
use medigate_vault::{
    auth::{
        ACCOUNT_HEADER, AUDIENCE_HEADER, NONCE_HEADER, RequestSigner, SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
    },
    replay::ReplayGuard,
};

/// The signed headers in the order [`signed_headers`] reads them, one a line.
pub const SIGNED_HEADERS: [&str; 5] = [
    ACCOUNT_HEADER,
    TIMESTAMP_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    AUDIENCE_HEADER,
];

/// The service [`signed_headers`] authenticates for.
pub const SERVICE: [u8; 32] = [0x5e; 32];

/// Any values in the five signed-request headers: reading them never
/// panics, and authenticating what was read never succeeds without a
/// signature.
pub fn signed_headers(data: &[u8]) {
    // Five values separated by newlines, in header order.
    let mut headers = HeaderMap::new();
    for (name, value) in SIGNED_HEADERS
        .into_iter()
        .zip(data.split(|byte| *byte == b'\n'))
    {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    if let Ok(signer) = RequestSigner::from_headers(&headers) {
        let guard = ReplayGuard::new(60_000);
        assert!(
            signer
                .authenticate(SERVICE, "GET", "/blobs", [0; 32], &guard, || signer
                    .timestamp_ms)
                .is_err()
        );
    }
}

/// Any bytes as a `POST /batches` body: parsing never panics, and what it
/// accepts encodes back to exactly the same bytes.
pub fn batch(data: &[u8]) {
    let Ok(items) = medigate_vault::batch::parse(data) else {
        return;
    };
    let mut encoded = Vec::new();
    for item in &items {
        medigate_vault::batch::encode(item, &mut encoded);
    }
    assert_eq!(encoded, data);
}
