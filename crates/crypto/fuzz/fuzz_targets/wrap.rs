//! Any bytes given as a key wrap (X25519, hybrid X-Wing or owner-sealed):
//! unwrapping never panics and never yields a key.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use medigate_crypto::{
    keys::{EncryptionSecret, HybridSecret, Identity},
    wrap::{WrapBinding, hybrid, unwrap},
};

const PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// Derived once: the phrase's seed costs 2,048 rounds of PBKDF2.
static SECRET: OnceLock<EncryptionSecret> = OnceLock::new();
static HYBRID: OnceLock<HybridSecret> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let secret = SECRET.get_or_init(|| {
        Identity::from_phrase(PHRASE)
            .expect("a valid phrase")
            .encryption_secret()
    });
    let binding = WrapBinding {
        content_id: [1; 32],
        grantee: [2; 32],
        grant: Some(3),
    };
    assert!(unwrap(data, secret, &binding).is_err());
    let hybrid_secret = HYBRID.get_or_init(|| {
        Identity::from_phrase(PHRASE)
            .expect("a valid phrase")
            .hybrid_secret()
    });
    assert!(hybrid::unwrap(data, hybrid_secret, &binding).is_err());
});
