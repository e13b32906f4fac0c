//! A participant's keys, all from one BIP-39 mnemonic.
//!
//! The mnemonic's 64-byte seed (BIP-39, empty passphrase) feeds two
//! derivations that cannot meet:
//! - the chain signing key: sr25519 exactly as Substrate wallets derive it
//!   from the phrase (so the account matches polkadot.js and `subkey`);
//! - the encryption key: X25519, from HKDF-SHA-256 over the seed with the
//!   label [`ENCRYPTION_KEY_LABEL`].

use bip39::{Language, Mnemonic};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::CryptoError;

/// The HKDF label of the X25519 encryption key. Changing it changes every
/// participant's encryption key.
pub const ENCRYPTION_KEY_LABEL: &[u8] = b"medigate/v1/x25519-encryption-key";

/// The HKDF label of the hybrid post-quantum (X-Wing) encryption key.
#[cfg(feature = "post-quantum")]
pub const HYBRID_KEY_LABEL: &[u8] = b"medigate/v1/x-wing-encryption-key";

/// The HKDF salt of MediGate's key derivations.
const DERIVATION_SALT: &[u8] = b"medigate";
/// The HKDF label of the emergency summary's key (followed by its generation).
const EMERGENCY_KEY_LABEL: &[u8] = b"medigate/v1/emergency-summary-key";

/// The chain signing key pair (sr25519).
pub type SigningKeypair = subxt_signer::sr25519::Keypair;

/// A participant's root secret: the mnemonic and what derives from it.
pub struct Identity {
    mnemonic: Mnemonic,
    seed: Zeroizing<[u8; 64]>,
    /// Derived once: the derivation (PBKDF2 over the phrase) costs far more
    /// than a signature, and every request and transaction needs the key.
    signing: SigningKeypair,
}

impl Identity {
    /// A new identity from 256 bits of the operating system's randomness (a
    /// 24-word phrase).
    pub fn generate() -> Self {
        let mut entropy = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(entropy.as_mut());
        Self::from_entropy(entropy.as_ref()).expect("32 bytes are valid BIP-39 entropy")
    }

    /// The identity whose recovery phrase is `phrase` (12 to 24 English
    /// words; extra spaces and letter case are ignored).
    pub fn from_phrase(phrase: &str) -> Result<Self, CryptoError> {
        let normalized = Zeroizing::new(
            phrase
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
        );
        let mnemonic = Mnemonic::parse_in(Language::English, normalized.as_str())
            .map_err(|error| CryptoError::InvalidMnemonic(error.to_string()))?;
        Ok(Self::from_mnemonic(mnemonic))
    }

    /// The identity of the mnemonic with this entropy (16 to 32 bytes).
    pub(crate) fn from_entropy(entropy: &[u8]) -> Result<Self, CryptoError> {
        let mnemonic = Mnemonic::from_entropy_in(Language::English, entropy)
            .map_err(|error| CryptoError::InvalidMnemonic(error.to_string()))?;
        Ok(Self::from_mnemonic(mnemonic))
    }

    fn from_mnemonic(mnemonic: Mnemonic) -> Self {
        let seed = Zeroizing::new(mnemonic.to_seed(""));
        let phrase = Zeroizing::new(mnemonic.to_string());
        let signing = subxt_signer::bip39::Mnemonic::parse_in(
            subxt_signer::bip39::Language::English,
            phrase.as_str(),
        )
        .ok()
        .and_then(|mnemonic| subxt_signer::sr25519::Keypair::from_phrase(&mnemonic, None).ok())
        .expect("a valid mnemonic derives a key pair");
        Self {
            mnemonic,
            seed,
            signing,
        }
    }

    /// The recovery phrase, to show the user once.
    pub fn phrase(&self) -> Zeroizing<String> {
        Zeroizing::new(self.mnemonic.to_string())
    }

    /// The mnemonic's entropy, what the keystore seals.
    pub(crate) fn entropy(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.mnemonic.to_entropy())
    }

    /// The chain signing key.
    pub fn signing_keypair(&self) -> SigningKeypair {
        self.signing.clone()
    }

    /// The key of the patient's emergency summary, generation `generation`
    /// (a new generation replaces a key whose card or shares are lost). It
    /// is derived from the seed with its own label, so it survives a lost
    /// database; it leaves the gateway only split among custodians or
    /// printed on the patient's emergency card.
    pub fn emergency_key(&self, generation: u32) -> crate::record::RecordKey {
        let mut info = EMERGENCY_KEY_LABEL.to_vec();
        info.extend_from_slice(&generation.to_le_bytes());
        let mut bytes = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(DERIVATION_SALT), self.seed.as_ref())
            .expand(&info, bytes.as_mut())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        crate::record::RecordKey::from_bytes(*bytes)
    }

    /// The key of the user's private notes ([`crate::note`]), derived from
    /// the seed with its own label.
    pub fn note_key(&self) -> crate::note::NoteKey {
        let mut bytes = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(DERIVATION_SALT), self.seed.as_ref())
            .expand(crate::note::NOTE_KEY_LABEL, bytes.as_mut())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        crate::note::NoteKey(bytes)
    }

    /// The X25519 secret others encrypt record keys to.
    pub fn encryption_secret(&self) -> EncryptionSecret {
        let mut bytes = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(DERIVATION_SALT), self.seed.as_ref())
            .expand(ENCRYPTION_KEY_LABEL, bytes.as_mut())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        EncryptionSecret(x25519_dalek::StaticSecret::from(*bytes))
    }
}

impl Identity {
    /// The optional hybrid post-quantum secret (X-Wing: ML-KEM-768 with
    /// X25519), derived from the seed with its own label.
    #[cfg(feature = "post-quantum")]
    pub fn hybrid_secret(&self) -> HybridSecret {
        let mut ikm = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(DERIVATION_SALT), self.seed.as_ref())
            .expand(HYBRID_KEY_LABEL, ikm.as_mut())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        let (private, public) = <hpke::kem::XWing as hpke::Kem>::derive_keypair(ikm.as_ref());
        HybridSecret { private, public }
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        self.mnemonic.zeroize();
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(<secret>)")
    }
}

/// An X25519 secret key. Zeroized when dropped.
pub struct EncryptionSecret(x25519_dalek::StaticSecret);

impl EncryptionSecret {
    /// The public half, registered on chain.
    pub fn public_key(&self) -> EncryptionPublicKey {
        EncryptionPublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// The raw secret, for key-wrapping code in this crate.
    #[allow(dead_code)]
    pub(crate) fn as_x25519(&self) -> &x25519_dalek::StaticSecret {
        &self.0
    }
}

impl std::fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionSecret(<secret>)")
    }
}

/// A hybrid post-quantum (X-Wing) secret key.
#[cfg(feature = "post-quantum")]
pub struct HybridSecret {
    private: <hpke::kem::XWing as hpke::Kem>::PrivateKey,
    public: <hpke::kem::XWing as hpke::Kem>::PublicKey,
}

#[cfg(feature = "post-quantum")]
impl HybridSecret {
    /// The public half (1,216 bytes).
    pub fn public_key(&self) -> HybridPublicKey {
        use hpke::Serializable;
        HybridPublicKey(self.public.to_bytes().to_vec())
    }

    pub(crate) fn as_xwing(&self) -> &<hpke::kem::XWing as hpke::Kem>::PrivateKey {
        &self.private
    }
}

#[cfg(feature = "post-quantum")]
impl std::fmt::Debug for HybridSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HybridSecret(<secret>)")
    }
}

/// A hybrid post-quantum (X-Wing) public key.
#[cfg(feature = "post-quantum")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HybridPublicKey(Vec<u8>);

#[cfg(feature = "post-quantum")]
impl HybridPublicKey {
    /// A key received from someone else (1,216 bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        use hpke::Deserializable;
        <hpke::kem::XWing as hpke::Kem>::PublicKey::from_bytes(bytes)
            .map_err(|_| CryptoError::MalformedWrap("not an X-Wing public key (1,216 bytes)"))?;
        Ok(Self(bytes.to_vec()))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// An X25519 public key: what the registry stores as a participant's
/// encryption key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncryptionPublicKey(pub [u8; 32]);

#[cfg(test)]
mod tests {
    use super::*;

    const PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

    #[test]
    fn the_signing_key_is_the_substrate_wallet_key_of_the_phrase() {
        // The well-known development phrase: its sr25519 key without a
        // derivation path is this public key in every Substrate wallet.
        let identity = Identity::from_phrase(PHRASE).unwrap();
        let public = identity.signing_keypair().public_key().0;
        assert_eq!(
            hex(&public),
            "46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
        );
    }

    #[test]
    fn the_encryption_key_is_stable_and_apart_from_the_signing_key() {
        let first = Identity::from_phrase(PHRASE).unwrap();
        let again = Identity::from_phrase(&format!("  {}  ", PHRASE.to_uppercase())).unwrap();
        assert_eq!(
            first.encryption_secret().public_key(),
            again.encryption_secret().public_key()
        );
        assert_ne!(
            first.encryption_secret().public_key().0,
            first.signing_keypair().public_key().0
        );
    }

    #[test]
    fn generated_identities_differ_and_round_trip_through_their_phrase() {
        let one = Identity::generate();
        let two = Identity::generate();
        assert_ne!(
            one.encryption_secret().public_key(),
            two.encryption_secret().public_key()
        );
        assert_eq!(one.phrase().split(' ').count(), 24);
        let restored = Identity::from_phrase(&one.phrase()).unwrap();
        assert_eq!(
            restored.encryption_secret().public_key(),
            one.encryption_secret().public_key()
        );
    }

    #[test]
    fn a_wrong_word_is_refused() {
        let error = Identity::from_phrase(
            "bottom drive obey lake curtain smoke basket hold race lonely fit wall",
        )
        .unwrap_err();
        assert!(matches!(error, CryptoError::InvalidMnemonic(_)), "{error}");
        assert!(Identity::from_phrase("not a phrase").is_err());
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let identity = Identity::from_phrase(PHRASE).unwrap();
        assert_eq!(format!("{identity:?}"), "Identity(<secret>)");
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}
