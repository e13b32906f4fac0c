//! Any bytes as a sealed key share (what a custodian or a responder
//! receives): refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medigate_crypto::{
    keys::Identity,
    shares::{ShareBinding, open_share},
};

fuzz_target!(|data: &[u8]| {
    static SECRET: std::sync::OnceLock<medigate_crypto::keys::EncryptionSecret> =
        std::sync::OnceLock::new();
    let secret = SECRET.get_or_init(|| Identity::generate().encryption_secret());
    let binding = ShareBinding {
        patient: [1; 32],
        holder: [2; 32],
        context: 3,
    };
    // Nobody sealed these bytes to this secret: they never open.
    assert!(open_share(data, secret, &binding).is_err());
});
