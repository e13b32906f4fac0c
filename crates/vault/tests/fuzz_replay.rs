//! Every fuzz target of this crate (`fuzz/fuzz_targets/`), run on the stable
//! toolchain over its seeds, its local corpus, genuine inputs made here with
//! the crate's own API and mutants of them all (see `medigate-fuzz-replay`).

#[path = "../fuzz/src/lib.rs"]
mod targets;

use medigate_crypto::keys::Identity;
use medigate_fuzz_replay::Replay;
use medigate_vault::{
    auth::{sign_headers, unix_ms},
    batch::{BatchItem, encode},
};

fn replay(target: &str) -> Replay {
    Replay::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz"), target)
}

/// A signed request's five header values in the target's order, one a
/// line (signed for the target's service, so that mutants reach the
/// signature check).
fn signed_lines(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let keypair = Identity::generate().signing_keypair();
    let headers = sign_headers(&keypair, targets::SERVICE, method, path, body, unix_ms());
    let lines: Vec<&str> = targets::SIGNED_HEADERS
        .iter()
        .map(|name| {
            headers
                .iter()
                .find(|(header, _)| header == name)
                .map(|(_, value)| value.as_str())
                .expect("every signed header is made")
        })
        .collect();
    lines.join("\n").into_bytes()
}

#[test]
fn signed_headers() {
    // Genuine signatures, but of other requests than the one authenticated.
    replay("signed_headers")
        .seed(
            "a signed GET of a blob",
            signed_lines("GET", "/blobs/ab", b""),
        )
        .seed(
            "a signed POST of a batch",
            signed_lines("POST", "/batches", b"body"),
        )
        .mutants(10_000)
        .run(targets::signed_headers);
}

#[test]
fn batch() {
    let envelope = vec![0x5a; 200];
    let wrap = vec![0xa5; 80];
    let mut one = Vec::new();
    encode(
        &BatchItem::Envelope {
            content_id: [1; 32],
            bytes: &envelope,
        },
        &mut one,
    );
    let mut two = one.clone();
    encode(
        &BatchItem::KeyWrap {
            content_id: [1; 32],
            grantee: [2; 32],
            bytes: &wrap,
        },
        &mut two,
    );
    replay("batch")
        .seed("a batch of an envelope", one)
        .seed("a batch of an envelope and its wrap", two)
        .mutants(20_000)
        .run(targets::batch);
}
