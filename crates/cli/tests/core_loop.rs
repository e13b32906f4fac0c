//! The core loop, end to end, through the `medigate` CLI against a
//! `medigate dev` network (a real node, vault and gateways on loopback):
//! import, request, approve two categories, read exactly those records as
//! imported, revoke, denied, and an audit trail of exactly the doctor's
//! reads. Also the CLI's answers to bad input and a locked keystore.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::{Value, value::RawValue};

mod common;

use common::{MEDIGATE, Network};

/// The resources of a Bundle file, by `Type/id`, as their exact JSON text.
fn resources_of(path: &Path) -> BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Bundle<'a> {
        #[serde(borrow)]
        entry: Vec<Entry<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Entry<'a> {
        #[serde(borrow)]
        resource: &'a RawValue,
    }
    let bytes = std::fs::read(path).unwrap();
    let bundle: Bundle<'_> = serde_json::from_slice(&bytes).unwrap();
    bundle
        .entry
        .iter()
        .map(|entry| {
            let parsed: Value = serde_json::from_str(entry.resource.get()).unwrap();
            (
                format!(
                    "{}/{}",
                    parsed["resourceType"].as_str().unwrap(),
                    parsed["id"].as_str().unwrap()
                ),
                entry.resource.get().to_string(),
            )
        })
        .collect()
}

fn category(text: &str) -> &'static str {
    medigate_fhir::category_of(&serde_json::from_str(text).unwrap()).code()
}

/// The outside validator (`fhir.resources`, R4) on `paths`, when installed
/// (the test command installs it; `MEDIGATE_REQUIRE_FHIR_CHECK` makes its
/// absence a failure).
fn outside_validator(paths: &[PathBuf]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/check_fhir.py");
    let python = std::env::var("HOME")
        .map(|home| PathBuf::from(home).join(".cache/medigate/venv/bin/python"))
        .unwrap();
    if !python.exists() {
        assert!(
            std::env::var_os("MEDIGATE_REQUIRE_FHIR_CHECK").is_none(),
            "{} is missing: run scripts/setup.sh",
            python.display()
        );
        eprintln!("fhir.resources is not installed: the outside validator is skipped");
        return;
    }
    let output = Command::new(python)
        .arg(script)
        .args(paths)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "fhir.resources refuses exported FHIR:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_core_loop_from_the_command_line() {
    let network = Network::start(4);
    let patient = network.account("patient");
    let doctor = network.account("doctor");

    // The patient imports their records from another hospital (on top of
    // the demo records, `medigate dev`'s synthetic patient 2026): the same
    // person under another Patient id, linked to the account's Patient.
    let bundle = network.path("visit.json");
    std::fs::write(
        &bundle,
        medigate_fhir::synthetic::same_person_elsewhere(2026, 7, 3).to_string(),
    )
    .unwrap();
    let imported = network.json("patient", &["import", bundle.to_str().unwrap()]);
    assert!(imported["result"]["records"].as_u64().unwrap() > 40);
    let home_patient =
        medigate_fhir::synthetic::patient_bundle(2026, 0)["entry"][0]["resource"]["id"].clone();
    assert_eq!(
        imported["result"]["person"],
        serde_json::json!({"linked_to": [home_patient]}),
        "{imported}"
    );
    let again = network.json("patient", &["import", bundle.to_str().unwrap()]);
    assert_eq!(
        again["result"]["already_imported"], true,
        "an import is done once"
    );

    // What the patient holds, as imported.
    let own_export = network.path("patient-export.json");
    network.json(
        "patient",
        &["records", "export", "--out", own_export.to_str().unwrap()],
    );
    let own = resources_of(&own_export);
    let approved = ["labs", "vitals"];
    let expected: BTreeMap<&String, &String> = own
        .iter()
        .filter(|(_, text)| approved.contains(&category(text)))
        .collect();
    assert!(expected.len() > 20 && expected.len() < own.len());

    // The patient's own International Patient Summary is valid R4.
    let summary = network.path("patient-summary.json");
    network.json(
        "patient",
        &[
            "records",
            "export",
            "--summary",
            "--out",
            summary.to_str().unwrap(),
        ],
    );
    let document: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(document["type"], "document");
    medigate_fhir::validate(&document).unwrap();

    // A document as a patient is handed one (here that summary, imported
    // into the guardian's account, which holds no records yet): each entry
    // becomes a record, and the document itself reads back as the same
    // document.
    let handed = network.json("guardian", &["import", summary.to_str().unwrap()]);
    let handed = &handed["result"];
    assert_eq!(handed["person"], "first", "{handed}");
    let entries = document["entry"].as_array().unwrap().len();
    assert_eq!(handed["records"].as_u64().unwrap() as usize, entries + 1);
    let whole = handed["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|resource| resource["resource_type"] == "Bundle")
        .expect("the document is kept whole");
    let shown = network.run(
        "guardian",
        &[
            "records",
            "show",
            &format!("Bundle/{}", whole["id"].as_str().unwrap()),
        ],
    );
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let mut as_handed = document.clone();
    as_handed["id"] = whole["id"].clone();
    assert_eq!(
        serde_json::from_slice::<Value>(&shown.stdout).unwrap(),
        as_handed,
        "the same document"
    );
    // The patient's own `$everything` (a searchset) imports too: into the
    // researcher's fresh account, every resource as exported.
    let searchset = network.json("researcher", &["import", own_export.to_str().unwrap()]);
    assert_eq!(
        searchset["result"]["records"].as_u64().unwrap() as usize,
        own.len(),
        "{searchset}"
    );

    // Real-world records from outside the project, each into a fresh
    // account: a real Synthea patient's transaction Bundle (conditional
    // references, base64 notes, claims) and an HL7 IPS example document.
    // Every resource imported is exported again, and what is exported
    // passes the outside validator.
    let real_world = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fhir/tests/data/real-world");
    let mut real_exports = Vec::new();
    for (account, file) in [
        ("insurer", "synthea-Lindsay928-1.json"),
        ("responder", "ips-bundle-01.json"),
    ] {
        let path = real_world.join(file);
        let bundle: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let entries = bundle["entry"].as_array().unwrap().len();
        let imported = network.json(account, &["import", path.to_str().unwrap()]);
        let imported = &imported["result"];
        assert_eq!(imported["person"], "first", "{file}: {imported}");
        let records = imported["records"].as_u64().unwrap() as usize;
        let left_out = imported["left_out"].as_u64().unwrap_or(0) as usize;
        // A document's entries, and the document kept whole.
        let kept_whole = usize::from(bundle["type"] == "document");
        assert_eq!(
            records,
            entries - left_out + kept_whole,
            "{file}: {imported}"
        );
        let export = network.path(&format!("{account}-export.json"));
        network.json(
            account,
            &["records", "export", "--out", export.to_str().unwrap()],
        );
        assert_eq!(resources_of(&export).len(), records, "{file}");
        let summary = network.path(&format!("{account}-summary.json"));
        network.json(
            account,
            &[
                "records",
                "export",
                "--summary",
                "--out",
                summary.to_str().unwrap(),
            ],
        );
        real_exports.extend([export, summary]);
    }
    outside_validator(&real_exports);

    // Before any consent the doctor sees nothing.
    let before = network.run("doctor", &["records", "export", "--patient", &patient]);
    assert!(before.status.success());
    let before: Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(before["total"], 0, "default deny");

    // The doctor asks for four categories; the patient approves two.
    let requested = network.json(
        "doctor",
        &[
            "access",
            "request",
            "--patient",
            &patient,
            "--categories",
            "labs,vitals,problems,allergies",
            "--justification",
            "follow-up visit",
        ],
    );
    let request = requested["request"].as_u64().unwrap().to_string();
    let listed = network.json("patient", &["access", "list"]);
    assert_eq!(listed["requests"][0]["status"], "pending");
    assert_eq!(listed["requests"][0]["requester"], doctor.as_str());
    let approval = network.json(
        "patient",
        &[
            "access",
            "approve",
            &request,
            "--categories",
            "labs,vitals",
            "--days",
            "1",
        ],
    );
    assert_eq!(
        approval["shared"].as_u64().unwrap() as usize,
        expected.len()
    );

    // A second request the doctor withdraws: only the doctor may.
    let second = network.json(
        "doctor",
        &[
            "access",
            "request",
            "--patient",
            &patient,
            "--categories",
            "notes",
            "--justification",
            "second opinion",
        ],
    );
    let second = second["request"].as_u64().unwrap();
    assert_eq!(
        network
            .run("patient", &["access", "withdraw", &second.to_string()])
            .status
            .code(),
        Some(6),
        "the patient cannot withdraw the doctor's request"
    );
    let withdrawn = network.json("doctor", &["access", "withdraw", &second.to_string()]);
    assert_eq!(withdrawn["withdrawn"], true);
    let listed = network.json("patient", &["access", "list"]);
    let entry = listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["request"].as_u64() == Some(second))
        .expect("the withdrawn request is listed");
    assert_eq!(entry["status"], "withdrawn");

    // The doctor reads exactly the approved records, byte for byte as imported.
    let doctor_export = network.path("doctor-export.json");
    network.json(
        "doctor",
        &[
            "records",
            "export",
            "--patient",
            &patient,
            "--out",
            doctor_export.to_str().unwrap(),
        ],
    );
    let read = resources_of(&doctor_export);
    assert_eq!(
        read.iter().collect::<BTreeMap<_, _>>(),
        expected,
        "the doctor gets the approved categories, identical to the imported resources"
    );
    let conditions = network.run("doctor", &["records", "show", "Condition/none"]);
    assert_eq!(
        conditions.status.code(),
        Some(6),
        "nothing outside the approved categories"
    );

    // Exported FHIR passes an outside validator: the Bundles and each resource.
    let single = network.path("single");
    std::fs::create_dir_all(&single).unwrap();
    for (position, text) in read.values().take(20).enumerate() {
        std::fs::write(single.join(format!("{position}.json")), text).unwrap();
    }
    outside_validator(&[own_export.clone(), doctor_export.clone(), summary, single]);

    // The patient revokes; the doctor is denied.
    let grant = approval["grant"].as_u64().unwrap().to_string();
    network.json("patient", &["access", "revoke", &grant]);
    let denied = network.run("doctor", &["records", "export", "--patient", &patient]);
    assert_eq!(
        denied.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    assert!(String::from_utf8_lossy(&denied.stderr).contains("Revoked"));

    // The audit trail shows exactly the doctor's reads: each approved record
    // once, nothing else (receipts land on chain a block or two later).
    let expected_records: BTreeSet<String> = {
        let (own_records, _) = (network.json("patient", &["records", "list"]), ());
        own_records["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|record| approved.contains(&record["category"].as_str().unwrap()))
            .map(|record| record["content_id"].as_str().unwrap().to_string())
            .collect()
    };
    let started = Instant::now();
    let audit = loop {
        let audit = network.json("patient", &["audit"]);
        if audit["accesses"].as_array().unwrap().len() >= expected_records.len()
            || started.elapsed() > Duration::from_secs(60)
        {
            break audit;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let accesses = audit["accesses"].as_array().unwrap();
    assert_eq!(
        accesses.len(),
        expected_records.len(),
        "one receipt per read, no more"
    );
    assert!(
        accesses
            .iter()
            .all(|access| access["counterparty"] == doctor.as_str()
                && access["purpose"] == "TREAT"
                && access["patient"] == patient.as_str()
                // The gateway checked the doctor's signature of each read.
                && access["kind"] == "read")
    );
    let audited: BTreeSet<String> = accesses
        .iter()
        .map(|access| access["record"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(audited, expected_records);
}

#[test]
fn bad_input_and_a_locked_keystore_get_specific_errors() {
    let network = Network::start(4);
    let before = network.json("patient", &["records", "list"])["records"]
        .as_array()
        .unwrap()
        .len();
    let write = |name: &str, text: &str| {
        let path = network.path(name);
        std::fs::write(&path, text).unwrap();
        path
    };

    let malformed = write(
        "malformed.json",
        r#"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"p","gender":"mle"}}]}"#,
    );
    let output = network.run("patient", &["import", malformed.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Bundle.entry[0].resource.gender"));

    let unknown = write(
        "unknown.json",
        r#"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Spaceship","id":"s"}}]}"#,
    );
    assert_eq!(
        network
            .run("patient", &["import", unknown.to_str().unwrap()])
            .status
            .code(),
        Some(4)
    );

    let two = write(
        "two.json",
        r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient","id":"b"}}]}"#,
    );
    let output = network.run("patient", &["import", two.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("several patients"));

    // A document about someone else than its Patient, and a searchset of
    // two patients: refused.
    let person = medigate_fhir::synthetic::patient_bundle(2026, 1);
    let patient_resource = person["entry"][0]["resource"].clone();
    let others: Vec<Value> = person["entry"].as_array().unwrap()[1..]
        .iter()
        .map(|entry| entry["resource"].clone())
        .collect();
    let mut document = medigate_fhir::patient_summary(
        &patient_resource,
        &others,
        "2026-12-01T10:00:00Z",
        "another hospital",
    )
    .unwrap();
    document["entry"][0]["resource"]["subject"]["reference"] = "Patient/someone-else".into();
    let misaddressed = write("misaddressed-document.json", &document.to_string());
    let output = network.run("patient", &["import", misaddressed.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(4));
    let refusal = String::from_utf8_lossy(&output.stderr);
    assert!(
        refusal.contains("Composition is about Patient/someone-else"),
        "{refusal}"
    );
    let stranger = medigate_fhir::synthetic::patient_bundle(8, 0)["entry"][0]["resource"].clone();
    let two_people = medigate_fhir::everything_bundle(&patient_resource, &[stranger]);
    let two_people = write("two-people-searchset.json", &two_people.to_string());
    let output = network.run("patient", &["import", two_people.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("several patients"));

    // Someone else's records: refused, naming what differs.
    let someone_else = write(
        "someone-else.json",
        &medigate_fhir::synthetic::patient_bundle(8, 1).to_string(),
    );
    let output = network.run("patient", &["import", someone_else.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(4));
    let refusal = String::from_utf8_lossy(&output.stderr);
    assert!(
        refusal.contains("about someone else") && refusal.contains("the account's is"),
        "{refusal}"
    );

    let not_json = write("not.json", "{\"resourceType\": ");
    assert_eq!(
        network
            .run("patient", &["import", not_json.to_str().unwrap()])
            .status
            .code(),
        Some(4)
    );

    // A locked keystore: nothing is imported until it is unlocked.
    network.json("patient", &["lock"]);
    let good = write(
        "good.json",
        &medigate_fhir::synthetic::patient_bundle(3, 1).to_string(),
    );
    let output = network.run("patient", &["import", good.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("locked"));
    let wrong = Command::new(MEDIGATE)
        .args(["unlock"])
        .env(
            "MEDIGATE_GATEWAY",
            network.participant("patient")["gateway"].as_str().unwrap(),
        )
        .env(
            "MEDIGATE_TOKEN_FILE",
            network.participant("patient")["token_file"]
                .as_str()
                .unwrap(),
        )
        .env("MEDIGATE_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(3));
    let right = Command::new(MEDIGATE)
        .args(["unlock"])
        .env(
            "MEDIGATE_GATEWAY",
            network.participant("patient")["gateway"].as_str().unwrap(),
        )
        .env(
            "MEDIGATE_TOKEN_FILE",
            network.participant("patient")["token_file"]
                .as_str()
                .unwrap(),
        )
        .env(
            "MEDIGATE_PASSPHRASE",
            network.description["passphrase"].as_str().unwrap(),
        )
        .output()
        .unwrap();
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );

    // Nothing of the refused imports stayed.
    let after = network.json("patient", &["records", "list"])["records"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before);

    // A wrong API token, an unknown account, an unknown request.
    let stranger = Command::new(MEDIGATE)
        .args(["records", "list"])
        .env(
            "MEDIGATE_GATEWAY",
            network.participant("patient")["gateway"].as_str().unwrap(),
        )
        .env("MEDIGATE_TOKEN_FILE", malformed.to_str().unwrap())
        .output()
        .unwrap();
    assert_eq!(stranger.status.code(), Some(5));
    let nobody = "11".repeat(32);
    assert_eq!(
        network
            .run("doctor", &["access", "request", "--patient", &nobody])
            .status
            .code(),
        Some(5)
    );
    assert_eq!(
        network
            .run("patient", &["access", "approve", "999"])
            .status
            .code(),
        Some(6)
    );
    assert_eq!(
        network
            .run("doctor", &["access", "request", "--patient", "xyz"])
            .status
            .code(),
        Some(2)
    );
}
