//! Shamir secret sharing of 32-byte keys (emergency and recovery keys): any
//! `threshold` of `count` shares rebuild the key; fewer reveal nothing about
//! it. Sharing is byte-wise over GF(2^8) (vsss-rs).
//!
//! Shamir sharing alone does not detect a wrong share: combining a bad one
//! yields a wrong key, not an error. So each share is dealt with the
//! patient's endorsement ([`ShareStatement`]): a signature, by the patient's
//! chain key, of the share's digest, the custodian it is dealt to, the key
//! generation and the dealing. A responder checks every released share
//! against it, skips the ones that fail and rebuilds the key from enough
//! endorsed shares of one dealing ([`ShareCollector`]).
//!
//! A dealing is one split of a key among one custodian set
//! ([`dealing_id`]): a new set (a custodian added, removed or moved) means a
//! new dealing, from a new polynomial, so shares of different dealings never
//! combine and a custodian that held two places in two sets holds two
//! unrelated points. Within a dealing the split is deterministic
//! ([`split_key_for_dealing`]), so a share handed over again (a custodian
//! that was away) is the same share.
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

/// The id of the dealing of a patient's key of `generation` among
/// `custodians` (in the chain's order) with `threshold`.
pub fn dealing_id(generation: u32, threshold: u8, custodians: &[[u8; 32]]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("medigate/v2/emergency-key-dealing");
    hasher.update(&generation.to_le_bytes());
    hasher.update(&[threshold]);
    hasher.update(&(custodians.len() as u32).to_le_bytes());
    for custodian in custodians {
        hasher.update(custodian);
    }
    *hasher.finalize().as_bytes()
}

/// Splits `key` like [`split_key`] for dealing `dealing`: always into the
/// same shares for the same key, threshold and dealing (the polynomial's
/// coefficients come from a ChaCha20 generator seeded with a hash of all
/// three), and into unrelated shares for another dealing.
pub fn split_key_for_dealing(
    key: &[u8; 32],
    threshold: u8,
    count: u8,
    dealing: &[u8; 32],
) -> Result<Vec<KeyShare>, CryptoError> {
    use rand_core_010::SeedableRng;
    let mut seed = Zeroizing::new([0u8; 32]);
    let mut hasher = blake3::Hasher::new_derive_key("medigate/v2/emergency-key-split");
    hasher.update(key);
    hasher.update(&[threshold]);
    hasher.update(dealing);
    seed.copy_from_slice(hasher.finalize().as_bytes());
    split_with(
        key,
        threshold,
        count,
        chacha20::ChaCha20Rng::from_seed(*seed),
    )
}

/// What a patient's endorsement of a share says: this share (by its
/// digest) is the one dealt to `custodian` in dealing `dealing` of the key
/// of `generation`, `threshold` of whose shares rebuild it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareStatement {
    /// The patient who dealt it (and signs).
    pub patient: [u8; 32],
    /// The custodian it is dealt to.
    pub custodian: [u8; 32],
    /// The key generation.
    pub generation: u32,
    /// The dealing ([`dealing_id`]).
    pub dealing: [u8; 32],
    /// How many of the dealing's shares rebuild the key.
    pub threshold: u8,
    /// The share's digest.
    pub digest: [u8; 32],
}

/// The label of an endorsement's message.
const ENDORSEMENT_LABEL: &[u8] = b"medigate/v2/emergency-share-endorsement";

impl ShareStatement {
    /// The statement about `share`.
    pub fn for_share(
        patient: [u8; 32],
        custodian: [u8; 32],
        generation: u32,
        dealing: [u8; 32],
        threshold: u8,
        share: &KeyShare,
    ) -> Self {
        Self {
            patient,
            custodian,
            generation,
            dealing,
            threshold,
            digest: *blake3::Hasher::new_derive_key("medigate/v2/emergency-share-digest")
                .update(share.as_bytes())
                .finalize()
                .as_bytes(),
        }
    }

    /// The signed bytes.
    fn message(&self) -> Vec<u8> {
        let mut message = Vec::with_capacity(ENDORSEMENT_LABEL.len() + 4 * 32 + 5);
        message.extend_from_slice(ENDORSEMENT_LABEL);
        message.extend_from_slice(&self.patient);
        message.extend_from_slice(&self.custodian);
        message.extend_from_slice(&self.generation.to_le_bytes());
        message.extend_from_slice(&self.dealing);
        message.push(self.threshold);
        message.extend_from_slice(&self.digest);
        message
    }

    /// The patient's endorsement, signed with their chain key.
    pub fn endorse(&self, patient: &subxt_signer::sr25519::Keypair) -> [u8; 64] {
        patient.sign(&self.message()).0
    }

    /// Checks that the patient signed this statement.
    pub fn verify(&self, endorsement: &[u8; 64]) -> Result<(), CryptoError> {
        use subxt_signer::sr25519;
        if sr25519::verify(
            &sr25519::Signature(*endorsement),
            self.message(),
            &sr25519::PublicKey(self.patient),
        ) {
            Ok(())
        } else {
            Err(CryptoError::ForeignShare)
        }
    }
}

/// Gathers released shares of a patient's key and rebuilds it from the
/// first endorsed shares of one dealing that reach the dealing's threshold
/// (as the patient endorsed it, not as the chain says now); shares that are
/// not endorsed for the custodian that gave them are refused and left out.
#[derive(Debug)]
pub struct ShareCollector {
    patient: [u8; 32],
    /// Endorsed shares by (generation, dealing, threshold).
    dealings: Vec<((u32, [u8; 32], u8), Vec<KeyShare>)>,
}

/// A share a custodian released, with what its endorsement covers.
#[derive(Clone, Debug)]
pub struct ReleasedShare {
    /// The custodian that released it.
    pub custodian: [u8; 32],
    /// The key generation.
    pub generation: u32,
    /// The dealing.
    pub dealing: [u8; 32],
    /// The dealing's threshold.
    pub threshold: u8,
    /// The share.
    pub share: KeyShare,
}

impl ShareCollector {
    /// A collector of `patient`'s shares.
    pub fn new(patient: [u8; 32]) -> Self {
        Self {
            patient,
            dealings: Vec::new(),
        }
    }

    /// Takes `released` with the patient's `endorsement`. Returns the key
    /// once its dealing has as many endorsed shares as its threshold;
    /// refuses ([`CryptoError::ForeignShare`]) a share its endorsement does
    /// not cover, which is then left out.
    pub fn offer(
        &mut self,
        released: ReleasedShare,
        endorsement: &[u8; 64],
    ) -> Result<Option<Zeroizing<[u8; 32]>>, CryptoError> {
        ShareStatement::for_share(
            self.patient,
            released.custodian,
            released.generation,
            released.dealing,
            released.threshold,
            &released.share,
        )
        .verify(endorsement)?;
        let key = (released.generation, released.dealing, released.threshold);
        let index = match self.dealings.iter().position(|(seen, _)| *seen == key) {
            Some(index) => index,
            None => {
                self.dealings.push((key, Vec::new()));
                self.dealings.len() - 1
            }
        };
        let shares = &mut self.dealings[index].1;
        if shares
            .iter()
            .any(|kept| kept.participant() == released.share.participant())
        {
            return Err(CryptoError::MalformedShare(
                "a second share of the same place in one dealing",
            ));
        }
        shares.push(released.share);
        if shares.len() >= usize::from(released.threshold.max(2)) {
            return combine_key(shares).map(Some);
        }
        Ok(None)
    }

    /// The most endorsed shares gathered for one dealing.
    pub fn best(&self) -> usize {
        self.dealings
            .iter()
            .map(|(_, shares)| shares.len())
            .max()
            .unwrap_or(0)
    }
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

    fn patient() -> subxt_signer::sr25519::Keypair {
        subxt_signer::sr25519::dev::alice()
    }

    /// The shares of a dealing among `custodians`, with their endorsements.
    fn dealt(
        generation: u32,
        threshold: u8,
        custodians: &[[u8; 32]],
    ) -> ([u8; 32], Vec<(KeyShare, [u8; 64])>) {
        let dealing = dealing_id(generation, threshold, custodians);
        let shares =
            split_key_for_dealing(&KEY, threshold, custodians.len() as u8, &dealing).unwrap();
        let patient = patient();
        let endorsed = shares
            .into_iter()
            .zip(custodians)
            .map(|(share, custodian)| {
                let statement = ShareStatement::for_share(
                    patient.public_key().0,
                    *custodian,
                    generation,
                    dealing,
                    threshold,
                    &share,
                );
                let endorsement = statement.endorse(&patient);
                (share, endorsement)
            })
            .collect();
        (dealing, endorsed)
    }

    #[test]
    fn a_dealing_is_the_same_each_time_and_another_set_is_another_dealing() {
        let set = [[1u8; 32], [2; 32], [3; 32]];
        let again = split_key_for_dealing(&KEY, 2, 3, &dealing_id(0, 2, &set)).unwrap();
        assert_eq!(
            split_key_for_dealing(&KEY, 2, 3, &dealing_id(0, 2, &set)).unwrap(),
            again
        );
        let moved = [[2u8; 32], [1; 32], [3; 32]];
        assert_ne!(dealing_id(0, 2, &set), dealing_id(0, 2, &moved));
        assert_ne!(dealing_id(0, 2, &set), dealing_id(1, 2, &set));
        assert_ne!(dealing_id(0, 2, &set), dealing_id(0, 3, &set));
        assert_ne!(dealing_id(0, 2, &set), dealing_id(0, 2, &set[..2]));
    }

    #[test]
    fn a_custodian_that_moved_in_the_set_holds_two_points_that_rebuild_nothing() {
        // Custodian 1 is first in one set and second in the next: its two
        // shares are of two polynomials and, with a third custodian's share
        // of either, still fall short of a 3-of-3 key.
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let (_, first) = dealt(0, 3, &[a, b, c]);
        let (_, second) = dealt(0, 3, &[b, a, c]);
        let hoard = [first[0].0.clone(), second[1].0.clone(), second[2].0.clone()];
        let rebuilt = combine_key(&hoard);
        assert!(rebuilt.map(|key| *key != KEY).unwrap_or(true));
        // Each dealing on its own rebuilds the key.
        let shares: Vec<KeyShare> = second.iter().map(|(share, _)| share.clone()).collect();
        assert_eq!(*combine_key(&shares).unwrap(), KEY);
    }

    /// `share` as `custodian` released it, dealt as `threshold` of
    /// `generation`'s dealing `dealing`.
    fn released(
        custodian: [u8; 32],
        generation: u32,
        dealing: [u8; 32],
        threshold: u8,
        share: &KeyShare,
    ) -> ReleasedShare {
        ReleasedShare {
            custodian,
            generation,
            dealing,
            threshold,
            share: share.clone(),
        }
    }

    #[test]
    fn the_collector_skips_a_bad_share_and_rebuilds_from_the_good_ones() {
        let custodians = [[1u8; 32], [2; 32], [3; 32], [4; 32]];
        let (dealing, shares) = dealt(5, 2, &custodians);
        let mut collector = ShareCollector::new(patient().public_key().0);
        // A custodian that hands out garbage with its endorsement.
        let mut garbage = shares[0].0.as_bytes().to_vec();
        garbage[7] ^= 1;
        let garbage = KeyShare::from_bytes(&garbage).unwrap();
        let refused = [
            (
                released(custodians[0], 5, dealing, 2, &garbage),
                shares[0].1,
            ),
            // Another custodian's share, passed off as one's own.
            (
                released(custodians[2], 5, dealing, 2, &shares[1].0),
                shares[1].1,
            ),
            // A share of another generation than it was dealt for.
            (
                released(custodians[1], 4, dealing, 2, &shares[1].0),
                shares[1].1,
            ),
            // A lower threshold than the patient dealt (two shares of a
            // 3-of-n key would combine into a wrong key).
            (
                released(custodians[1], 5, dealing, 1, &shares[1].0),
                shares[1].1,
            ),
        ];
        for (share, endorsement) in refused {
            assert!(matches!(
                collector.offer(share, &endorsement),
                Err(CryptoError::ForeignShare)
            ));
        }
        assert_eq!(collector.best(), 0);
        assert!(
            collector
                .offer(
                    released(custodians[1], 5, dealing, 2, &shares[1].0),
                    &shares[1].1
                )
                .unwrap()
                .is_none()
        );
        let key = collector
            .offer(
                released(custodians[3], 5, dealing, 2, &shares[3].0),
                &shares[3].1,
            )
            .unwrap()
            .expect("two endorsed shares rebuild a 2-of-4 key");
        assert_eq!(*key, KEY);
    }

    #[test]
    fn shares_of_two_dealings_are_never_combined() {
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let (old, before) = dealt(0, 2, &[a, b, c]);
        let (new, after) = dealt(0, 2, &[a, c]);
        let mut collector = ShareCollector::new(patient().public_key().0);
        // B was removed; its old share is endorsed, but for the old dealing.
        assert!(
            collector
                .offer(released(b, 0, old, 2, &before[1].0), &before[1].1)
                .unwrap()
                .is_none()
        );
        assert!(
            collector
                .offer(released(a, 0, new, 2, &after[0].0), &after[0].1)
                .unwrap()
                .is_none()
        );
        let key = collector
            .offer(released(c, 0, new, 2, &after[1].0), &after[1].1)
            .unwrap()
            .expect("the new dealing's two shares");
        assert_eq!(*key, KEY);
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
