//! Properties of the replay guard over any sequence of requests with a clock
//! that never goes back: no signed request (account, nonce, time) is ever
//! accepted twice, nothing outside the freshness window is accepted, and the
//! guard remembers no more than it accepted; times at the extremes of u64
//! are decided like any others.

use std::collections::HashSet;

use medigate_vault::replay::ReplayGuard;
use proptest::prelude::*;

const WINDOW: u64 = 1_000;

/// (account, nonce, request time offset, clock advance): small domains so
/// that collisions happen.
fn requests() -> impl Strategy<Value = Vec<(u8, u8, i64, u64)>> {
    proptest::collection::vec((0u8..3, 0u8..4, -1_500i64..1_500, 0u64..400), 1..200)
}

proptest! {
    #[test]
    fn nothing_is_accepted_twice_or_outside_the_window(requests in requests()) {
        let guard = ReplayGuard::new(WINDOW);
        let mut accepted = HashSet::new();
        let mut now = 1_000_000u64;
        for (account, nonce, offset, advance) in requests {
            now += advance;
            let timestamp = now.checked_add_signed(offset).unwrap();
            if guard.accept([account; 32], [nonce; 16], timestamp, now).is_ok() {
                prop_assert!(accepted.insert((account, nonce, timestamp)), "accepted twice");
                prop_assert!(timestamp.abs_diff(now) <= WINDOW);
            }
            prop_assert!(guard.remembered() <= accepted.len());
        }
    }

    /// Any time a request claims and any clock reading, however extreme:
    /// no panic, and the decision is the window's.
    #[test]
    fn any_times_are_decided_without_panic(
        times in proptest::collection::vec((any::<u64>(), any::<u64>()), 1..50)
    ) {
        let guard = ReplayGuard::new(WINDOW);
        for (nonce, (timestamp, now)) in times.into_iter().enumerate() {
            let nonce = (nonce as u128).to_le_bytes();
            let accepted = guard.accept([0; 32], nonce, timestamp, now).is_ok();
            prop_assert_eq!(accepted, timestamp.abs_diff(now) <= WINDOW);
        }
    }
}
