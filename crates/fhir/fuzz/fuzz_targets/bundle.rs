//! Any bytes as an uploaded FHIR document: parsing never panics, what it
//! accepts is valid again when checked a second time, and splitting a
//! Bundle never panics and keeps every record's path inside the Bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
