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

/// How long the patient's gateway may take to collect a record written for
/// the patient, once written: the anchor's finality, the follower, the
/// upload after the anchor.
const COLLECTION_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

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

    // Any byte changed, of the envelope or of the doctor's wrap, as the
    // vault serves it: byte positions and changes drawn from a fixed seed,
    // the envelope's header, body and tag and the wrap's every part among
    // them. Each is refused as unproven and shows nothing (a changed
    // envelope header may already make the vault refuse to serve it, when
    // it no longer names the patient as its owner; the record is then left
    // out, and the rest shown).
    let genuine_wrap = std::fs::read(&wrap_file).unwrap();
    let mut state: u64 = 0x6d65_6469_6761_7465;
    let mut draw = |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    let mut cases = Vec::new();
    for (file, genuine) in [(&blob, &genuine_blob), (&wrap_file, &genuine_wrap)] {
        // The first and last bytes, then positions drawn at random.
        let mut positions = vec![0, genuine.len() - 1];
        positions.extend((0..10).map(|_| draw(genuine.len())));
        for position in positions {
            cases.push((file, genuine, position, 1 + draw(255) as u8));
        }
    }
    for (file, genuine, position, change) in cases {
        let mut altered = genuine.clone();
        altered[position] ^= change;
        replace(file, &altered);
        let (code, shown, error) = doctor_export(&network, &patient);
        replace(file, genuine);
        let case = format!(
            "byte {position} of {} changed by {change:#04x}: {shown} {error}",
            file.display()
        );
        if file == &blob && position < HEADER_LEN {
            // The vault does not serve an envelope whose header no longer
            // names the patient: the record is withheld, never shown.
            assert!(code.is_some(), "{case}");
        } else {
            assert_eq!(code, Some(7), "refused as unproven: {case}");
        }
        assert!(
            !shown.contains(lab["id"].as_str().unwrap()),
            "nothing is shown: {shown}"
        );
    }

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

/// Writes `resource` into `patient`'s record as `author` would without its
/// gateway: encrypted to the patient, anchored in `category` (which the
/// author's grant covers) and stored in the vault with the patient's wrap.
async fn write_around_the_gateway(
    network: &Network,
    author: &Identity,
    patient: [u8; 32],
    resource: &Value,
    category: medigate_chain_client::medigate::runtime_types::medigate_access_policy::terms::Category,
) {
    use medigate_chain_client::{
        connect, encryption_key, medigate,
        medigate::runtime_types::{
            bounded_collections::bounded_vec::BoundedVec, pallet_records::AnchorRequest,
        },
        submit_and_wait,
        subxt::utils::{AccountId32, H256},
    };
    let client = connect(network.description["node"].as_str().unwrap())
        .await
        .unwrap();
    let patient_key = encryption_key(&client, &AccountId32(patient))
        .await
        .unwrap()
        .unwrap();
    let text = resource.to_string();
    let key = RecordKey::generate();
    let mut envelope = Vec::new();
    let encrypted = encrypt(
        &key,
        medigate_crypto::record::RecordBinding {
            record_id: medigate_gateway::authoring::record_id(
                &patient,
                resource["resourceType"].as_str().unwrap(),
                resource["id"].as_str().unwrap(),
            ),
            version: 0,
            owner: patient,
        },
        text.as_bytes(),
        &mut envelope,
    )
    .unwrap();
    let signer = author.signing_keypair();
    let patient_wrap = wrap(
        &key,
        &medigate_crypto::keys::EncryptionPublicKey(patient_key),
        &WrapBinding {
            content_id: encrypted.content_id,
            grantee: patient,
            grant: None,
        },
        &signer,
    )
    .unwrap();
    let anchor = medigate::tx().records().anchor_batch(
        AccountId32(patient),
        BoundedVec(vec![AnchorRequest {
            content_id: H256(encrypted.content_id),
            category,
            size: encrypted.envelope_len,
            previous: None,
        }]),
    );
    submit_and_wait(&client, &anchor, &signer).await.unwrap();
    let vault = medigate_gateway::vault_client::VaultClient::new(
        network.description["vault"].as_str().unwrap(),
    );
    vault
        .put_blob(&signer, &encrypted.content_id, envelope)
        .await
        .unwrap();
    vault
        .put_wrap(
            &signer,
            &encrypted.content_id,
            &patient,
            patient_wrap.to_vec(),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_writing_around_their_gateway_cannot_pass_off_a_patient_record() {
    use medigate_chain_client::medigate::runtime_types::medigate_access_policy::terms::Category;
    let network = Network::start(1);
    let patient = network.account("patient");
    let patient_id: [u8; 32] = hex::decode(&patient).unwrap().try_into().unwrap();
    let doctor = network.account("doctor");
    let doctor_identity =
        keystore::load(&network.path("net").join("doctor.keystore"), DEV_PASSPHRASE).unwrap();

    // The patient lets the doctor add allergies.
    let requested = network.json(
        "doctor",
        &[
            "access",
            "request",
            "--patient",
            &patient,
            "--categories",
            "allergies",
            "--write",
            "--justification",
            "allergy found in clinic",
        ],
    );
    let request = requested["request"].as_u64().unwrap().to_string();
    network.json(
        "patient",
        &[
            "access",
            "approve",
            &request,
            "--categories",
            "allergies",
            "--days",
            "1",
        ],
    );

    // With that grant, the doctor writes (without their gateway) a real
    // allergy, and a Patient resource anchored as an allergy: someone else's
    // name and emergency contact, to show a responder.
    let own = network.json("patient", &["records", "list", "--type", "Patient"]);
    let patient_resource = own["records"][0]["id"].as_str().unwrap().to_string();
    let allergy = serde_json::json!({
        "resourceType": "AllergyIntolerance",
        "id": "latex-found-in-clinic",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "code": {"text": "Latex"},
        "patient": {"reference": format!("Patient/{patient_resource}")},
    });
    let impostor = serde_json::json!({
        "resourceType": "Patient",
        "id": "impostor",
        "name": [{"family": "Impostor", "given": ["Eve"]}],
        "contact": [{"name": {"text": "Mallory"}, "telecom": [{"system": "phone", "value": "+1-555-0100"}]}],
    });
    write_around_the_gateway(
        &network,
        &doctor_identity,
        patient_id,
        &allergy,
        Category::Allergies,
    )
    .await;
    write_around_the_gateway(
        &network,
        &doctor_identity,
        patient_id,
        &impostor,
        Category::Allergies,
    )
    .await;

    // The patient's gateway takes the allergy once its follower sees the
    // anchor, and leaves the Patient out.
    let joined = |listed: &serde_json::Value| {
        listed["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|record| record["id"] == "latex-found-in-clinic")
    };
    let mut listed = network.json("patient", &["records", "list"]);
    let waiting_since = std::time::Instant::now();
    while !joined(&listed) && waiting_since.elapsed() < COLLECTION_WAIT {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        listed = network.json("patient", &["records", "list"]);
    }
    assert!(
        joined(&listed),
        "the allergy the doctor wrote joins the patient's records"
    );

    // The summary a responder reads: the patient's own demographics, and
    // the doctor's allergy attributed to the doctor.
    network.json("patient", &["emergency", "prepare"]);
    // Preparing collected too, so the impostor has been looked at by now.
    let listed = network.json("patient", &["records", "list"]);
    assert!(
        listed["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|record| record["id"] != "impostor"),
        "a Patient written by someone else never joins the patient's records"
    );
    let read = network.json(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--patient",
            &patient,
            "--reason",
            "anaphylaxis in the street",
        ],
    );
    let entries = read["summary"]["entry"].as_array().unwrap();
    let resources: Vec<&Value> = entries.iter().map(|entry| &entry["resource"]).collect();
    assert!(
        resources
            .iter()
            .all(|resource| resource["id"] != "impostor"
                && !resource.to_string().contains("Mallory")),
        "no impostor in the summary"
    );
    let allergy_url = entries
        .iter()
        .find(|entry| entry["resource"]["id"] == "latex-found-in-clinic")
        .map(|entry| entry["fullUrl"].clone())
        .expect("the doctor's allergy is in the summary");
    let attribution = resources
        .iter()
        .find(|resource| {
            resource["resourceType"] == "Provenance"
                && resource["target"][0]["reference"] == allergy_url
        })
        .expect("the doctor's allergy is attributed");
    assert_eq!(
        attribution["agent"][0]["who"]["identifier"]["value"],
        doctor.as_str()
    );
    // The patient's own entries are not attributed to anyone.
    let provenances = resources
        .iter()
        .filter(|resource| resource["resourceType"] == "Provenance")
        .count();
    assert_eq!(provenances, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_that_makes_up_a_read_is_shown_forging_and_loses_its_attestation() {
    use medigate_chain_client::{
        ChainError, connect, holds_role, is_proven_forged,
        medigate::{
            self,
            runtime_types::{
                bounded_collections::bounded_vec::BoundedVec,
                medigate_access_policy::terms::{Action, Purpose, Role},
                pallet_audit::{AccessReceipt, RequestEvidence, Sr25519RequestSignature},
            },
        },
        submit_and_wait,
        subxt::utils::{AccountId32, H256},
    };
    let network = Network::start(1);
    let account = |name: &str| -> [u8; 32] {
        hex::decode(network.account(name))
            .unwrap()
            .try_into()
            .unwrap()
    };
    let (patient, doctor) = (account("patient"), account("doctor"));
    let load = |name: &str| {
        keystore::load(
            &network.path("net").join(format!("{name}.keystore")),
            DEV_PASSPHRASE,
        )
        .unwrap()
        .signing_keypair()
    };
    let vault_key = load("vault");
    let vault = vault_key.public_key().0;
    let records = network.json("patient", &["records", "list"]);
    let record: [u8; 32] = hex::decode(records["records"][0]["content_id"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();

    // The vault's operator makes up a read of the patient's record by the
    // doctor, who never asked for it: the signature is the vault's own.
    let signed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let nonce = [0x42; 16];
    let message = medigate_protocol::request::read_message(
        &vault,
        &record,
        &patient,
        medigate_access_policy::Purpose::Treatment,
        signed_at,
        &nonce,
    );
    let forged = AccessReceipt {
        accessor: AccountId32(doctor),
        patient: AccountId32(patient),
        record: H256(record),
        purpose: Purpose::Treatment,
        action: Action::Read,
        grant: None,
        vault: AccountId32(vault),
        accessed_at: signed_at + 5,
        request: RequestEvidence {
            signed_at,
            nonce,
            signature: Sr25519RequestSignature(vault_key.sign(&message).0),
        },
    };
    let client = connect(network.description["node"].as_str().unwrap())
        .await
        .unwrap();
    let commit = |receipts| medigate::tx().audit().commit_receipts(BoundedVec(receipts));
    // In the middle of a batch of three (the others name accounts no
    // gateway follows), so that its proof takes a Merkle path.
    let stranger = |byte: u8| {
        let mut receipt = forged.clone();
        receipt.accessor = AccountId32([byte; 32]);
        receipt.patient = AccountId32([byte + 1; 32]);
        receipt
    };
    let events = submit_and_wait(
        &client,
        &commit(vec![stranger(0x11), forged.clone(), stranger(0x21)]),
        &vault_key,
    )
    .await
    .expect("an attested vault commits any receipt it writes");
    let batch = events
        .find_first::<medigate::audit::events::BatchCommitted>()
        .unwrap()
        .expect("BatchCommitted")
        .batch;

    // The patient's audit trail shows it as forged, naming the doctor.
    let started = std::time::Instant::now();
    let shown = loop {
        let audit = network.json("patient", &["audit"]);
        let found = audit["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|access| {
                access["record"] == hex::encode(record).as_str() && access["at_ms"] == signed_at + 5
            })
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(
            started.elapsed() < COLLECTION_WAIT,
            "the receipt reached the patient's audit trail: {audit}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(shown["kind"], "forged", "{shown}");
    assert_eq!(shown["counterparty"], hex::encode(doctor).as_str());
    let table = network.run("patient", &["audit"]);
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.contains("FORGED"), "{table}");

    // The gateways that show it (the patient's, the doctor's) prove the
    // forgery on chain by themselves; the vault loses its attestation and
    // commits nothing more.
    let started = std::time::Instant::now();
    while !is_proven_forged(&client, batch, 1).await.unwrap()
        || holds_role(&client, &AccountId32(vault), Role::Vault)
            .await
            .unwrap()
    {
        assert!(
            started.elapsed() < COLLECTION_WAIT,
            "the forgery was proven on chain and the vault's attestation ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let refused = submit_and_wait(&client, &commit(vec![forged]), &vault_key).await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("NotAVault")),
        "{refused:?}"
    );
}
