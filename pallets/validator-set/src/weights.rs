//! Weights of the validator-set calls.
//!
//! Both calls read and write two storage values (`Validators`, `SetChanged`)
//! and read one `Session::NextKeys` entry, and scan a set of at most
//! `MaxValidators` accounts. The `()` implementation charges those storage
//! accesses at the runtime's database weights plus a per-member cost for the
//! scan; it is what the runtime uses until measured weights replace it.

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{Weight, constants::RocksDbWeight},
};

/// Weight functions needed by the validator-set pallet.
pub trait WeightInfo {
    /// `add_validator` with a set of `members` validators.
    fn add_validator(members: u32) -> Weight;
    /// `remove_validator` with a set of `members` validators.
    fn remove_validator(members: u32) -> Weight;
}

/// Weights charged at the database weights of the runtime `T`.
pub struct DatabaseAccessWeight<T>(PhantomData<T>);

/// Reference time of comparing one member of the set (an account id scan).
const PER_MEMBER_REF_TIME: u64 = 50_000;
/// Fixed reference time of either call, outside storage access.
const BASE_REF_TIME: u64 = 10_000_000;

impl<T: frame_system::Config> WeightInfo for DatabaseAccessWeight<T> {
    fn add_validator(members: u32) -> Weight {
        Weight::from_parts(BASE_REF_TIME, 0)
            .saturating_add(Weight::from_parts(
                PER_MEMBER_REF_TIME.saturating_mul(members.into()),
                0,
            ))
            .saturating_add(T::DbWeight::get().reads_writes(2, 2))
    }

    fn remove_validator(members: u32) -> Weight {
        Weight::from_parts(BASE_REF_TIME, 0)
            .saturating_add(Weight::from_parts(
                PER_MEMBER_REF_TIME.saturating_mul(members.into()),
                0,
            ))
            .saturating_add(T::DbWeight::get().reads_writes(1, 2))
    }
}

impl WeightInfo for () {
    fn add_validator(members: u32) -> Weight {
        Weight::from_parts(BASE_REF_TIME, 0)
            .saturating_add(Weight::from_parts(
                PER_MEMBER_REF_TIME.saturating_mul(members.into()),
                0,
            ))
            .saturating_add(RocksDbWeight::get().reads_writes(2, 2))
    }

    fn remove_validator(members: u32) -> Weight {
        Weight::from_parts(BASE_REF_TIME, 0)
            .saturating_add(Weight::from_parts(
                PER_MEMBER_REF_TIME.saturating_mul(members.into()),
                0,
            ))
            .saturating_add(RocksDbWeight::get().reads_writes(1, 2))
    }
}
