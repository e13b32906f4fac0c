//! Known-answer vectors of MediGate's formats (`ENVELOPE.md`): an envelope,
//! a key wrap and a keystore made once and kept in `tests/vectors/v1.json`.
//! Every later version of the code must still open them exactly, so a change
//! to a format cannot go unnoticed. To write new vectors after a deliberate
//! format change (a new format version):
//!
//! ```sh
//! MEDIGATE_UPDATE_VECTORS=1 cargo test -p medigate-crypto --test vectors
//! ```

use std::{fs, path::PathBuf};

use medigate_crypto::{
    keys::Identity,
    keystore::{self, KeystoreParams},
    record::{self, RecordBinding, RecordKey},
    wrap::{self, WrapBinding},
};
use serde_json::{Value, json};

/// The development phrase: a public, well-known test identity.
const PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
const PASSPHRASE: &str = "correct horse battery staple";

fn vectors_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/v1.json")
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

fn make_vectors() -> Value {
    let identity = Identity::from_phrase(PHRASE).unwrap();
    let key = RecordKey::from_bytes([0x44; 32]);
    let mut envelope = Vec::new();
    let encrypted =
        record::encrypt(&key, binding(), plaintext().as_slice(), &mut envelope).unwrap();
    let wrapped = wrap::wrap(
        &key,
        &identity.encryption_secret().public_key(),
        &wrap_binding(encrypted.content_id),
    )
    .unwrap();
    let cheap = KeystoreParams {
        memory_kib: 1024,
        iterations: 2,
        parallelism: 1,
    };
    let sealed = keystore::seal(&identity, PASSPHRASE, cheap).unwrap();
    json!({
        "phrase": PHRASE,
        "encryption_public_key": hex(&identity.encryption_secret().public_key().0),
        "signing_public_key": hex(&identity.signing_keypair().public_key().0),
        "record_key": hex(key.as_bytes()),
        "plaintext_blake3": hex(blake3::hash(&plaintext()).as_bytes()),
        "envelope": hex(&envelope),
        "content_id": hex(&encrypted.content_id),
        "wrap": hex(&wrapped),
        "keystore_passphrase": PASSPHRASE,
        "keystore": hex(&sealed),
    })
}

fn vectors() -> Value {
    let path = vectors_file();
    if std::env::var_os("MEDIGATE_UPDATE_VECTORS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            &path,
            serde_json::to_string_pretty(&make_vectors()).unwrap(),
        )
        .unwrap();
    }
    serde_json::from_str(&fs::read_to_string(&path).expect("tests/vectors/v1.json exists"))
        .expect("the vectors are JSON")
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
    let mut opened = Vec::new();
    record::decrypt(&key, binding(), envelope.as_slice(), &mut opened).unwrap();
    assert_eq!(opened, plaintext());
    assert_eq!(
        blake3::hash(&opened).as_bytes().to_vec(),
        unhex(&vectors["plaintext_blake3"])
    );
}

#[test]
fn the_recorded_wrap_opens_to_the_record_key() {
    let vectors = vectors();
    let identity = Identity::from_phrase(vectors["phrase"].as_str().unwrap()).unwrap();
    let content_id: [u8; 32] = unhex(&vectors["content_id"]).try_into().unwrap();
    let key = wrap::unwrap(
        &unhex(&vectors["wrap"]),
        &identity.encryption_secret(),
        &wrap_binding(content_id),
    )
    .unwrap();
    assert_eq!(key.as_bytes().to_vec(), unhex(&vectors["record_key"]));
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
