//! Any bytes given as a keystore file: opening never panics and never
//! yields an identity. Inputs that ask for more than 1 MiB of key-derivation
//! memory are skipped: they are refused or merely slow, not interesting.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_crypto_fuzz::keystore(data));
