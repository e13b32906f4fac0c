//! Weights of MediGate's pallets, measured from the pallets' benchmarks run
//! against this runtime and written by `bench/weights.sh` (do not edit by
//! hand; rerun the script after changing a pallet's calls or storage).

pub mod pallet_audit;
pub mod pallet_consent;
pub mod pallet_emergency;
pub mod pallet_fee_waiver;
pub mod pallet_records;
pub mod pallet_registry;
