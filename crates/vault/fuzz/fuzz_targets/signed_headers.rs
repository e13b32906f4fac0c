//! Any values in the four signed-request headers: reading them never panics,
//! and authenticating what was read never succeeds without a signature.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| medigate_vault_fuzz::signed_headers(data));
