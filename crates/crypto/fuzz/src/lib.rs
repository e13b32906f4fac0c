//! The properties the fuzz targets of `medigate-crypto` check, one function
//! a target. The libFuzzer targets (`fuzz_targets/`) call them; so does the
//! crate's `tests/fuzz_replay.rs`, on the stable toolchain.

use std::sync::OnceLock;

use medigate_crypto::{
    card::EmergencyCard,
    keys::{EncryptionSecret, HybridSecret, Identity},
    keystore,
    record::{self, Anchored, EnvelopeHeader, RecordKey},
    shares::{ShareBinding, open_share},
    wrap::{WrapBinding, hybrid, unwrap},
};

/// The phrase of the identity whose wraps [`wrap`] tries.
pub const WRAP_PHRASE: &str =
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// The binding [`wrap`] unwraps under.
pub const WRAP_BINDING: WrapBinding = WrapBinding {
    content_id: [1; 32],
    grantee: [2; 32],
    grant: Some(3),
};

/// The key [`envelope`] decrypts with.
pub const ENVELOPE_KEY: [u8; 32] = [0x42; 32];

/// The passphrase [`keystore`] opens with.
pub const KEYSTORE_PASSPHRASE: &str = "passphrase";

/// The binding [`sealed_share`] opens under.
pub const SHARE_BINDING: ShareBinding = ShareBinding {
    patient: [1; 32],
    holder: [2; 32],
    context: 3,
};

/// Any bytes given as an envelope: parsing the header and decrypting never
/// panic, and nothing but a genuine envelope decrypts.
pub fn envelope(data: &[u8]) {
    let Ok(header) = EnvelopeHeader::parse(data) else {
        return;
    };
    let key = RecordKey::from_bytes(ENVELOPE_KEY);
    let mut plaintext = Vec::new();
    // Forging a tag is out of reach: anything that parses must still fail,
    // even against an anchor of exactly these bytes (so that the cipher's
    // checks, not the anchor's, are what refuses it).
    let anchored = Anchored::of(header.binding, record::content_id(data));
    assert!(record::decrypt(&key, &anchored, data, &mut plaintext).is_err());
}

/// Any bytes given as a key wrap (X25519, hybrid X-Wing or owner-sealed):
/// unwrapping never panics and never yields a key.
pub fn wrap(data: &[u8]) {
    /// Derived once: the phrase's seed costs 2,048 rounds of PBKDF2.
    static SECRET: OnceLock<EncryptionSecret> = OnceLock::new();
    static HYBRID: OnceLock<HybridSecret> = OnceLock::new();
    static MAKERS: OnceLock<[[u8; 32]; 2]> = OnceLock::new();
    let secret = SECRET.get_or_init(|| wrap_identity().encryption_secret());
    // The makers a reader would accept: the identity itself (as the maker
    // of the seeds, and as the owner of an owner-sealed wrap).
    let makers = MAKERS.get_or_init(|| {
        [
            wrap_identity().signing_keypair().public_key().0,
            WRAP_BINDING.grantee,
        ]
    });
    assert!(unwrap(data, secret, &WRAP_BINDING, makers).is_err());
    let hybrid_secret = HYBRID.get_or_init(|| wrap_identity().hybrid_secret());
    assert!(hybrid::unwrap(data, hybrid_secret, &WRAP_BINDING, makers).is_err());
}

/// The identity of [`WRAP_PHRASE`].
pub fn wrap_identity() -> Identity {
    Identity::from_phrase(WRAP_PHRASE).expect("a valid phrase")
}

/// Any bytes given as a keystore file: opening never panics and never
/// yields an identity. Inputs that ask for more than 1 MiB of key-derivation
/// memory or more than 4 passes are skipped: they are refused or merely
/// slow, not interesting.
pub fn keystore(data: &[u8]) {
    if data.len() >= 17 {
        let memory_kib = u32::from_le_bytes(data[5..9].try_into().expect("4 bytes"));
        let iterations = u32::from_le_bytes(data[9..13].try_into().expect("4 bytes"));
        if memory_kib > 1024 || iterations > 4 {
            return;
        }
    }
    assert!(keystore::open(data, KEYSTORE_PASSPHRASE).is_err());
}

/// Any text as an emergency card: parsed or refused, never a panic; what
/// parses prints back as itself.
pub fn card(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(card) = EmergencyCard::parse(text) {
        let again = EmergencyCard::parse(&card.text()).expect("a card's own text parses");
        assert_eq!(again, card);
    }
}

/// Any bytes as a sealed key share (what a custodian or a responder
/// receives): refused, never a panic.
pub fn sealed_share(data: &[u8]) {
    static SECRET: OnceLock<EncryptionSecret> = OnceLock::new();
    let secret = SECRET.get_or_init(|| Identity::generate().encryption_secret());
    // Nobody sealed these bytes to this secret: they never open.
    assert!(open_share(data, secret, &SHARE_BINDING).is_err());
}
