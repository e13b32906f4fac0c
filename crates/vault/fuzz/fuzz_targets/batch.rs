//! Any bytes as a `POST /batches` body: parsing never panics, and what it
//! accepts encodes back to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_vault_fuzz::batch(data));
