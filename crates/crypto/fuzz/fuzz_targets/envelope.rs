//! Any bytes given as an envelope: parsing the header and decrypting never
//! panic, and nothing but a genuine envelope decrypts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_crypto_fuzz::envelope(data));
