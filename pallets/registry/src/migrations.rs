//! Storage migrations of the registry pallet, run once by a runtime upgrade
//! on a chain whose storage is older than the code.

use alloc::vec::Vec;
use frame_support::{
    migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};

use crate::{Config, KeyHistory, Pallet, Participants};

/// Version 1 keeps only each participant's latest
/// [`Config::MaxKeyHistory`] keys in [`KeyHistory`], as every rotation
/// since does. A chain at version 0 kept every key.
pub type MigrateToV1<T> =
    VersionedMigration<0, 1, PruneKeyHistory<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;

/// The step of [`MigrateToV1`]: removes the keys older than the latest
/// [`Config::MaxKeyHistory`] of each participant.
pub struct PruneKeyHistory<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for PruneKeyHistory<T> {
    fn on_runtime_upgrade() -> Weight {
        let kept = T::MaxKeyHistory::get();
        let mut read = 0u64;
        let mut stale = Vec::new();
        for (who, version, _) in KeyHistory::<T>::iter() {
            read = read.saturating_add(2);
            let current = Participants::<T>::get(&who).map_or(0, |p| p.key_version);
            if version.saturating_add(kept) <= current {
                stale.push((who, version));
            }
        }
        let written = stale.len() as u64;
        for (who, version) in stale {
            KeyHistory::<T>::remove(who, version);
        }
        T::DbWeight::get().reads_writes(read, written)
    }
}
