//! Weights of the emergency pallet's calls.
//!
//! `()` weighs nothing and is for tests; a runtime uses weights measured
//! with the pallet's benchmarks.

use frame_support::weights::Weight;

/// The weight of each call.
pub trait WeightInfo {
    /// `set_policy`.
    fn set_policy() -> Weight;
    /// `set_custodians` with `custodians` custodians.
    fn set_custodians(custodians: u32) -> Weight;
    /// `break_glass`.
    fn break_glass() -> Weight;
    /// `review`.
    fn review() -> Weight;
    /// `set_summary`.
    fn set_summary() -> Weight;
    /// `veto`.
    fn veto() -> Weight;
}

impl WeightInfo for () {
    fn set_policy() -> Weight {
        Weight::zero()
    }
    fn set_custodians(_custodians: u32) -> Weight {
        Weight::zero()
    }
    fn break_glass() -> Weight {
        Weight::zero()
    }
    fn review() -> Weight {
        Weight::zero()
    }
    fn set_summary() -> Weight {
        Weight::zero()
    }
    fn veto() -> Weight {
        Weight::zero()
    }
}
