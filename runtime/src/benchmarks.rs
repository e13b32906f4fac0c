//! The pallets measured by the runtime's benchmarks (`tools/benchmark`).

pub use frame_system_benchmarking::Pallet as SystemBench;

frame_benchmarking::define_benchmarks!(
    [frame_system, SystemBench::<crate::Runtime>]
    [pallet_registry, crate::Registry]
    [pallet_records, crate::Records]
    [pallet_consent, crate::Consent]
    [pallet_audit, crate::Audit]
    [pallet_fee_waiver, crate::FeeWaiver]
    [pallet_emergency, crate::Emergency]
);

impl frame_system_benchmarking::Config for crate::Runtime {}
