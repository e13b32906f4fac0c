//! Attacks on a running `medigate dev` network, made the way an attacker
//! would make them, through what an attacker controls: here, the vault's
//! storage (a vault operator, or anyone who can write to its disk or sit on
//! the network path, serves a reader whatever bytes they like). Each attack
//! must be refused by the reader with a specific error, show nothing forged,
//! and leave the honest reads working once the attacker stops.

mod common;

use std::path::{Path, PathBuf};

use common::Network;
use medigate_crypto::{
    keys::Identity,
    keystore,
    record::{EnvelopeHeader, HEADER_LEN, RecordKey, encrypt},
    wrap::{WrapBinding, wrap},
};
use serde_json::Value;

/// The passphrase of `medigate dev`'s keystores.
const DEV_PASSPHRASE: &str = "medigate-dev";

/// The file the vault keeps `relative` in (under its data directory).
fn vault_file(network: &Network, relative: &str) -> PathBuf {
    network.path("net/vault").join(relative)
}

/// Runs `medigate records export --patient` as the doctor: the exit code,
/// what was printed and what went to standard error.
fn doctor_export(network: &Network, patient: &str) -> (Option<i32>, String, String) {
    let output = network.run("doctor", &["records", "export", "--patient", patient]);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes `bytes` to `path`, returning what was there.
fn replace(path: &Path, bytes: &[u8]) -> Vec<u8> {
    let before = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    std::fs::write(path, bytes).unwrap();
    before
}

#[test]
fn a_vault_that_serves_altered_or_forged_records_is_refused_by_the_reader() {
    let network = Network::start(2);
    let patient = network.account("patient");
    let doctor = network.account("doctor");

    // The patient shares labs with the doctor.
    let requested = network.json(
        "doctor",
        &[
            "access",
            "request",
            "--patient",
            &patient,
            "--categories",
            "labs",
            "--justification",
            "follow-up visit",
        ],
    );
    let request = requested["request"].as_u64().unwrap().to_string();
    let approval = network.json(
        "patient",
        &[
            "access",
            "approve",
            &request,
            "--categories",
            "labs",
            "--days",
            "1",
        ],
    );
    let grant = approval["grant"].as_u64().unwrap();

    // One lab record, as the patient holds it and the vault stores it.
    let listed = network.json("patient", &["records", "list"]);
    let lab = listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|record| record["category"] == "labs" && record["resource_type"] == "Observation")
        .expect("a lab Observation")
        .clone();
    let content_id = lab["content_id"].as_str().unwrap().to_string();
    let blob = vault_file(&network, &format!("blobs/{content_id}"));
    let wrap_file = vault_file(&network, &format!("wraps/{content_id}/{doctor}"));
    let genuine_text = network.run(
        "patient",
        &[
            "records",
            "show",
            &format!("Observation/{}", lab["id"].as_str().unwrap()),
        ],
    );
    assert!(genuine_text.status.success());
    let genuine_text = String::from_utf8(genuine_text.stdout).unwrap();

    // Honest reads first: the doctor sees the record.
    let (code, shown, error) = doctor_export(&network, &patient);
    assert_eq!(code, Some(0), "{error}");
    assert!(shown.contains(lab["id"].as_str().unwrap()), "{shown}");

    // 1. One byte of the stored envelope flipped.
    let mut flipped = std::fs::read(&blob).unwrap();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    let genuine_blob = replace(&blob, &flipped);
    let (code, shown, error) = doctor_export(&network, &patient);
    assert_eq!(
        code,
        Some(7),
        "an altered envelope is refused: {shown} {error}"
    );
    assert!(error.contains("not the one anchored on chain"), "{error}");
    assert!(error.contains(&content_id), "the record is named: {error}");
    replace(&blob, &genuine_blob);

    // 2. A forged record: the same header (record, version, owner), a
    // forged resource under a key of the attacker's, and a wrap of that
    // key to the doctor, signed by the attacker (anyone can seal to the
    // doctor's public key).
    let header = EnvelopeHeader::parse(&genuine_blob[..HEADER_LEN]).unwrap();
    let forged_text = genuine_text.replacen("\"final\"", "\"amended\"", 1);
    assert_ne!(forged_text, genuine_text, "the forgery changes something");
    let forged_key = RecordKey::generate();
    let mut forged_blob = Vec::new();
    encrypt(
        &forged_key,
        header.binding,
        forged_text.as_bytes(),
        &mut forged_blob,
    )
    .unwrap();
    let keystore_path = network.participant("doctor")["keystore"].as_str().unwrap();
    let doctor_identity = keystore::load(Path::new(keystore_path), DEV_PASSPHRASE).unwrap();
    let attacker = Identity::generate().signing_keypair();
    let binding = WrapBinding {
        content_id: hex::decode(&content_id).unwrap().try_into().unwrap(),
        grantee: hex::decode(&doctor).unwrap().try_into().unwrap(),
        grant: Some(grant),
    };
    let forged_wrap = wrap(
        &forged_key,
        &doctor_identity.encryption_secret().public_key(),
        &binding,
        &attacker,
    )
    .unwrap();
    replace(&blob, &forged_blob);
    let genuine_wrap = replace(&wrap_file, &forged_wrap);
    let (code, shown, error) = doctor_export(&network, &patient);
    assert_eq!(code, Some(7), "a forged record is refused: {shown} {error}");
    assert!(
        !shown.contains("amended"),
        "nothing forged is shown: {shown}"
    );
    assert!(
        error.contains("may not share this record"),
        "the wrap's maker is not the record's owner or author: {error}"
    );

    // 3. The same forgery with the wrap's format before makers signed
    // (anyone could make one): refused as unsigned.
    let mut unsigned = forged_wrap[..86].to_vec();
    unsigned[4] = 1;
    replace(&wrap_file, &unsigned);
    let (code, shown, error) = doctor_export(&network, &patient);
    assert_eq!(
        code,
        Some(7),
        "an unsigned wrap is refused: {shown} {error}"
    );
    assert!(!shown.contains("amended"), "{shown}");

    // 4. The genuine wrap with the forged envelope: the key does not open
    // it, and it is not the anchored one.
    replace(&wrap_file, &genuine_wrap);
    let (code, shown, error) = doctor_export(&network, &patient);
    assert_eq!(code, Some(7), "{shown} {error}");
    assert!(!shown.contains("amended"), "{shown}");

    // The attacker stops: honest reads work again, nothing was changed.
    replace(&blob, &genuine_blob);
    let (code, shown, error) = doctor_export(&network, &patient);
    assert_eq!(code, Some(0), "{error}");
    let exported: Value = serde_json::from_str(&shown).unwrap();
    assert!(exported["total"].as_u64().unwrap() > 0);
    assert!(shown.contains(lab["id"].as_str().unwrap()));
}
