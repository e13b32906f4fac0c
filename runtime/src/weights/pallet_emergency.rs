//! Weights for `pallet_emergency`: PROVISIONAL, not yet measured.
//!
//! The storage reads and writes below are counted from the pallet's code in
//! each call's most expensive case (the cases its benchmarks set up); the
//! execution times are those measured for the consent pallet's calls of the
//! same shape, with a margin of about half again. `bench/weights.sh`
//! measures `pallet_emergency` and replaces this file.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::Weight};
use core::marker::PhantomData;

/// Weight functions for `pallet_emergency`.
pub struct WeightInfo<T>(PhantomData<T>);
impl<T: frame_system::Config> pallet_emergency::WeightInfo for WeightInfo<T> {
	/// Storage: `Registry::Participants` (r:1 w:0)
	/// Storage: `Emergency::Policies` (r:0 w:1)
	fn set_policy() -> Weight {
		Weight::from_parts(150_000_000, 0)
			.saturating_add(Weight::from_parts(0, 6000))
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Registry::Attestations` (r:c w:0)
	/// Storage: `Emergency::Custodians` (r:0 w:1)
	/// Storage: `Emergency::Threshold` (r:0 w:1)
	fn set_custodians(c: u32, ) -> Weight {
		Weight::from_parts(100_000_000, 0)
			.saturating_add(Weight::from_parts(30_000_000, 0).saturating_mul(c.into()))
			.saturating_add(Weight::from_parts(0, 3000))
			.saturating_add(Weight::from_parts(0, 2700).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(c.into())))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Registry::Participants` (r:1 w:0)
	/// Storage: `Emergency::Policies` (r:1 w:0)
	/// Storage: `Registry::Attestations` (r:6 w:0)
	/// Storage: `Emergency::Threshold` (r:1 w:0)
	/// Storage: `Timestamp::Now` (r:1 w:0)
	/// Storage: `Emergency::Latest` (r:1 w:1)
	/// Storage: `Emergency::NextBreakGlass` (r:1 w:1)
	/// Storage: `Emergency::BreakGlasses` (r:0 w:1)
	fn break_glass() -> Weight {
		Weight::from_parts(300_000_000, 0)
			.saturating_add(Weight::from_parts(0, 30000))
			.saturating_add(T::DbWeight::get().reads(12))
			.saturating_add(T::DbWeight::get().writes(3))
	}
	/// Storage: `Emergency::BreakGlasses` (r:1 w:1)
	/// Storage: `Emergency::Policies` (r:1 w:0)
	/// Storage: `Emergency::Latest` (r:1 w:1)
	fn review() -> Weight {
		Weight::from_parts(150_000_000, 0)
			.saturating_add(Weight::from_parts(0, 10000))
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Registry::Participants` (r:1 w:0)
	/// Storage: `Emergency::Summaries` (r:0 w:1)
	fn set_summary() -> Weight {
		Weight::from_parts(150_000_000, 0)
			.saturating_add(Weight::from_parts(0, 6000))
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Timestamp::Now` (r:1 w:0)
	/// Storage: `Emergency::BreakGlasses` (r:1 w:1)
	/// Storage: `Emergency::Policies` (r:1 w:0)
	/// Storage: `Emergency::Latest` (r:1 w:1)
	fn veto() -> Weight {
		Weight::from_parts(150_000_000, 0)
			.saturating_add(Weight::from_parts(0, 10000))
			.saturating_add(T::DbWeight::get().reads(4))
			.saturating_add(T::DbWeight::get().writes(2))
	}
}
