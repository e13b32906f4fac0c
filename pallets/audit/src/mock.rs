//! A runtime for the audit tests: registry and audit, `u64` accounts; account
//! `VAULT` is an attested organization.

use crate as pallet_audit;
use frame_support::{derive_impl, traits::ConstU32};
use frame_system::EnsureRoot;
use medigate_access_policy::{Role, RoleSet};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

pub const PATIENT: u64 = 1;
pub const DOCTOR: u64 = 2;
pub const VAULT: u64 = 3;
pub const OTHER_VAULT: u64 = 4;
const BOARD: u64 = 10;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Registry: pallet_registry,
        Audit: pallet_audit,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
}

impl pallet_registry::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = EnsureRoot<u64>;
    type WeightInfo = ();
}

/// The most receipts per batch in the mock.
pub const MAX_RECEIPTS: u32 = 8;

impl pallet_audit::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type MaxReceiptsPerBatch = ConstU32<MAX_RECEIPTS>;
    type WeightInfo = ();
}

/// Patient, doctor and two vaults registered; only `VAULT` is an organization.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| {
        System::set_block_number(1);
        for account in [PATIENT, DOCTOR, VAULT, OTHER_VAULT] {
            Registry::register(RuntimeOrigin::signed(account), [account as u8; 32]).unwrap();
        }
        Registry::add_authority(
            RuntimeOrigin::root(),
            BOARD,
            RoleSet::empty().with(Role::Organization),
        )
        .unwrap();
        Registry::attest(
            RuntimeOrigin::signed(BOARD),
            VAULT,
            Role::Organization,
            None,
            None,
        )
        .unwrap();
    });
    ext
}
