//! FHIR made outside the project (`tests/data/real-world/`, sources and
//! licences in its README): real Synthea R4 patient Bundles, with their
//! base64 notes, conditional references, large claims and Provenance, and
//! HL7 International Patient Summary documents, as hospitals hand them to
//! patients. Each is valid R4, imports as one patient's records, and keeps
//! every resource as written.

use std::path::{Path, PathBuf};

use medigate_fhir::{person, raw::take_apart};
use serde_json::Value;

fn real_world() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real-world");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/real-world exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect()
}

fn bundle_type(bytes: &[u8]) -> String {
    let bundle: Value = serde_json::from_slice(bytes).unwrap();
    bundle["type"].as_str().unwrap_or_default().to_string()
}

#[test]
fn real_patient_bundles_and_documents_import_as_written() {
    let files = real_world();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for (name, bytes) in &files {
        let parsed = medigate_fhir::parse(bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        let kind = bundle_type(bytes);
        let entries = parsed["entry"].as_array().map_or(0, Vec::len);
        let has_patient = parsed["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|entry| entry["resource"]["resourceType"] == "Patient");
        if !has_patient {
            // A support file (hospitals, clinicians): no one's records.
            assert!(
                matches!(
                    take_apart(bytes, "real"),
                    Err(medigate_fhir::BundleError::NoPatient)
                ),
                "{name}"
            );
            *kinds.entry("support".into()).or_default() += 1;
            continue;
        }
        let taken = take_apart(bytes, "real").unwrap_or_else(|error| panic!("{name}: {error}"));
        let expected = entries + usize::from(kind == "document") - taken.left_out;
        assert_eq!(taken.resources.len(), expected, "{name}");
        for resource in &taken.resources {
            let again: Value = serde_json::from_str(&resource.text).unwrap();
            assert_eq!(
                again["resourceType"],
                resource.resource_type.as_str(),
                "{name}"
            );
            assert_eq!(again["id"], resource.id.as_str(), "{name}");
        }
        if kind == "document" {
            // The document itself, byte for byte (an id added if it had none).
            let whole = taken.resources.last().unwrap();
            assert_eq!(whole.resource_type, "Bundle");
            let mut expected = parsed.clone();
            if parsed.get("id").is_some() {
                assert_eq!(whole.text.as_bytes(), &bytes[..], "{name}");
            }
            expected["id"] = Value::from(whole.id.as_str());
            assert_eq!(
                serde_json::from_str::<Value>(&whole.text).unwrap(),
                expected,
                "{name}"
            );
        }
        *kinds.entry(kind).or_default() += 1;
    }
    assert!(
        kinds.get("transaction").copied().unwrap_or(0) >= 2,
        "at least two real Synthea patients: {kinds:?}"
    );
    assert!(
        kinds.get("document").copied().unwrap_or(0) >= 1,
        "at least one real IPS document: {kinds:?}"
    );
}

#[test]
fn two_real_patients_are_two_people() {
    let patients: Vec<Value> = real_world()
        .iter()
        .filter(|(_, bytes)| bundle_type(bytes) == "transaction")
        .filter_map(|(_, bytes)| {
            let bundle: Value = serde_json::from_slice(bytes).unwrap();
            bundle["entry"]
                .as_array()?
                .iter()
                .map(|entry| entry["resource"].clone())
                .find(|resource| resource["resourceType"] == "Patient")
        })
        .collect();
    assert!(patients.len() >= 2);
    let account = [patients[0].clone()];
    assert!(matches!(
        person::match_person(&account, &patients[1]),
        Err(person::PersonMismatch::Differs { .. })
    ));
    assert_eq!(
        person::match_person(&account, &patients[0]),
        Ok(person::PersonMatch::SameRecord)
    );
    // The same person's record from another hospital: another id and MRN.
    let mut elsewhere = patients[0].clone();
    elsewhere["id"] = Value::from("another-hospitals-id");
    elsewhere["identifier"] = serde_json::json!([{"system": "urn:oid:1.2.3", "value": "MRN-1"}]);
    assert!(matches!(
        person::match_person(&account, &elsewhere),
        Ok(person::PersonMatch::SamePerson(_))
    ));
}
