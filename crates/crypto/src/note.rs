//! Private notes: small values a gateway keeps about its own user's actions
//! (the reason a responder gave for breaking the glass, with the salt that
//! proves it against the chain's hash), sealed so that its database holds
//! them only encrypted.
//!
//! The key is derived from the user's seed with its own label, so a note
//! opens again after the keystore is restored. A note is XChaCha20-Poly1305
//! with a random 24-byte nonce (the nonce, then the ciphertext), its name
//! bound as associated data: a note copied under another name does not
//! open.

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::CryptoError;

/// The HKDF label of the note key.
pub const NOTE_KEY_LABEL: &[u8] = b"medigate/v2/private-note-key";

/// The key private notes are sealed under (derived by
/// [`Identity::note_key`](crate::keys::Identity::note_key)).
pub struct NoteKey(pub(crate) Zeroizing<[u8; 32]>);

/// Seals `plaintext` as the note `name`.
pub fn seal(key: &NoteKey, name: &str, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let ciphertext = XChaCha20Poly1305::new((&*key.0).into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: name.as_bytes(),
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any length a note has");
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    sealed
}

/// Opens the note `name`; [`CryptoError::Tampered`] when it was altered,
/// sealed under another key or under another name.
pub fn open(key: &NoteKey, name: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < 24 + 16 {
        return Err(CryptoError::Tampered);
    }
    let (nonce, ciphertext) = sealed.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().expect("24 bytes were split off");
    XChaCha20Poly1305::new((&*key.0).into())
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: name.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Tampered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Identity;

    #[test]
    fn a_note_opens_under_its_key_and_name_only() {
        let identity = Identity::generate();
        let key = identity.note_key();
        let sealed = seal(&key, "emergency.reason.7", b"unconscious, no card");
        assert!(
            !sealed
                .windows(b"unconscious".len())
                .any(|window| window == b"unconscious")
        );
        assert_eq!(
            &*open(&key, "emergency.reason.7", &sealed).unwrap(),
            b"unconscious, no card"
        );
        let restored = Identity::from_phrase(&identity.phrase()).unwrap();
        assert!(open(&restored.note_key(), "emergency.reason.7", &sealed).is_ok());
        for refused in [
            open(&key, "emergency.reason.8", &sealed),
            open(
                &Identity::generate().note_key(),
                "emergency.reason.7",
                &sealed,
            ),
            open(&key, "emergency.reason.7", &sealed[..30]),
            open(&key, "emergency.reason.7", &{
                let mut flipped = sealed.clone();
                flipped[30] ^= 1;
                flipped
            }),
        ] {
            assert!(matches!(refused, Err(CryptoError::Tampered)));
        }
    }
}
