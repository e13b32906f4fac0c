//! Any bytes as a `POST /batches` body: parsing never panics, and what it
//! accepts encodes back to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(items) = medigate_vault::batch::parse(data) else {
        return;
    };
    let mut encoded = Vec::new();
    for item in &items {
        medigate_vault::batch::encode(item, &mut encoded);
    }
    assert_eq!(encoded, data);
});
