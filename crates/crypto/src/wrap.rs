//! Key wrapping: a record version's key sealed to one grantee's X25519
//! public key with HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, ChaCha20-Poly1305).
//!
//! A wrap is bound, as associated data, to the record's content id, the
//! grantee's account and the grant it was made under: a vault cannot hand a
//! wrap made for one grantee, record or grant to another.
//!
//! Wrap layout (86 bytes): magic `MGW1` (4), format version 1 (1), suite 1
//! (1), the HPKE encapsulated key (32), the sealed record key with its tag
//! (48). With the `post-quantum` feature, [`hybrid`] wraps to an X-Wing key
//! (suite 2) in the same way.
//!
//! The owner's own wrap needs no key agreement: [`OwnerSealer`] seals the
//! record key with XChaCha20-Poly1305 under a key derived from the owner's
//! X25519 secret (suite 3, 78 bytes: the header, a random 24-byte nonce and
//! the sealed key with its tag), about a hundredth of an HPKE wrap's cost.
//! [`unwrap`] opens both kinds with the same secret.

use chacha20poly1305::{AeadInOut, KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hpke::{
    Deserializable, OpModeR, OpModeS, Serializable, aead::ChaCha20Poly1305, kdf::HkdfSha256,
    kem::X25519HkdfSha256,
};
use rand_core::RngCore;
use zeroize::Zeroizing;

use crate::{
    CryptoError,
    keys::{EncryptionPublicKey, EncryptionSecret},
    record::RecordKey,
};

type Kem = X25519HkdfSha256;

/// A wrap's length in bytes.
pub const WRAP_LEN: usize = 4 + 1 + 1 + 32 + 32 + 16;

const MAGIC: &[u8; 4] = b"MGW1";
const FORMAT_VERSION: u8 = 1;
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
const SUITE_X25519_CHACHA: u8 = 1;
/// The record key sealed under a key derived from the owner's secret.
const SUITE_OWNER_SEALED: u8 = 3;
/// An owner-sealed wrap's length in bytes.
pub const OWNER_WRAP_LEN: usize = 4 + 1 + 1 + 24 + 32 + 16;
/// The HKDF `info` of the owner's sealing key.
const OWNER_KEY_INFO: &[u8] = b"medigate/v1/owner-record-key-seal";
/// The HPKE `info`: which protocol and purpose the keys serve.
const INFO: &[u8] = b"medigate/v1/record-key-wrap";

/// What a wrap is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapBinding {
    /// The content id of the envelope the key opens.
    pub content_id: [u8; 32],
    /// The grantee's account id.
    pub grantee: [u8; 32],
    /// The grant the wrap was made under (`None` for the owner's own wrap).
    pub grant: Option<u64>,
}

impl WrapBinding {
    fn associated_data(&self) -> [u8; 73] {
        let mut data = [0u8; 73];
        data[..32].copy_from_slice(&self.content_id);
        data[32..64].copy_from_slice(&self.grantee);
        if let Some(grant) = self.grant {
            data[64] = 1;
            data[65..].copy_from_slice(&grant.to_le_bytes());
        }
        data
    }
}

/// Seals `key` to the grantee's `recipient` key, bound to `binding`.
pub fn wrap(
    key: &RecordKey,
    recipient: &EncryptionPublicKey,
    binding: &WrapBinding,
) -> Result<[u8; WRAP_LEN], CryptoError> {
    let recipient = <Kem as hpke::Kem>::PublicKey::from_bytes(&recipient.0).map_err(|_| {
        CryptoError::MalformedWrap("the recipient's public key is not an X25519 key")
    })?;
    let (encapped, sealed) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        &recipient,
        INFO,
        key.as_bytes(),
        &binding.associated_data(),
    )
    .map_err(|_| {
        CryptoError::MalformedWrap("the recipient's public key is unusable (low order)")
    })?;
    let mut wrapped = [0u8; WRAP_LEN];
    wrapped[..4].copy_from_slice(MAGIC);
    wrapped[4] = FORMAT_VERSION;
    wrapped[5] = SUITE_X25519_CHACHA;
    wrapped[6..38].copy_from_slice(&encapped.to_bytes());
    wrapped[38..].copy_from_slice(&sealed);
    Ok(wrapped)
}

/// Seals record keys for their owner: the owner's wraps, made without a
/// key agreement each.
pub struct OwnerSealer {
    cipher: XChaCha20Poly1305,
}

impl OwnerSealer {
    /// A sealer for the owner of `secret`.
    pub fn new(secret: &EncryptionSecret) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<sha2::Sha256>::new(None, secret.as_x25519().as_bytes())
            .expand(OWNER_KEY_INFO, key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        Self {
            cipher: XChaCha20Poly1305::new((&*key).into()),
        }
    }

    /// Seals `key` for the owner, bound to `binding`.
    pub fn seal(
        &self,
        key: &RecordKey,
        binding: &WrapBinding,
    ) -> Result<[u8; OWNER_WRAP_LEN], CryptoError> {
        let mut wrapped = [0u8; OWNER_WRAP_LEN];
        wrapped[..4].copy_from_slice(MAGIC);
        wrapped[4] = FORMAT_VERSION;
        wrapped[5] = SUITE_OWNER_SEALED;
        rand_core::OsRng.fill_bytes(&mut wrapped[6..30]);
        let nonce = XNonce::from(<[u8; 24]>::try_from(&wrapped[6..30]).expect("24 bytes"));
        let (_, sealed) = wrapped.split_at_mut(30);
        let (sealed_key, tag_out) = sealed.split_at_mut(32);
        sealed_key.copy_from_slice(key.as_bytes());
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &binding.associated_data(), sealed_key.into())
            .map_err(|_| CryptoError::MalformedWrap("the record key cannot be sealed"))?;
        tag_out.copy_from_slice(&tag);
        Ok(wrapped)
    }

    fn open(&self, wrapped: &[u8], binding: &WrapBinding) -> Result<RecordKey, CryptoError> {
        check_header(wrapped, SUITE_OWNER_SEALED, OWNER_WRAP_LEN)?;
        let nonce = XNonce::from(<[u8; 24]>::try_from(&wrapped[6..30]).expect("24 bytes"));
        let tag = Tag::try_from(&wrapped[62..])
            .map_err(|_| CryptoError::MalformedWrap("the tag is not 16 bytes"))?;
        let mut opened = Zeroizing::new([0u8; 32]);
        opened.copy_from_slice(&wrapped[30..62]);
        self.cipher
            .decrypt_inout_detached(
                &nonce,
                &binding.associated_data(),
                opened.as_mut_slice().into(),
                &tag,
            )
            .map_err(|_| CryptoError::Tampered)?;
        record_key(opened.as_ref())
    }
}

/// Opens a wrap with the grantee's `secret` (an HPKE wrap to the grantee,
/// or the owner's sealed wrap); it must be bound to `binding`.
pub fn unwrap(
    wrapped: &[u8],
    secret: &EncryptionSecret,
    binding: &WrapBinding,
) -> Result<RecordKey, CryptoError> {
    if wrapped.get(5) == Some(&SUITE_OWNER_SEALED) {
        return OwnerSealer::new(secret).open(wrapped, binding);
    }
    check_header(wrapped, SUITE_X25519_CHACHA, WRAP_LEN)?;
    let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(&wrapped[6..38])
        .map_err(|_| CryptoError::MalformedWrap("the encapsulated key is not an X25519 key"))?;
    let private = Zeroizing::new(secret.as_x25519().to_bytes());
    let private = <Kem as hpke::Kem>::PrivateKey::from_bytes(private.as_ref())
        .map_err(|_| CryptoError::MalformedWrap("the secret key is not an X25519 key"))?;
    let opened = Zeroizing::new(
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeR::Base,
            &private,
            &encapped,
            INFO,
            &wrapped[38..],
            &binding.associated_data(),
        )
        .map_err(|_| CryptoError::Tampered)?,
    );
    record_key(&opened)
}

/// The record key an opened wrap holds.
fn record_key(opened: &[u8]) -> Result<RecordKey, CryptoError> {
    let bytes: [u8; 32] = opened
        .try_into()
        .map_err(|_| CryptoError::MalformedWrap("the wrapped key is not 32 bytes"))?;
    Ok(RecordKey::from_bytes(bytes))
}

/// Checks a wrap's magic, version, suite and length.
fn check_header(wrapped: &[u8], suite: u8, len: usize) -> Result<(), CryptoError> {
    if wrapped.len() < 6 || &wrapped[..4] != MAGIC {
        return Err(CryptoError::MalformedWrap("it does not start with MGW1"));
    }
    if wrapped[4] != FORMAT_VERSION {
        return Err(CryptoError::MalformedWrap("an unknown format version"));
    }
    if wrapped[5] != suite {
        return Err(CryptoError::MalformedWrap(
            "made for another cipher suite (X25519, hybrid X-Wing or owner-sealed) than the key given",
        ));
    }
    if wrapped.len() != len {
        return Err(CryptoError::MalformedWrap(
            "the wrap has the wrong length for its suite",
        ));
    }
    Ok(())
}

/// Wrapping to a hybrid post-quantum key: X-Wing (ML-KEM-768 with X25519)
/// as the HPKE KEM, suite 2. A wrap is 1,174 bytes: the header (6), the
/// encapsulated key (1,120) and the sealed record key (48).
#[cfg(feature = "post-quantum")]
pub mod hybrid {
    use hpke::{
        Deserializable, OpModeR, OpModeS, Serializable, aead::ChaCha20Poly1305, kdf::HkdfSha256,
        kem::XWing,
    };
    use zeroize::Zeroizing;

    use super::{FORMAT_VERSION, INFO, MAGIC, WrapBinding, check_header};
    use crate::{
        CryptoError,
        keys::{HybridPublicKey, HybridSecret},
        record::RecordKey,
    };

    /// The hybrid suite's number.
    pub const SUITE_XWING_CHACHA: u8 = 2;
    /// A hybrid wrap's length in bytes.
    pub const HYBRID_WRAP_LEN: usize = 6 + 1120 + 32 + 16;

    /// Seals `key` to a grantee's hybrid public key, bound to `binding`.
    pub fn wrap(
        key: &RecordKey,
        recipient: &HybridPublicKey,
        binding: &WrapBinding,
    ) -> Result<Vec<u8>, CryptoError> {
        let recipient = <XWing as hpke::Kem>::PublicKey::from_bytes(recipient.as_bytes())
            .map_err(|_| CryptoError::MalformedWrap("the recipient's key is not an X-Wing key"))?;
        let (encapped, sealed) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, XWing>(
            &OpModeS::Base,
            &recipient,
            INFO,
            key.as_bytes(),
            &binding.associated_data(),
        )
        .map_err(|_| CryptoError::MalformedWrap("the recipient's X-Wing key is unusable"))?;
        let mut wrapped = Vec::with_capacity(HYBRID_WRAP_LEN);
        wrapped.extend_from_slice(MAGIC);
        wrapped.push(FORMAT_VERSION);
        wrapped.push(SUITE_XWING_CHACHA);
        wrapped.extend_from_slice(&encapped.to_bytes());
        wrapped.extend_from_slice(&sealed);
        Ok(wrapped)
    }

    /// Opens a hybrid wrap with the grantee's hybrid secret.
    pub fn unwrap(
        wrapped: &[u8],
        secret: &HybridSecret,
        binding: &WrapBinding,
    ) -> Result<RecordKey, CryptoError> {
        check_header(wrapped, SUITE_XWING_CHACHA, HYBRID_WRAP_LEN)?;
        let encapped = <XWing as hpke::Kem>::EncappedKey::from_bytes(&wrapped[6..1126])
            .map_err(|_| CryptoError::MalformedWrap("the encapsulated key is not X-Wing's"))?;
        let opened = Zeroizing::new(
            hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, XWing>(
                &OpModeR::Base,
                secret.as_xwing(),
                &encapped,
                INFO,
                &wrapped[1126..],
                &binding.associated_data(),
            )
            .map_err(|_| CryptoError::Tampered)?,
        );
        super::record_key(&opened)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::{keys::Identity, wrap::tests::binding};

        #[test]
        fn the_grantee_unwraps_and_no_one_else_does() {
            let grantee = Identity::generate().hybrid_secret();
            let stranger = Identity::generate().hybrid_secret();
            let key = RecordKey::generate();
            let wrapped = wrap(&key, &grantee.public_key(), &binding()).unwrap();
            assert_eq!(wrapped.len(), HYBRID_WRAP_LEN);
            let unwrapped = unwrap(&wrapped, &grantee, &binding()).unwrap();
            assert_eq!(unwrapped.as_bytes(), key.as_bytes());
            assert!(matches!(
                unwrap(&wrapped, &stranger, &binding()),
                Err(CryptoError::Tampered)
            ));
            let other = WrapBinding {
                grant: Some(18),
                ..binding()
            };
            assert!(matches!(
                unwrap(&wrapped, &grantee, &other),
                Err(CryptoError::Tampered)
            ));
        }

        #[test]
        fn suites_are_not_confused() {
            let identity = Identity::generate();
            let key = RecordKey::generate();
            let classic =
                super::super::wrap(&key, &identity.encryption_secret().public_key(), &binding())
                    .unwrap();
            assert!(matches!(
                unwrap(&classic, &identity.hybrid_secret(), &binding()),
                Err(CryptoError::MalformedWrap(_))
            ));
            let hybrid = wrap(&key, &identity.hybrid_secret().public_key(), &binding()).unwrap();
            assert!(matches!(
                super::super::unwrap(&hybrid, &identity.encryption_secret(), &binding()),
                Err(CryptoError::MalformedWrap(_))
            ));
        }

        #[test]
        fn the_hybrid_key_is_stable_for_an_identity() {
            const PHRASE: &str =
                "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
            let one = Identity::from_phrase(PHRASE)
                .unwrap()
                .hybrid_secret()
                .public_key();
            let two = Identity::from_phrase(PHRASE)
                .unwrap()
                .hybrid_secret()
                .public_key();
            assert_eq!(one, two);
            assert_eq!(one.as_bytes().len(), 1216);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Identity;

    pub(super) fn binding() -> WrapBinding {
        WrapBinding {
            content_id: [3; 32],
            grantee: [4; 32],
            grant: Some(17),
        }
    }

    #[test]
    fn the_grantee_unwraps_the_key() {
        let grantee = Identity::generate().encryption_secret();
        let key = RecordKey::generate();
        let wrapped = wrap(&key, &grantee.public_key(), &binding()).unwrap();
        let unwrapped = unwrap(&wrapped, &grantee, &binding()).unwrap();
        assert_eq!(unwrapped.as_bytes(), key.as_bytes());
    }

    #[test]
    fn another_identity_cannot_unwrap() {
        let grantee = Identity::generate().encryption_secret();
        let stranger = Identity::generate().encryption_secret();
        let wrapped = wrap(&RecordKey::generate(), &grantee.public_key(), &binding()).unwrap();
        assert!(matches!(
            unwrap(&wrapped, &stranger, &binding()),
            Err(CryptoError::Tampered)
        ));
    }

    #[test]
    fn a_wrap_does_not_open_for_another_record_grantee_or_grant() {
        let grantee = Identity::generate().encryption_secret();
        let wrapped = wrap(&RecordKey::generate(), &grantee.public_key(), &binding()).unwrap();
        let others = [
            WrapBinding {
                content_id: [5; 32],
                ..binding()
            },
            WrapBinding {
                grantee: [5; 32],
                ..binding()
            },
            WrapBinding {
                grant: Some(18),
                ..binding()
            },
            WrapBinding {
                grant: None,
                ..binding()
            },
        ];
        for other in others {
            assert!(
                matches!(
                    unwrap(&wrapped, &grantee, &other),
                    Err(CryptoError::Tampered)
                ),
                "{other:?}"
            );
        }
    }

    #[test]
    fn every_altered_byte_is_detected() {
        let grantee = Identity::generate().encryption_secret();
        let wrapped = wrap(&RecordKey::generate(), &grantee.public_key(), &binding()).unwrap();
        for index in 0..WRAP_LEN {
            let mut altered = wrapped;
            altered[index] ^= 0x80;
            assert!(
                unwrap(&altered, &grantee, &binding()).is_err(),
                "byte {index}"
            );
        }
        assert!(matches!(
            unwrap(&wrapped[..40], &grantee, &binding()),
            Err(CryptoError::MalformedWrap(_))
        ));
    }

    #[test]
    fn the_owners_sealed_wrap_opens_for_the_owner_alone_and_only_as_bound() {
        let owner = Identity::generate().encryption_secret();
        let stranger = Identity::generate().encryption_secret();
        let key = RecordKey::generate();
        let sealer = OwnerSealer::new(&owner);
        let wrapped = sealer.seal(&key, &binding()).unwrap();
        assert_eq!(wrapped.len(), OWNER_WRAP_LEN);
        assert_ne!(
            wrapped,
            sealer.seal(&key, &binding()).unwrap(),
            "fresh nonces"
        );
        let opened = unwrap(&wrapped, &owner, &binding()).unwrap();
        assert_eq!(opened.as_bytes(), key.as_bytes());
        assert!(matches!(
            unwrap(&wrapped, &stranger, &binding()),
            Err(CryptoError::Tampered)
        ));
        let elsewhere = WrapBinding {
            content_id: [5; 32],
            ..binding()
        };
        assert!(matches!(
            unwrap(&wrapped, &owner, &elsewhere),
            Err(CryptoError::Tampered)
        ));
        for index in 0..OWNER_WRAP_LEN {
            let mut altered = wrapped;
            altered[index] ^= 0x80;
            assert!(
                unwrap(&altered, &owner, &binding()).is_err(),
                "byte {index}"
            );
        }
        assert!(matches!(
            unwrap(&wrapped[..40], &owner, &binding()),
            Err(CryptoError::MalformedWrap(_))
        ));
    }
}
