//! Any bytes as an imported Bundle taken apart into resource texts: never a
//! panic, and every text it gives is a JSON object of the resource type
//! and id it names.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(taken) = medigate_fhir::raw::take_apart(data, "fuzz") else {
        return;
    };
    for resource in &taken.resources {
        let parsed: serde_json::Value =
            serde_json::from_str(&resource.text).expect("a resource text is JSON");
        assert_eq!(parsed["resourceType"], resource.resource_type.as_str());
        assert_eq!(parsed["id"], resource.id.as_str());
    }
});
