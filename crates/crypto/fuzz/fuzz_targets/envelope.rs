//! Any bytes given as an envelope: parsing the header and decrypting never
//! panic, and nothing but a genuine envelope decrypts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medigate_crypto::record::{self, EnvelopeHeader, RecordKey};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = EnvelopeHeader::parse(data) else {
        return;
    };
    let key = RecordKey::from_bytes([0x42; 32]);
    let mut plaintext = Vec::new();
    // Forging a tag is out of reach: anything that parses must still fail.
    assert!(record::decrypt(&key, header.binding, data, &mut plaintext).is_err());
});
