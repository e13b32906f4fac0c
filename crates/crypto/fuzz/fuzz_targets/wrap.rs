//! Any bytes given as a key wrap (X25519, hybrid X-Wing or owner-sealed):
//! unwrapping never panics and never yields a key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_crypto_fuzz::wrap(data));
