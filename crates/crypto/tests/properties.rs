//! Properties of record encryption, key wraps and the keystore: whatever the
//! plaintext, it round-trips; whatever single byte of an envelope, a key
//! wrap or a keystore changes (as a vault or the network might serve it), or
//! wherever the envelope is cut, opening it against its anchor fails and
//! nothing is accepted.

use medigate_crypto::{
    CryptoError,
    keys::Identity,
    keystore::{self, KeystoreParams},
    record::{self, Anchored, CHUNK_LEN, RecordBinding, RecordKey},
    wrap::{self, WrapBinding},
};
use proptest::prelude::*;

fn binding(owner: u8) -> RecordBinding {
    RecordBinding {
        record_id: [9; 32],
        version: 1,
        owner: [owner; 32],
    }
}

/// An envelope of `plaintext` and its anchor.
fn seal(key: &RecordKey, plaintext: &[u8]) -> (Vec<u8>, Anchored) {
    let mut envelope = Vec::new();
    let encrypted = record::encrypt(key, binding(5), plaintext, &mut envelope).unwrap();
    (envelope, Anchored::of(binding(5), encrypted.content_id))
}

/// Opens `envelope` as a reader does: against the anchor.
fn open(key: &RecordKey, anchored: &Anchored, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut plaintext = Vec::new();
    record::decrypt(key, anchored, envelope, &mut plaintext).map(|_| plaintext)
}

/// Plaintexts from empty to a little over two chunks.
fn plaintexts() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::collection::vec(any::<u8>(), CHUNK_LEN - 2..CHUNK_LEN + 3),
        proptest::collection::vec(any::<u8>(), 2 * CHUNK_LEN..2 * CHUNK_LEN + 64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_plaintext_round_trips(plaintext in plaintexts()) {
        let key = RecordKey::generate();
        let (envelope, anchored) = seal(&key, &plaintext);
        prop_assert_eq!(open(&key, &anchored, &envelope).unwrap(), plaintext);
    }

    #[test]
    fn any_changed_byte_is_detected(plaintext in plaintexts(), position in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let key = RecordKey::generate();
        let (mut envelope, anchored) = seal(&key, &plaintext);
        let at = position.index(envelope.len());
        envelope[at] ^= flip;
        prop_assert!(open(&key, &anchored, &envelope).is_err());
    }

    #[test]
    fn another_envelope_of_the_same_record_is_not_the_anchored_one(plaintext in plaintexts(), other in plaintexts()) {
        // Whoever holds the key can make a second envelope that decrypts:
        // the reader refuses it, because the chain anchors the first.
        let key = RecordKey::generate();
        let (_, anchored) = seal(&key, &plaintext);
        let (forged, _) = seal(&key, &other);
        prop_assert!(matches!(open(&key, &anchored, &forged), Err(CryptoError::NotAnchored)));
    }

    #[test]
    fn any_cut_is_detected(plaintext in plaintexts(), position in any::<prop::sample::Index>()) {
        let key = RecordKey::generate();
        let (envelope, anchored) = seal(&key, &plaintext);
        let cut = position.index(envelope.len());
        prop_assert!(open(&key, &anchored, &envelope[..cut]).is_err());
    }

    #[test]
    fn appended_bytes_are_detected(plaintext in plaintexts(), extra in proptest::collection::vec(any::<u8>(), 1..64)) {
        let key = RecordKey::generate();
        let (mut envelope, anchored) = seal(&key, &plaintext);
        envelope.extend_from_slice(&extra);
        prop_assert!(open(&key, &anchored, &envelope).is_err());
    }
}

/// The grantee of the wrap properties, derived once.
fn grantee() -> &'static Identity {
    static GRANTEE: std::sync::OnceLock<Identity> = std::sync::OnceLock::new();
    GRANTEE.get_or_init(Identity::generate)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_changed_byte_of_a_wrap_is_refused(position in any::<prop::sample::Index>(), flip in 1u8..=255, grant in proptest::option::of(any::<u64>())) {
        let maker = subxt_signer::sr25519::dev::alice();
        let binding = WrapBinding { content_id: [7; 32], grantee: [8; 32], grant };
        let key = RecordKey::generate();
        let secret = grantee().encryption_secret();
        let mut wrapped = wrap::wrap(&key, &secret.public_key(), &binding, &maker).unwrap();
        let makers = [maker.public_key().0];
        let opened = wrap::unwrap(&wrapped, &secret, &binding, &makers).unwrap();
        prop_assert_eq!(opened.as_bytes(), key.as_bytes());
        let at = position.index(wrapped.len());
        wrapped[at] ^= flip;
        prop_assert!(wrap::unwrap(&wrapped, &secret, &binding, &makers).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn the_keystore_opens_only_with_its_passphrase(passphrase in ".{0,24}", other in ".{0,24}") {
        let fast = KeystoreParams { memory_kib: 64, iterations: 1, parallelism: 1 };
        let identity = Identity::generate();
        let sealed = keystore::seal(&identity, &passphrase, fast).unwrap();
        let opened = keystore::open(&sealed, &passphrase).unwrap();
        prop_assert_eq!(opened.encryption_secret().public_key(), identity.encryption_secret().public_key());
        if other != passphrase {
            prop_assert!(matches!(keystore::open(&sealed, &other), Err(CryptoError::WrongPassphrase)));
        }
    }
}
