//! Storage migrations of the consent pallet, run once by a runtime upgrade
//! on a chain whose storage is older than the code.

use alloc::collections::btree_map::BTreeMap;
use frame_support::{
    migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};

use crate::{Config, OpenRequests, Pallet, Requests};

/// Version 1 counts each requester's open requests ([`OpenRequests`]), the
/// bound [`Config::MaxOpenRequests`] is checked against. A chain at version
/// 0 has requests but no counts: without this, a requester's old requests
/// would not count, and answering one would free no place.
pub type MigrateToV1<T> = VersionedMigration<
    0,
    1,
    CountOpenRequests<T>,
    Pallet<T>,
    <T as frame_system::Config>::DbWeight,
>;

/// The step of [`MigrateToV1`]: counts the waiting requests by requester.
pub struct CountOpenRequests<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for CountOpenRequests<T> {
    fn on_runtime_upgrade() -> Weight {
        let mut counts = BTreeMap::<T::AccountId, u32>::new();
        let mut read = 0u64;
        for (_, request) in Requests::<T>::iter() {
            read = read.saturating_add(1);
            let count = counts.entry(request.requester).or_default();
            *count = count.saturating_add(1);
        }
        let written = counts.len() as u64;
        for (requester, count) in counts {
            OpenRequests::<T>::insert(requester, count);
        }
        T::DbWeight::get().reads_writes(read, written)
    }
}
