//! Any text as an emergency card: parsed or refused, never a panic; what
//! parses prints back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_crypto_fuzz::card(data));
