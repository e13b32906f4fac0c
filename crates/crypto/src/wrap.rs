//! Key wrapping: a record version's key sealed to one grantee's X25519
//! public key with HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, ChaCha20-Poly1305), signed by its maker.
//!
//! A wrap is bound, as associated data, to the record's content id, the
//! grantee's account and the grant it was made under: a vault cannot hand a
//! wrap made for one grantee, record or grant to another. HPKE's base mode
//! lets anyone seal to a public key, so the maker signs the wrap with their
//! chain key (sr25519) and names their account in it; [`unwrap`] opens a
//! wrap only if its maker is one of the accounts the caller accepts (the
//! record's owner or author, as its anchor names them) and the signature
//! holds. A vault, or anyone on the way, cannot hand a reader a key of
//! their own making.
//!
//! Wrap layout (182 bytes): magic `MGW1` (4), format version 2 (1), suite 1
//! (1), the HPKE encapsulated key (32), the sealed record key with its tag
//! (48), the maker's account (32), the maker's signature (64). With the
//! `post-quantum` feature, [`hybrid`] wraps to an X-Wing key (suite 2) in
//! the same way. Format version 1 was the same without maker and
//! signature; it is refused.
//!
//! The owner's own wrap needs no key agreement: [`OwnerSealer`] seals the
//! record key with XChaCha20-Poly1305 under a key derived from the owner's
//! X25519 secret (format version 1, suite 3, 78 bytes: the header, a random
//! 24-byte nonce and the sealed key with its tag), about a hundredth of an
//! HPKE wrap's cost; only the owner can make one, so it needs no signature.
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
    keys::{EncryptionPublicKey, EncryptionSecret, SigningKeypair},
    record::RecordKey,
};

type Kem = X25519HkdfSha256;

/// The maker's account and signature that end a signed wrap.
const SIGNED_BY_LEN: usize = 32 + 64;

/// A wrap's length in bytes.
pub const WRAP_LEN: usize = 4 + 1 + 1 + 32 + 32 + 16 + SIGNED_BY_LEN;

const MAGIC: &[u8; 4] = b"MGW1";
/// The format version of signed (HPKE) wraps.
const FORMAT_VERSION: u8 = 2;
/// The format version of owner-sealed wraps.
const OWNER_FORMAT_VERSION: u8 = 1;
/// The label a maker's signature starts with.
const SIGNATURE_LABEL: &[u8] = b"medigate/v2/key-wrap-maker";
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

/// What a maker's signature covers: the binding and the wrap up to the
/// signature (its maker included).
fn signed_message(binding: &WrapBinding, unsigned: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_LABEL.len() + 73 + unsigned.len());
    message.extend_from_slice(SIGNATURE_LABEL);
    message.extend_from_slice(&binding.associated_data());
    message.extend_from_slice(unsigned);
    message
}

/// Ends `wrapped` (whose last [`SIGNED_BY_LEN`] bytes are free) with
/// `maker`'s account and signature.
fn sign_wrap(wrapped: &mut [u8], binding: &WrapBinding, maker: &SigningKeypair) {
    let signature_at = wrapped.len() - 64;
    wrapped[signature_at - 32..signature_at].copy_from_slice(&maker.public_key().0);
    let signature = maker.sign(&signed_message(binding, &wrapped[..signature_at]));
    wrapped[signature_at..].copy_from_slice(&signature.0);
}

/// Checks that a signed wrap was made by one of `makers` and that its
/// signature holds.
fn check_maker(
    wrapped: &[u8],
    binding: &WrapBinding,
    makers: &[[u8; 32]],
) -> Result<(), CryptoError> {
    let signature_at = wrapped.len() - 64;
    let maker: [u8; 32] = wrapped[signature_at - 32..signature_at]
        .try_into()
        .expect("32 bytes");
    if !makers.contains(&maker) {
        return Err(CryptoError::WrapMakerNotAllowed);
    }
    let signature: [u8; 64] = wrapped[signature_at..].try_into().expect("64 bytes");
    let valid = subxt_signer::sr25519::verify(
        &subxt_signer::sr25519::Signature(signature),
        signed_message(binding, &wrapped[..signature_at]),
        &subxt_signer::sr25519::PublicKey(maker),
    );
    if valid {
        Ok(())
    } else {
        Err(CryptoError::WrapForged)
    }
}

/// Seals `key` to the grantee's `recipient` key, bound to `binding`, and
/// signs it as made by `maker`.
pub fn wrap(
    key: &RecordKey,
    recipient: &EncryptionPublicKey,
    binding: &WrapBinding,
    maker: &SigningKeypair,
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
    wrapped[38..86].copy_from_slice(&sealed);
    sign_wrap(&mut wrapped, binding, maker);
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
        wrapped[4] = OWNER_FORMAT_VERSION;
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
        check_header(
            wrapped,
            SUITE_OWNER_SEALED,
            OWNER_FORMAT_VERSION,
            OWNER_WRAP_LEN,
        )?;
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
/// or the owner's sealed wrap); it must be bound to `binding` and made by
/// one of `makers` (the accounts the record's anchor allows to share it:
/// its owner, its author). An owner-sealed wrap is made by the grantee
/// (`binding.grantee`) itself, who must then be one of `makers`.
pub fn unwrap(
    wrapped: &[u8],
    secret: &EncryptionSecret,
    binding: &WrapBinding,
    makers: &[[u8; 32]],
) -> Result<RecordKey, CryptoError> {
    if wrapped.get(5) == Some(&SUITE_OWNER_SEALED) {
        if !makers.contains(&binding.grantee) {
            return Err(CryptoError::WrapMakerNotAllowed);
        }
        return OwnerSealer::new(secret).open(wrapped, binding);
    }
    check_header(wrapped, SUITE_X25519_CHACHA, FORMAT_VERSION, WRAP_LEN)?;
    check_maker(wrapped, binding, makers)?;
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
            &wrapped[38..86],
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
fn check_header(wrapped: &[u8], suite: u8, version: u8, len: usize) -> Result<(), CryptoError> {
    if wrapped.len() < 6 || &wrapped[..4] != MAGIC {
        return Err(CryptoError::MalformedWrap("it does not start with MGW1"));
    }
    if wrapped[4] == 1 && version == FORMAT_VERSION {
        return Err(CryptoError::MalformedWrap(
            "an unsigned wrap of format version 1, which names no maker: ask whoever shared the record to share it again",
        ));
    }
    if wrapped[4] != version {
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
/// as the HPKE KEM, suite 2. A wrap is 1,270 bytes: the header (6), the
/// encapsulated key (1,120), the sealed record key (48), the maker's
/// account (32) and signature (64).
#[cfg(feature = "post-quantum")]
pub mod hybrid {
    use hpke::{
        Deserializable, OpModeR, OpModeS, Serializable, aead::ChaCha20Poly1305, kdf::HkdfSha256,
        kem::XWing,
    };
    use zeroize::Zeroizing;

    use super::{
        FORMAT_VERSION, INFO, MAGIC, SIGNED_BY_LEN, WrapBinding, check_header, check_maker,
        sign_wrap,
    };
    use crate::{
        CryptoError,
        keys::{HybridPublicKey, HybridSecret, SigningKeypair},
        record::RecordKey,
    };

    /// The hybrid suite's number.
    pub const SUITE_XWING_CHACHA: u8 = 2;
    /// A hybrid wrap's length in bytes.
    pub const HYBRID_WRAP_LEN: usize = 6 + 1120 + 32 + 16 + SIGNED_BY_LEN;

    /// Seals `key` to a grantee's hybrid public key, bound to `binding`,
    /// and signs it as made by `maker`.
    pub fn wrap(
        key: &RecordKey,
        recipient: &HybridPublicKey,
        binding: &WrapBinding,
        maker: &SigningKeypair,
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
        wrapped.resize(HYBRID_WRAP_LEN, 0);
        sign_wrap(&mut wrapped, binding, maker);
        Ok(wrapped)
    }

    /// Opens a hybrid wrap with the grantee's hybrid secret; it must be
    /// bound to `binding` and made by one of `makers`.
    pub fn unwrap(
        wrapped: &[u8],
        secret: &HybridSecret,
        binding: &WrapBinding,
        makers: &[[u8; 32]],
    ) -> Result<RecordKey, CryptoError> {
        check_header(wrapped, SUITE_XWING_CHACHA, FORMAT_VERSION, HYBRID_WRAP_LEN)?;
        check_maker(wrapped, binding, makers)?;
        let encapped = <XWing as hpke::Kem>::EncappedKey::from_bytes(&wrapped[6..1126])
            .map_err(|_| CryptoError::MalformedWrap("the encapsulated key is not X-Wing's"))?;
        let opened = Zeroizing::new(
            hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, XWing>(
                &OpModeR::Base,
                secret.as_xwing(),
                &encapped,
                INFO,
                &wrapped[1126..1174],
                &binding.associated_data(),
            )
            .map_err(|_| CryptoError::Tampered)?,
        );
        super::record_key(&opened)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::{
            keys::Identity,
            wrap::tests::{binding, maker, makers},
        };

        #[test]
        fn the_grantee_unwraps_and_no_one_else_does() {
            let grantee = Identity::generate().hybrid_secret();
            let stranger = Identity::generate().hybrid_secret();
            let key = RecordKey::generate();
            let wrapped = wrap(&key, &grantee.public_key(), &binding(), &maker()).unwrap();
            assert_eq!(wrapped.len(), HYBRID_WRAP_LEN);
            let unwrapped = unwrap(&wrapped, &grantee, &binding(), &makers()).unwrap();
            assert_eq!(unwrapped.as_bytes(), key.as_bytes());
            assert!(matches!(
                unwrap(&wrapped, &stranger, &binding(), &makers()),
                Err(CryptoError::Tampered)
            ));
            let other = WrapBinding {
                grant: Some(18),
                ..binding()
            };
            assert!(matches!(
                unwrap(&wrapped, &grantee, &other, &makers()),
                Err(CryptoError::WrapForged)
            ));
            assert!(matches!(
                unwrap(&wrapped, &grantee, &binding(), &[[7; 32]]),
                Err(CryptoError::WrapMakerNotAllowed)
            ));
        }

        #[test]
        fn suites_are_not_confused() {
            let identity = Identity::generate();
            let key = RecordKey::generate();
            let classic = super::super::wrap(
                &key,
                &identity.encryption_secret().public_key(),
                &binding(),
                &maker(),
            )
            .unwrap();
            assert!(matches!(
                unwrap(&classic, &identity.hybrid_secret(), &binding(), &makers()),
                Err(CryptoError::MalformedWrap(_))
            ));
            let hybrid = wrap(
                &key,
                &identity.hybrid_secret().public_key(),
                &binding(),
                &maker(),
            )
            .unwrap();
            assert!(matches!(
                super::super::unwrap(
                    &hybrid,
                    &identity.encryption_secret(),
                    &binding(),
                    &makers()
                ),
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

    /// The tests' wrap maker (the record's owner, say).
    pub(super) fn maker() -> SigningKeypair {
        subxt_signer::sr25519::dev::alice()
    }

    /// The makers the tests' readers accept: the maker and another.
    pub(super) fn makers() -> [[u8; 32]; 2] {
        [[8; 32], maker().public_key().0]
    }

    /// A new grantee's secret and a wrap of a fresh key to it, made by
    /// [`maker`] under [`binding`].
    fn a_wrap() -> (EncryptionSecret, [u8; WRAP_LEN]) {
        let grantee = Identity::generate().encryption_secret();
        let wrapped = wrap(
            &RecordKey::generate(),
            &grantee.public_key(),
            &binding(),
            &maker(),
        )
        .unwrap();
        (grantee, wrapped)
    }

    /// Whether `result` refuses a wrap as not made for what was asked.
    fn refused(result: &Result<RecordKey, CryptoError>) -> bool {
        matches!(
            result,
            Err(CryptoError::Tampered
                | CryptoError::WrapForged
                | CryptoError::WrapMakerNotAllowed
                | CryptoError::MalformedWrap(_))
        )
    }

    #[test]
    fn the_grantee_unwraps_the_key() {
        let grantee = Identity::generate().encryption_secret();
        let key = RecordKey::generate();
        let wrapped = wrap(&key, &grantee.public_key(), &binding(), &maker()).unwrap();
        assert_eq!(wrapped[4], 2, "format version 2");
        let unwrapped = unwrap(&wrapped, &grantee, &binding(), &makers()).unwrap();
        assert_eq!(unwrapped.as_bytes(), key.as_bytes());
    }

    #[test]
    fn another_identity_cannot_unwrap() {
        let (_, wrapped) = a_wrap();
        let stranger = Identity::generate().encryption_secret();
        assert!(matches!(
            unwrap(&wrapped, &stranger, &binding(), &makers()),
            Err(CryptoError::Tampered)
        ));
    }

    #[test]
    fn a_wrap_from_a_maker_the_reader_does_not_accept_is_refused() {
        // Anyone can seal a key to a grantee's public key; a vault that
        // does so, signing as itself, is not one of the record's makers.
        let grantee = Identity::generate().encryption_secret();
        let key = RecordKey::generate();
        let vault = subxt_signer::sr25519::dev::eve();
        let forged = wrap(&key, &grantee.public_key(), &binding(), &vault).unwrap();
        assert!(matches!(
            unwrap(&forged, &grantee, &binding(), &makers()),
            Err(CryptoError::WrapMakerNotAllowed)
        ));
        // Nor can it claim to be the owner: the signature is the owner's
        // or nothing.
        let mut claimed = forged;
        claimed[86..118].copy_from_slice(&maker().public_key().0);
        assert!(matches!(
            unwrap(&claimed, &grantee, &binding(), &makers()),
            Err(CryptoError::WrapForged)
        ));
    }

    #[test]
    fn an_unsigned_wrap_of_the_first_format_is_refused_with_its_reason() {
        let (grantee, wrapped) = a_wrap();
        let mut first_format = wrapped[..86].to_vec();
        first_format[4] = 1;
        let result = unwrap(&first_format, &grantee, &binding(), &makers());
        assert!(
            matches!(result, Err(CryptoError::MalformedWrap(message)) if message.contains("unsigned")),
            "{result:?}"
        );
    }

    #[test]
    fn a_wrap_does_not_open_for_another_record_grantee_or_grant() {
        let (grantee, wrapped) = a_wrap();
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
            let result = unwrap(&wrapped, &grantee, &other, &makers());
            assert!(refused(&result), "{other:?}: {result:?}");
        }
    }

    #[test]
    fn every_altered_byte_is_detected() {
        let (grantee, wrapped) = a_wrap();
        for index in 0..WRAP_LEN {
            let mut altered = wrapped;
            altered[index] ^= 0x80;
            let result = unwrap(&altered, &grantee, &binding(), &makers());
            assert!(refused(&result), "byte {index}: {result:?}");
        }
        assert!(matches!(
            unwrap(&wrapped[..40], &grantee, &binding(), &makers()),
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
        // The owner (the binding's grantee) made it, so the owner must be
        // one of the makers the reader accepts.
        let owner_accepted = [binding().grantee];
        let opened = unwrap(&wrapped, &owner, &binding(), &owner_accepted).unwrap();
        assert_eq!(opened.as_bytes(), key.as_bytes());
        assert!(matches!(
            unwrap(&wrapped, &owner, &binding(), &makers()),
            Err(CryptoError::WrapMakerNotAllowed)
        ));
        assert!(matches!(
            unwrap(&wrapped, &stranger, &binding(), &owner_accepted),
            Err(CryptoError::Tampered)
        ));
        let elsewhere = WrapBinding {
            content_id: [5; 32],
            ..binding()
        };
        assert!(matches!(
            unwrap(&wrapped, &owner, &elsewhere, &owner_accepted),
            Err(CryptoError::Tampered)
        ));
        for index in 0..OWNER_WRAP_LEN {
            let mut altered = wrapped;
            altered[index] ^= 0x80;
            let result = unwrap(&altered, &owner, &binding(), &owner_accepted);
            assert!(refused(&result), "byte {index}: {result:?}");
        }
        assert!(matches!(
            unwrap(&wrapped[..40], &owner, &binding(), &owner_accepted),
            Err(CryptoError::MalformedWrap(_))
        ));
    }
}
