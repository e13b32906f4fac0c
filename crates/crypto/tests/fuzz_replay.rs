//! Every fuzz target of this crate (`fuzz/fuzz_targets/`), run on the stable
//! toolchain over its seeds, its local corpus, genuine inputs made here with
//! the crate's own API and mutants of them all (see `medigate-fuzz-replay`).
//! The genuine inputs are made for another key, secret, passphrase or
//! binding than the target opens with, so that each property still holds
//! for them, and their mutants reach past the format checks.

#[path = "../fuzz/src/lib.rs"]
mod targets;

use medigate_crypto::{
    card::EmergencyCard,
    keys::Identity,
    keystore::{self, KeystoreParams},
    record::{self, RecordBinding, RecordKey},
    shares::{ShareBinding, seal_share, split_key},
    wrap::{OwnerSealer, WrapBinding, hybrid, wrap},
};
use medigate_fuzz_replay::Replay;
use zeroize::Zeroizing;

fn replay(target: &str) -> Replay {
    Replay::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz"), target)
}

fn envelope_of(plaintext: &[u8]) -> Vec<u8> {
    let binding = RecordBinding {
        record_id: [5; 32],
        version: 1,
        owner: [6; 32],
    };
    let mut envelope = Vec::new();
    record::encrypt(&RecordKey::generate(), binding, plaintext, &mut envelope)
        .expect("encrypting into memory");
    envelope
}

#[test]
fn envelope() {
    replay("envelope")
        .seed("an envelope of 0 bytes", envelope_of(b""))
        .seed("an envelope of 300 bytes", envelope_of(&[7; 300]))
        .seed(
            "an envelope of two chunks",
            envelope_of(&vec![8; record::CHUNK_LEN + 10]),
        )
        .mutants(4_000)
        .run(targets::envelope);
}

#[test]
fn wrap_target() {
    let grantee = targets::wrap_identity();
    let other = WrapBinding {
        content_id: [9; 32],
        ..targets::WRAP_BINDING
    };
    let key = RecordKey::generate();
    let maker = grantee.signing_keypair();
    let x25519 = wrap(
        &key,
        &grantee.encryption_secret().public_key(),
        &other,
        &maker,
    )
    .expect("a wrap");
    let xwing = hybrid::wrap(&key, &grantee.hybrid_secret().public_key(), &other, &maker)
        .expect("a hybrid wrap");
    let owner = OwnerSealer::new(&grantee.encryption_secret())
        .seal(&key, &other)
        .expect("an owner's wrap");
    replay("wrap")
        .seed("an X25519 wrap under another binding", x25519.to_vec())
        .seed("an X-Wing wrap under another binding", xwing)
        .seed("an owner's wrap under another binding", owner.to_vec())
        .mutants(6_000)
        .run(targets::wrap);
}

#[test]
fn keystore_target() {
    // Cheap costs, so that mutants are opened rather than skipped.
    let params = KeystoreParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let sealed = keystore::seal(&Identity::generate(), "another passphrase", params)
        .expect("sealing a keystore");
    replay("keystore")
        .seed("a keystore under another passphrase", sealed)
        .mutants(1_500)
        .run(targets::keystore);
}

#[test]
fn card() {
    let card = EmergencyCard {
        patient: [0xab; 32],
        key: Zeroizing::new([0x11; 32]),
        vault: "https://vault.example.org:8443/v1".into(),
    };
    let plain = EmergencyCard {
        vault: "http://127.0.0.1:7000".into(),
        ..card.clone()
    };
    replay("card")
        .seed("a card", card.text().as_bytes().to_vec())
        .seed(
            "a card with a loopback vault",
            plain.text().as_bytes().to_vec(),
        )
        .mutants(20_000)
        .run(targets::card);
}

#[test]
fn sealed_share() {
    let holder = Identity::generate().encryption_secret().public_key();
    let shares = split_key(&[3; 32], 3, 5).expect("splitting a key");
    let sealed = seal_share(
        &shares[0],
        &holder,
        &ShareBinding {
            context: 4,
            ..targets::SHARE_BINDING
        },
    )
    .expect("sealing a share");
    replay("sealed_share")
        .seed("a share sealed to another holder", sealed.to_vec())
        .mutants(6_000)
        .run(targets::sealed_share);
}
