//! Weights of the fee waiver's checks.
//!
//! The runtime's implementation is generated from the pallet's benchmarks;
//! `()` charges nothing and serves the mock runtime of the unit tests.

use frame_support::weights::Weight;

/// Weight functions needed by the fee waiver.
pub trait WeightInfo {
    /// The extension's work for one transaction: whether the call is waived
    /// for its signer, and counting it against the signer's budget.
    fn waive_fee() -> Weight;
}

impl WeightInfo for () {
    fn waive_fee() -> Weight {
        Weight::zero()
    }
}
