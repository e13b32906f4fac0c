//! Freshness and replay checks of signed requests.
//!
//! A request carries the time it was made and a random nonce, both covered
//! by its signature. The vault accepts it only if that time is within
//! `window` of its own clock (either way), and only once: it remembers every
//! (account, nonce) it accepted until the request could no longer be fresh,
//! so a replay within the window is refused and one after it is stale.
//!
//! The guard locks itself, only while it looks a nonce up and records it,
//! so that the requests a service serves at once check their signatures
//! side by side, not one after another.

use std::collections::{BTreeMap, HashSet};

use parking_lot::Mutex;

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The request's time is too far in the past.
    #[error(
        "the request is stale: made {age_ms} ms ago, more than the {window_ms} ms allowed; sign it again"
    )]
    Stale {
        /// How old it is.
        age_ms: u64,
        /// The window.
        window_ms: u64,
    },
    /// The request's time is too far in the future (a wrong client clock).
    #[error(
        "the request is dated {ahead_ms} ms in the future, more than the {window_ms} ms allowed; check the clock"
    )]
    FromTheFuture {
        /// How far ahead it is.
        ahead_ms: u64,
        /// The window.
        window_ms: u64,
    },
    /// The same account already made a request with this nonce.
    #[error("the request was already received (same account and nonce); sign a new one")]
    Replayed,
}

/// A request's identity for replay purposes: the account and its nonce.
type RequestKey = ([u8; 32], [u8; 16]);

/// The nonces accepted within the freshness window.
#[derive(Debug)]
pub struct ReplayGuard {
    window_ms: u64,
    nonces: Mutex<Nonces>,
}

/// What the guard remembers.
#[derive(Debug, Default)]
struct Nonces {
    seen: HashSet<RequestKey>,
    /// When each remembered nonce can be forgotten.
    expiries: BTreeMap<u64, Vec<RequestKey>>,
}

impl ReplayGuard {
    /// A guard accepting requests made within `window_ms` of the vault's clock.
    pub fn new(window_ms: u64) -> Self {
        Self {
            window_ms,
            nonces: Mutex::new(Nonces::default()),
        }
    }

    /// Accepts the request of `account` with `nonce` made at `timestamp_ms`,
    /// the vault's clock reading `now_ms`, or says why not. Accepting it
    /// records the nonce; a refusal records nothing.
    pub fn accept(
        &self,
        account: [u8; 32],
        nonce: [u8; 16],
        timestamp_ms: u64,
        now_ms: u64,
    ) -> Result<(), ReplayError> {
        self.accept_at(account, nonce, timestamp_ms, || now_ms)
    }

    /// [`ReplayGuard::accept`], with the clock read by `clock` while the
    /// guard is locked: requests are then decided in the order of their
    /// clock readings. A reading taken before the lock could be older than
    /// the one that made the guard forget a nonce, and let that nonce's
    /// request in once more at the edge of its window.
    pub fn accept_at(
        &self,
        account: [u8; 32],
        nonce: [u8; 16],
        timestamp_ms: u64,
        clock: impl FnOnce() -> u64,
    ) -> Result<(), ReplayError> {
        let mut nonces = self.nonces.lock();
        let now_ms = clock();
        // Both times are untrusted numbers (the request's, a clock): no
        // sum may overflow, whatever they are.
        nonces.forget_before(now_ms);
        if timestamp_ms.saturating_add(self.window_ms) < now_ms {
            return Err(ReplayError::Stale {
                age_ms: now_ms - timestamp_ms,
                window_ms: self.window_ms,
            });
        }
        if timestamp_ms > now_ms.saturating_add(self.window_ms) {
            return Err(ReplayError::FromTheFuture {
                ahead_ms: timestamp_ms - now_ms,
                window_ms: self.window_ms,
            });
        }
        if !nonces.seen.insert((account, nonce)) {
            return Err(ReplayError::Replayed);
        }
        // Once its time is a window behind the clock, it is stale anyway.
        let forget_at = timestamp_ms
            .saturating_add(self.window_ms)
            .saturating_add(1);
        nonces
            .expiries
            .entry(forget_at)
            .or_default()
            .push((account, nonce));
        Ok(())
    }

    /// How many nonces are remembered.
    pub fn remembered(&self) -> usize {
        self.nonces.lock().seen.len()
    }
}

impl Nonces {
    fn forget_before(&mut self, now_ms: u64) {
        let keep = self.expiries.split_off(&now_ms.saturating_add(1));
        for (_, expired) in std::mem::replace(&mut self.expiries, keep) {
            for key in expired {
                self.seen.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u64 = 60_000;
    const NOW: u64 = 1_790_000_000_000;

    #[test]
    fn a_fresh_request_is_accepted_once() {
        let guard = ReplayGuard::new(WINDOW);
        assert_eq!(guard.accept([1; 32], [7; 16], NOW - 1_000, NOW), Ok(()));
        assert_eq!(
            guard.accept([1; 32], [7; 16], NOW - 1_000, NOW + 10),
            Err(ReplayError::Replayed)
        );
        // Another account may use the same nonce.
        assert_eq!(
            guard.accept([2; 32], [7; 16], NOW - 1_000, NOW + 10),
            Ok(())
        );
    }

    #[test]
    fn stale_and_future_requests_are_refused_and_not_remembered() {
        let guard = ReplayGuard::new(WINDOW);
        assert!(matches!(
            guard.accept([1; 32], [1; 16], NOW - WINDOW - 1, NOW),
            Err(ReplayError::Stale { .. })
        ));
        assert!(matches!(
            guard.accept([1; 32], [2; 16], NOW + WINDOW + 1, NOW),
            Err(ReplayError::FromTheFuture { .. })
        ));
        assert_eq!(guard.remembered(), 0);
        assert_eq!(guard.accept([1; 32], [3; 16], NOW - WINDOW, NOW), Ok(()));
    }

    #[test]
    fn times_at_the_extremes_are_refused_without_overflow() {
        let guard = ReplayGuard::new(WINDOW);
        for timestamp in [u64::MAX, u64::MAX - WINDOW, NOW + WINDOW + 1] {
            assert!(matches!(
                guard.accept([1; 32], [1; 16], timestamp, NOW),
                Err(ReplayError::FromTheFuture { .. })
            ));
        }
        assert!(matches!(
            guard.accept([1; 32], [1; 16], 0, NOW),
            Err(ReplayError::Stale { .. })
        ));
        // A clock at the end of time, too.
        assert!(matches!(
            guard.accept([1; 32], [1; 16], 0, u64::MAX),
            Err(ReplayError::Stale { .. })
        ));
        assert_eq!(guard.accept([1; 32], [1; 16], u64::MAX, u64::MAX), Ok(()));
        assert_eq!(
            guard.accept([1; 32], [1; 16], u64::MAX, u64::MAX),
            Err(ReplayError::Replayed)
        );
        // And the guard still works at an ordinary time.
        assert_eq!(guard.accept([1; 32], [2; 16], NOW, NOW), Ok(()));
    }

    #[test]
    fn the_clock_is_read_while_the_guard_is_locked() {
        let guard = ReplayGuard::new(WINDOW);
        let accepted = guard.accept_at([1; 32], [7; 16], NOW, || {
            assert!(
                guard.nonces.try_lock().is_none(),
                "the clock is read under the guard's lock"
            );
            NOW
        });
        assert_eq!(accepted, Ok(()));
    }

    #[test]
    fn nonces_are_forgotten_once_their_requests_are_stale() {
        let guard = ReplayGuard::new(WINDOW);
        guard.accept([1; 32], [7; 16], NOW, NOW).unwrap();
        // Within the window the replay is caught by the nonce...
        assert_eq!(
            guard.accept([1; 32], [7; 16], NOW, NOW + WINDOW),
            Err(ReplayError::Replayed)
        );
        // ...after it, by the clock, and the nonce is no longer kept.
        assert!(matches!(
            guard.accept([1; 32], [7; 16], NOW, NOW + WINDOW + 1),
            Err(ReplayError::Stale { .. })
        ));
        assert_eq!(guard.remembered(), 0);
    }
}
