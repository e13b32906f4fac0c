//! A minimal runtime for the registry tests: accounts are `u64`, governance
//! is root.

use crate as pallet_registry;
use frame_support::derive_impl;
use frame_system::EnsureRoot;
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Registry: pallet_registry,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
}

/// How long a sponsorship lasts in the mock, in blocks.
pub const SPONSORSHIP_PERIOD: u64 = 10;
/// How many open sponsorships a sponsor holds in the mock.
pub const MAX_SPONSORSHIPS: u32 = 3;
/// How many keys the mock's key history keeps.
pub const MAX_KEY_HISTORY: u32 = 3;

impl pallet_registry::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = EnsureRoot<u64>;
    type SponsorshipPeriod = frame_support::traits::ConstU64<SPONSORSHIP_PERIOD>;
    type MaxSponsorships = frame_support::traits::ConstU32<MAX_SPONSORSHIPS>;
    type MaxKeyHistory = frame_support::traits::ConstU32<MAX_KEY_HISTORY>;
    type WeightInfo = ();
}

/// An empty chain at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}
