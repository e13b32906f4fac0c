//! Known-answer vectors of MediGate's formats (`ENVELOPE.md`), made once and
//! kept: `tests/vectors/v1.json` (an envelope, a key wrap of format version
//! 1 and a keystore) and `tests/vectors/v2.json` (a signed key wrap of
//! format version 2, of the v1 envelope's key). Every later version of the
//! code must still open them exactly (or, for the unsigned v1 wrap, refuse
//! it for what it is), so a change to a format cannot go unnoticed. To
//! write the v2 vectors anew after a deliberate format change (a new format
//! version):
//!
//! ```sh
//! MEDIGATE_UPDATE_VECTORS=1 cargo test -p medigate-crypto --test vectors
//! ```

use std::{fs, path::PathBuf};

use medigate_crypto::{
    CryptoError,
    keys::Identity,
    keystore,
    record::{self, Anchored, RecordBinding, RecordKey},
    wrap::{self, WrapBinding},
};
use serde_json::{Value, json};

/// The development phrase: a public, well-known test identity.
const PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

fn vectors_file(version: u8) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/vectors/v{version}.json"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &Value) -> Vec<u8> {
    let text = text.as_str().expect("a hex string");
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex"))
        .collect()
}

fn binding() -> RecordBinding {
    RecordBinding {
        record_id: [0x11; 32],
        version: 2,
        owner: [0x22; 32],
    }
}

fn wrap_binding(content_id: [u8; 32]) -> WrapBinding {
    WrapBinding {
        content_id,
        grantee: [0x33; 32],
        grant: Some(7),
    }
}

/// The plaintext: a FHIR resource a little over one chunk, so that the
/// vector has a full chunk and a last one.
fn plaintext() -> Vec<u8> {
    let resource = br#"{"resourceType":"AllergyIntolerance","code":{"text":"penicillin"}}"#;
    resource
        .iter()
        .copied()
        .cycle()
        .take(65_536 + 100)
        .collect()
}

fn read(version: u8) -> Value {
    let path = vectors_file(version);
    serde_json::from_str(&fs::read_to_string(&path).expect("the vectors file exists"))
        .expect("the vectors are JSON")
}

/// The v1 vectors: an envelope, an unsigned wrap and a keystore.
fn vectors() -> Value {
    read(1)
}

/// The v2 vectors: a signed wrap of the v1 envelope's key, made by the
/// development identity (written anew when `MEDIGATE_UPDATE_VECTORS` is
/// set).
fn vectors_v2() -> Value {
    if std::env::var_os("MEDIGATE_UPDATE_VECTORS").is_some() {
        let v1 = vectors();
        let identity = Identity::from_phrase(PHRASE).unwrap();
        let key = RecordKey::from_bytes(unhex(&v1["record_key"]).try_into().unwrap());
        let content_id: [u8; 32] = unhex(&v1["content_id"]).try_into().unwrap();
        let wrapped = wrap::wrap(
            &key,
            &identity.encryption_secret().public_key(),
            &wrap_binding(content_id),
            &identity.signing_keypair(),
        )
        .unwrap();
        let made = json!({
            "phrase": PHRASE,
            "maker": hex(&identity.signing_keypair().public_key().0),
            "content_id": hex(&content_id),
            "record_key": hex(key.as_bytes()),
            "wrap": hex(&wrapped),
        });
        fs::write(
            vectors_file(2),
            serde_json::to_string_pretty(&made).unwrap(),
        )
        .unwrap();
    }
    read(2)
}

#[test]
fn keys_derive_as_recorded() {
    let vectors = vectors();
    let identity = Identity::from_phrase(vectors["phrase"].as_str().unwrap()).unwrap();
    assert_eq!(
        identity.encryption_secret().public_key().0.to_vec(),
        unhex(&vectors["encryption_public_key"])
    );
    assert_eq!(
        identity.signing_keypair().public_key().0.to_vec(),
        unhex(&vectors["signing_public_key"])
    );
}

#[test]
fn the_recorded_envelope_opens_to_its_plaintext() {
    let vectors = vectors();
    let envelope = unhex(&vectors["envelope"]);
    assert_eq!(
        blake3::hash(&envelope).as_bytes().to_vec(),
        unhex(&vectors["content_id"])
    );
    let key = RecordKey::from_bytes(unhex(&vectors["record_key"]).try_into().unwrap());
    let content_id: [u8; 32] = unhex(&vectors["content_id"]).try_into().unwrap();
    let mut opened = Vec::new();
    record::decrypt(
        &key,
        &Anchored::of(binding(), content_id),
        envelope.as_slice(),
        &mut opened,
    )
    .unwrap();
    assert_eq!(opened, plaintext());
    assert_eq!(
        blake3::hash(&opened).as_bytes().to_vec(),
        unhex(&vectors["plaintext_blake3"])
    );
}

#[test]
fn the_recorded_unsigned_v1_wrap_is_refused_as_such() {
    let vectors = vectors();
    let identity = Identity::from_phrase(vectors["phrase"].as_str().unwrap()).unwrap();
    let content_id: [u8; 32] = unhex(&vectors["content_id"]).try_into().unwrap();
    let result = wrap::unwrap(
        &unhex(&vectors["wrap"]),
        &identity.encryption_secret(),
        &wrap_binding(content_id),
        &[identity.signing_keypair().public_key().0],
    );
    assert!(
        matches!(result, Err(CryptoError::MalformedWrap(message)) if message.contains("unsigned")),
        "{result:?}"
    );
}

#[test]
fn the_recorded_signed_wrap_opens_to_the_record_key_for_its_maker_only() {
    let vectors = vectors_v2();
    let identity = Identity::from_phrase(vectors["phrase"].as_str().unwrap()).unwrap();
    let maker: [u8; 32] = unhex(&vectors["maker"]).try_into().unwrap();
    assert_eq!(maker, identity.signing_keypair().public_key().0);
    let content_id: [u8; 32] = unhex(&vectors["content_id"]).try_into().unwrap();
    let wrapped = unhex(&vectors["wrap"]);
    assert_eq!(wrapped.len(), wrap::WRAP_LEN);
    let key = wrap::unwrap(
        &wrapped,
        &identity.encryption_secret(),
        &wrap_binding(content_id),
        &[maker],
    )
    .unwrap();
    assert_eq!(key.as_bytes().to_vec(), unhex(&vectors["record_key"]));
    assert!(matches!(
        wrap::unwrap(
            &wrapped,
            &identity.encryption_secret(),
            &wrap_binding(content_id),
            &[[0x55; 32]],
        ),
        Err(CryptoError::WrapMakerNotAllowed)
    ));
}

#[test]
fn the_recorded_keystore_opens_with_its_passphrase() {
    let vectors = vectors();
    let identity = keystore::open(
        &unhex(&vectors["keystore"]),
        vectors["keystore_passphrase"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(
        identity.phrase().as_str(),
        vectors["phrase"].as_str().unwrap()
    );
}
