//! Any values in the four signed-request headers: reading them never panics,
//! and authenticating what was read never succeeds without a signature.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use medigate_vault::{
    auth::{ACCOUNT_HEADER, NONCE_HEADER, RequestSigner, SIGNATURE_HEADER, TIMESTAMP_HEADER},
    replay::ReplayGuard,
};

fuzz_target!(|data: &[u8]| {
    // Four values separated by newlines, in header order.
    let mut headers = HeaderMap::new();
    let names = [
        ACCOUNT_HEADER,
        TIMESTAMP_HEADER,
        NONCE_HEADER,
        SIGNATURE_HEADER,
    ];
    for (name, value) in names.into_iter().zip(data.split(|byte| *byte == b'\n')) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    if let Ok(signer) = RequestSigner::from_headers(&headers) {
        let mut guard = ReplayGuard::new(60_000);
        assert!(
            signer
                .authenticate("GET", "/blobs", [0; 32], &mut guard, signer.timestamp_ms)
                .is_err()
        );
    }
});
