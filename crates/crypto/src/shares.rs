//! Shamir secret sharing of 32-byte keys (emergency and recovery keys): any
//! `threshold` of `count` shares rebuild the key; fewer reveal nothing about
//! it. Sharing is byte-wise over GF(2^8) (vsss-rs).
//!
//! Shamir sharing does not detect a wrong or missing share: combining bad
//! shares yields a wrong key, not an error. Callers check the rebuilt key by
//! using it (an envelope or a wrap under it fails to open).
//!
//! A share travels only sealed to its holder's X25519 key ([`seal_share`],
//! HPKE base mode as in [`crate::wrap`], its own `info`), bound to the
//! patient, the holder and a context number: the key's generation when the
//! patient hands it to a custodian, the break-glass id when a custodian
//! releases it to a responder. Sealed share layout (86 bytes): magic `MGS1`
//! (4), format version 1 (1), suite 1 (1), the encapsulated key (32), the
//! sealed share with its tag (48 + 1: the share is 33 bytes).

use hpke::{
    Deserializable, OpModeR, OpModeS, Serializable, aead::ChaCha20Poly1305, kdf::HkdfSha256,
    kem::X25519HkdfSha256,
};
use zeroize::Zeroizing;

use crate::{
    CryptoError,
    keys::{EncryptionPublicKey, EncryptionSecret},
};

/// A sealed share's length in bytes.
pub const SEALED_SHARE_LEN: usize = 4 + 1 + 1 + 32 + SHARE_LEN + 16;
const SEALED_MAGIC: &[u8; 4] = b"MGS1";
const SEALED_VERSION: u8 = 1;
const SEALED_SUITE: u8 = 1;
const SEALED_INFO: &[u8] = b"medigate/v1/emergency-key-share";

/// What a sealed share is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareBinding {
    /// The patient whose key it is a share of.
    pub patient: [u8; 32],
    /// The account it is sealed to (a custodian, or a responder).
    pub holder: [u8; 32],
    /// The key generation (to a custodian) or the break-glass id (to a
    /// responder).
    pub context: u64,
}

impl ShareBinding {
    fn associated_data(&self) -> [u8; 72] {
        let mut data = [0u8; 72];
        data[..32].copy_from_slice(&self.patient);
        data[32..64].copy_from_slice(&self.holder);
        data[64..].copy_from_slice(&self.context.to_le_bytes());
        data
    }
}

/// Seals `share` to `recipient`, bound to `binding`.
pub fn seal_share(
    share: &KeyShare,
    recipient: &EncryptionPublicKey,
    binding: &ShareBinding,
) -> Result<[u8; SEALED_SHARE_LEN], CryptoError> {
    let recipient = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(&recipient.0)
        .map_err(|_| CryptoError::MalformedShare("the holder's public key is not an X25519 key"))?;
    let (encapped, sealed) =
        hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &OpModeS::Base,
            &recipient,
            SEALED_INFO,
            share.as_bytes(),
            &binding.associated_data(),
        )
        .map_err(|_| CryptoError::MalformedShare("the holder's public key is unusable"))?;
    let mut out = [0u8; SEALED_SHARE_LEN];
    out[..4].copy_from_slice(SEALED_MAGIC);
    out[4] = SEALED_VERSION;
    out[5] = SEALED_SUITE;
    out[6..38].copy_from_slice(&encapped.to_bytes());
    out[38..].copy_from_slice(&sealed);
    Ok(out)
}

/// Opens a sealed share with the holder's `secret`; it must be bound to
/// `binding`.
pub fn open_share(
    sealed: &[u8],
    secret: &EncryptionSecret,
    binding: &ShareBinding,
) -> Result<KeyShare, CryptoError> {
    if sealed.len() != SEALED_SHARE_LEN || &sealed[..4] != SEALED_MAGIC {
        return Err(CryptoError::MalformedShare(
            "a sealed share is 86 bytes starting with MGS1",
        ));
    }
    if sealed[4] != SEALED_VERSION || sealed[5] != SEALED_SUITE {
        return Err(CryptoError::MalformedShare(
            "an unknown sealed-share version or suite",
        ));
    }
    let encapped = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(&sealed[6..38])
        .map_err(|_| CryptoError::MalformedShare("the encapsulated key is not an X25519 key"))?;
    let private = Zeroizing::new(secret.as_x25519().to_bytes());
    let private = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(private.as_ref())
        .map_err(|_| CryptoError::MalformedShare("the secret key is not an X25519 key"))?;
    let opened = Zeroizing::new(
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &private,
            &encapped,
            SEALED_INFO,
            &sealed[38..],
            &binding.associated_data(),
        )
        .map_err(|_| CryptoError::Tampered)?,
    );
    KeyShare::from_bytes(&opened)
}

/// A share's length: its participant number and 32 bytes.
pub const SHARE_LEN: usize = 33;

/// One share of a key. Zeroized when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyShare(Zeroizing<Vec<u8>>);

impl KeyShare {
    /// A share from its bytes (as handed to a custodian).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != SHARE_LEN {
            return Err(CryptoError::MalformedShare("a share is 33 bytes long"));
        }
        if bytes[0] == 0 {
            return Err(CryptoError::MalformedShare(
                "participant number 0 is not a share",
            ));
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// The share's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Which participant holds it (1 to 255).
    pub fn participant(&self) -> u8 {
        self.0[0]
    }
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyShare(participant {}, <secret>)", self.participant())
    }
}

/// Splits `key` into `count` shares, any `threshold` of which rebuild it
/// (2 ≤ threshold ≤ count ≤ 255).
pub fn split_key(key: &[u8; 32], threshold: u8, count: u8) -> Result<Vec<KeyShare>, CryptoError> {
    split_with(
        key,
        threshold,
        count,
        rand_core_010::UnwrapErr(getrandom::SysRng),
    )
}

/// Splits `key` with `rng` drawing the polynomial's coefficients.
fn split_with(
    key: &[u8; 32],
    threshold: u8,
    count: u8,
    rng: impl rand_core_010::CryptoRng,
) -> Result<Vec<KeyShare>, CryptoError> {
    if threshold < 2 || threshold > count {
        return Err(CryptoError::MalformedShare(
            "the threshold must be at least 2 and at most the number of shares",
        ));
    }
    let shares = vsss_rs::Gf256::split_bytes(usize::from(threshold), usize::from(count), key, rng)
        .map_err(|_| CryptoError::MalformedShare("the key cannot be split this way"))?;
    Ok(shares
        .into_iter()
        .map(|share| KeyShare(Zeroizing::new(share)))
        .collect())
}

/// Splits `key` like [`split_key`], but always into the same shares for the
/// same key and threshold: the polynomial's coefficients come from a
/// ChaCha20 generator seeded with a hash of the key and the threshold.
/// Shares handed out at different times (a custodian added, one that was
/// away) therefore always combine, whatever `count` was each time; a
/// participant's share is the same each time it is made.
pub fn split_key_stable(
    key: &[u8; 32],
    threshold: u8,
    count: u8,
) -> Result<Vec<KeyShare>, CryptoError> {
    use rand_core_010::SeedableRng;
    let mut seed = Zeroizing::new([0u8; 32]);
    let mut hasher = blake3::Hasher::new_derive_key("medigate/v1/emergency-key-split");
    hasher.update(key);
    hasher.update(&[threshold]);
    seed.copy_from_slice(hasher.finalize().as_bytes());
    split_with(
        key,
        threshold,
        count,
        chacha20::ChaCha20Rng::from_seed(*seed),
    )
}

/// Rebuilds a key from at least its threshold of distinct shares.
pub fn combine_key(shares: &[KeyShare]) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    if shares.len() < 2 {
        return Err(CryptoError::MalformedShare(
            "at least two shares are needed",
        ));
    }
    let mut participants: Vec<u8> = shares.iter().map(KeyShare::participant).collect();
    participants.sort_unstable();
    participants.dedup();
    if participants.len() != shares.len() {
        return Err(CryptoError::MalformedShare(
            "the same participant's share was given twice",
        ));
    }
    let raw: Vec<Vec<u8>> = shares.iter().map(|share| share.0.to_vec()).collect();
    let combined = Zeroizing::new(
        vsss_rs::Gf256::combine_bytes(&raw)
            .map_err(|_| CryptoError::MalformedShare("the shares do not combine"))?,
    );
    for mut share in raw {
        zeroize::Zeroize::zeroize(&mut share);
    }
    let key: [u8; 32] = combined
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::MalformedShare("the shares are not of a 32-byte key"))?;
    Ok(Zeroizing::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [0x5c; 32];

    #[test]
    fn any_three_of_five_rebuild_the_key() {
        let shares = split_key(&KEY, 3, 5).unwrap();
        assert_eq!(shares.len(), 5);
        for first in 0..5 {
            for second in first + 1..5 {
                for third in second + 1..5 {
                    let chosen = [
                        shares[first].clone(),
                        shares[second].clone(),
                        shares[third].clone(),
                    ];
                    assert_eq!(*combine_key(&chosen).unwrap(), KEY);
                }
            }
        }
    }

    #[test]
    fn two_of_three_needed_shares_do_not_rebuild_it() {
        let shares = split_key(&KEY, 3, 5).unwrap();
        let rebuilt = combine_key(&shares[..2]);
        assert!(rebuilt.map(|key| *key != KEY).unwrap_or(true));
    }

    #[test]
    fn a_share_given_twice_is_refused() {
        let shares = split_key(&KEY, 2, 3).unwrap();
        let twice = [shares[0].clone(), shares[0].clone()];
        assert!(matches!(
            combine_key(&twice),
            Err(CryptoError::MalformedShare(_))
        ));
    }

    #[test]
    fn a_sealed_share_opens_only_for_its_holder_and_binding() {
        let custodian = crate::keys::Identity::generate().encryption_secret();
        let other = crate::keys::Identity::generate().encryption_secret();
        let share = split_key(&KEY, 2, 3).unwrap().remove(1);
        let binding = ShareBinding {
            patient: [1; 32],
            holder: [2; 32],
            context: 7,
        };
        let sealed = seal_share(&share, &custodian.public_key(), &binding).unwrap();
        assert_eq!(open_share(&sealed, &custodian, &binding).unwrap(), share);
        assert!(matches!(
            open_share(&sealed, &other, &binding),
            Err(CryptoError::Tampered)
        ));
        for changed in [
            ShareBinding {
                context: 8,
                ..binding
            },
            ShareBinding {
                holder: [3; 32],
                ..binding
            },
            ShareBinding {
                patient: [4; 32],
                ..binding
            },
        ] {
            assert!(matches!(
                open_share(&sealed, &custodian, &changed),
                Err(CryptoError::Tampered)
            ));
        }
        assert!(matches!(
            open_share(&sealed[..40], &custodian, &binding),
            Err(CryptoError::MalformedShare(_))
        ));
    }

    #[test]
    fn stable_shares_are_the_same_each_time_and_combine_across_hand_outs() {
        let five = split_key_stable(&KEY, 3, 5).unwrap();
        let seven = split_key_stable(&KEY, 3, 7).unwrap();
        assert_eq!(five[..], seven[..5]);
        let mixed = [five[0].clone(), seven[5].clone(), seven[6].clone()];
        assert_eq!(*combine_key(&mixed).unwrap(), KEY);
        // Another key or threshold, other shares.
        assert_ne!(split_key_stable(&[1; 32], 3, 5).unwrap()[0], five[0]);
        assert_ne!(split_key_stable(&KEY, 2, 5).unwrap()[0], five[0]);
        assert!(split_key_stable(&KEY, 1, 5).is_err());
    }

    #[test]
    fn impossible_thresholds_are_refused() {
        assert!(split_key(&KEY, 1, 3).is_err());
        assert!(split_key(&KEY, 4, 3).is_err());
    }

    #[test]
    fn shares_round_trip_through_bytes_and_hide_in_debug() {
        let shares = split_key(&KEY, 2, 2).unwrap();
        let again = KeyShare::from_bytes(shares[1].as_bytes()).unwrap();
        assert_eq!(again, shares[1]);
        assert!(!format!("{again:?}").contains("5c"));
        assert!(KeyShare::from_bytes(&[0; 33]).is_err());
        assert!(KeyShare::from_bytes(&[1; 5]).is_err());
    }
}
