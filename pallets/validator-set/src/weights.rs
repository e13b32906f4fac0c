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
    weights::{RuntimeDbWeight, Weight, constants::RocksDbWeight},
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

/// A call that scans `members` validators and makes `reads` and `writes`
/// storage accesses at the database weights `database`.
fn scan_and_access(members: u32, reads: u64, writes: u64, database: RuntimeDbWeight) -> Weight {
    Weight::from_parts(
        BASE_REF_TIME.saturating_add(PER_MEMBER_REF_TIME.saturating_mul(members.into())),
        0,
    )
    .saturating_add(database.reads_writes(reads, writes))
}

impl<T: frame_system::Config> WeightInfo for DatabaseAccessWeight<T> {
    fn add_validator(members: u32) -> Weight {
        scan_and_access(members, 2, 2, T::DbWeight::get())
    }

    fn remove_validator(members: u32) -> Weight {
        scan_and_access(members, 1, 2, T::DbWeight::get())
    }
}

impl WeightInfo for () {
    fn add_validator(members: u32) -> Weight {
        scan_and_access(members, 2, 2, RocksDbWeight::get())
    }

    fn remove_validator(members: u32) -> Weight {
        scan_and_access(members, 1, 2, RocksDbWeight::get())
    }
}
