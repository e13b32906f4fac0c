//! The properties the fuzz targets of `medigate-fhir` check, one function a
//! target. The libFuzzer targets (`fuzz_targets/`) call them; so does the
//! crate's `tests/fuzz_replay.rs`, on the stable toolchain.

/// Any bytes as an uploaded FHIR document: parsing never panics, what it
/// accepts is valid again when checked a second time, and splitting a
/// Bundle never panics and keeps every record's path inside the Bundle.
pub fn bundle(data: &[u8]) {
    let Ok(document) = medigate_fhir::parse(data) else {
        return;
    };
    assert_eq!(medigate_fhir::validate(&document), Ok(()));
    if let Ok(split) = medigate_fhir::split_bundle(&document) {
        let entries = document["entry"].as_array().map_or(0, Vec::len);
        assert!(split.records.len() < entries);
        for record in &split.records {
            assert!(record.path.starts_with("Bundle.entry["));
        }
    }
}

/// Any bytes as an imported Bundle taken apart into resource texts: never a
/// panic, and every text it gives is a JSON object of the resource type
/// and id it names.
pub fn raw_bundle(data: &[u8]) {
    let Ok(taken) = medigate_fhir::raw::take_apart(data, "fuzz") else {
        return;
    };
    for resource in &taken.resources {
        let parsed: serde_json::Value =
            serde_json::from_str(&resource.text).expect("a resource text is JSON");
        assert_eq!(parsed["resourceType"], resource.resource_type.as_str());
        assert_eq!(parsed["id"], resource.id.as_str());
    }
}
