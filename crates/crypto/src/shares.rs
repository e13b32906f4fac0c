//! Shamir secret sharing of 32-byte keys (emergency and recovery keys): any
//! `threshold` of `count` shares rebuild the key; fewer reveal nothing about
//! it. Sharing is byte-wise over GF(2^8) (vsss-rs).
//!
//! Shamir sharing does not detect a wrong or missing share: combining bad
//! shares yields a wrong key, not an error. Callers check the rebuilt key by
//! using it (an envelope or a wrap under it fails to open).

use zeroize::Zeroizing;

use crate::CryptoError;

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
    if threshold < 2 || threshold > count {
        return Err(CryptoError::MalformedShare(
            "the threshold must be at least 2 and at most the number of shares",
        ));
    }
    let rng = rand_core_010::UnwrapErr(getrandom::SysRng);
    let shares = vsss_rs::Gf256::split_bytes(usize::from(threshold), usize::from(count), key, rng)
        .map_err(|_| CryptoError::MalformedShare("the key cannot be split this way"))?;
    Ok(shares
        .into_iter()
        .map(|share| KeyShare(Zeroizing::new(share)))
        .collect())
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
