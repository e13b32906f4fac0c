//! Any bytes given as a keystore file: opening never panics and never
//! yields an identity. Inputs that ask for more than 1 MiB of key-derivation
//! memory are skipped: they are refused or merely slow, not interesting.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medigate_crypto::keystore;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 17 {
        let memory_kib = u32::from_le_bytes(data[5..9].try_into().expect("4 bytes"));
        let iterations = u32::from_le_bytes(data[9..13].try_into().expect("4 bytes"));
        if memory_kib > 1024 || iterations > 4 {
            return;
        }
    }
    assert!(keystore::open(data, "passphrase").is_err());
});
