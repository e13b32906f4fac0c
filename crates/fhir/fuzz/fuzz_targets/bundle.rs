//! Any bytes as an uploaded FHIR document: parsing never panics, what it
//! accepts is valid again when checked a second time, and splitting a
//! Bundle never panics and keeps every record's path inside the Bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_fhir_fuzz::bundle(data));
