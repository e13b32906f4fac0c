//! Properties of record encryption and the keystore: whatever the plaintext,
//! it round-trips; whatever single byte of an envelope or keystore changes,
//! or wherever the envelope is cut, opening fails and nothing is accepted.

use medigate_crypto::{
    CryptoError,
    keys::Identity,
    keystore::{self, KeystoreParams},
    record::{self, CHUNK_LEN, RecordBinding, RecordKey},
};
use proptest::prelude::*;

fn binding(owner: u8) -> RecordBinding {
    RecordBinding {
        record_id: [9; 32],
        version: 1,
        owner: [owner; 32],
    }
}

fn seal(key: &RecordKey, plaintext: &[u8]) -> Vec<u8> {
    let mut envelope = Vec::new();
    record::encrypt(key, binding(5), plaintext, &mut envelope).unwrap();
    envelope
}

fn open(key: &RecordKey, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut plaintext = Vec::new();
    record::decrypt(key, binding(5), envelope, &mut plaintext).map(|_| plaintext)
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
        let envelope = seal(&key, &plaintext);
        prop_assert_eq!(open(&key, &envelope).unwrap(), plaintext);
    }

    #[test]
    fn any_changed_byte_is_detected(plaintext in plaintexts(), position in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let key = RecordKey::generate();
        let mut envelope = seal(&key, &plaintext);
        let at = position.index(envelope.len());
        envelope[at] ^= flip;
        prop_assert!(open(&key, &envelope).is_err());
    }

    #[test]
    fn any_cut_is_detected(plaintext in plaintexts(), position in any::<prop::sample::Index>()) {
        let key = RecordKey::generate();
        let envelope = seal(&key, &plaintext);
        let cut = position.index(envelope.len());
        prop_assert!(open(&key, &envelope[..cut]).is_err());
    }

    #[test]
    fn appended_bytes_are_detected(plaintext in plaintexts(), extra in proptest::collection::vec(any::<u8>(), 1..64)) {
        let key = RecordKey::generate();
        let mut envelope = seal(&key, &plaintext);
        envelope.extend_from_slice(&extra);
        prop_assert!(open(&key, &envelope).is_err());
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
