//! Weights of the consent pallet's calls.
//!
//! The runtime's implementation is generated from the pallet's benchmarks;
//! `()` charges nothing and serves the mock runtime of the unit tests.

use frame_support::weights::Weight;

/// Weight functions needed by the consent pallet.
pub trait WeightInfo {
    /// `grant_access` with `records` records in the scope, when the grantee
    /// already holds `grants` grants of the patient.
    fn grant_access(records: u32, grants: u32) -> Weight;
    /// `request_access` with `records` records in the scope.
    fn request_access(records: u32) -> Weight;
    /// `approve_request` with `records` records in the scope, when the
    /// requester already holds `grants` grants of the patient.
    fn approve_request(records: u32, grants: u32) -> Weight;
    /// `deny_request`, `withdraw_request`.
    fn deny_request() -> Weight;
    /// `revoke_grant`.
    fn revoke_grant() -> Weight;
    /// `add_delegate`, `remove_delegate`, `appoint_guardian`.
    fn set_delegate() -> Weight;
    /// `restrict` with `records` records in the scope.
    fn restrict(records: u32) -> Weight;
    /// `lift_restriction`.
    fn lift_restriction() -> Weight;
}

impl WeightInfo for () {
    fn grant_access(_records: u32, _grants: u32) -> Weight {
        Weight::zero()
    }
    fn request_access(_records: u32) -> Weight {
        Weight::zero()
    }
    fn approve_request(_records: u32, _grants: u32) -> Weight {
        Weight::zero()
    }
    fn deny_request() -> Weight {
        Weight::zero()
    }
    fn revoke_grant() -> Weight {
        Weight::zero()
    }
    fn set_delegate() -> Weight {
        Weight::zero()
    }
    fn restrict(_records: u32) -> Weight {
        Weight::zero()
    }
    fn lift_restriction() -> Weight {
        Weight::zero()
    }
}
