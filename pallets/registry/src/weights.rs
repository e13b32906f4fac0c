//! Weights of the registry's calls.
//!
//! The runtime's implementation is generated from the pallet's benchmarks;
//! `()` charges nothing and serves the mock runtime of the unit tests.

use frame_support::weights::Weight;

/// Weight functions needed by the registry.
pub trait WeightInfo {
    /// `register`.
    fn register() -> Weight;
    /// `rotate_key`.
    fn rotate_key() -> Weight;
    /// `add_authority`.
    fn add_authority() -> Weight;
    /// `remove_authority`.
    fn remove_authority() -> Weight;
    /// `attest`.
    fn attest() -> Weight;
    /// `revoke_attestation`.
    fn revoke_attestation() -> Weight;
    /// `sponsor`, with the sponsor's open sponsorships full of ended ones.
    fn sponsor() -> Weight;
}

impl WeightInfo for () {
    fn register() -> Weight {
        Weight::zero()
    }
    fn rotate_key() -> Weight {
        Weight::zero()
    }
    fn add_authority() -> Weight {
        Weight::zero()
    }
    fn remove_authority() -> Weight {
        Weight::zero()
    }
    fn attest() -> Weight {
        Weight::zero()
    }
    fn sponsor() -> Weight {
        Weight::zero()
    }
    fn revoke_attestation() -> Weight {
        Weight::zero()
    }
}
