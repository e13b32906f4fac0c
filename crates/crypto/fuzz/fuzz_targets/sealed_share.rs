//! Any bytes as a sealed key share (what a custodian or a responder
//! receives): refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_crypto_fuzz::sealed_share(data));
