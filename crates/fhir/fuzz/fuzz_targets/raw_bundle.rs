//! Any bytes as an imported Bundle taken apart into resource texts: never a
//! panic, and every text it gives is a JSON object of the resource type
//! and id it names.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_fhir_fuzz::raw_bundle(data));
