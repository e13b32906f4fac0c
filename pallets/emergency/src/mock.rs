//! A runtime for the emergency tests: registry, timestamp and emergency, with
//! `u64` accounts and root as governance.

use crate as pallet_emergency;
use frame_support::{derive_impl, traits::ConstU32};
use frame_system::EnsureRoot;
use medigate_access_policy::{Role, RoleSet};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

pub const PATIENT: u64 = 1;
pub const PARAMEDIC: u64 = 2;
pub const DOCTOR: u64 = 3;
pub const GUARDIAN: u64 = 4;
pub const STRANGER: u64 = 5;
/// Five attested custodians.
pub const CUSTODIANS: [u64; 5] = [20, 21, 22, 23, 24];
/// Registered, not attested as a custodian.
pub const NOT_CUSTODIAN: u64 = 30;
pub const BOARD: u64 = 10;
pub const UNREGISTERED: u64 = 99;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Timestamp: pallet_timestamp,
        Registry: pallet_registry,
        Emergency: pallet_emergency,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
}

#[derive_impl(pallet_timestamp::config_preludes::TestDefaultConfig)]
impl pallet_timestamp::Config for Test {}

impl pallet_registry::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = EnsureRoot<u64>;
    type SponsorshipPeriod = frame_support::traits::ConstU64<10>;
    type MaxSponsorships = frame_support::traits::ConstU32<3>;
    type MaxKeyHistory = frame_support::traits::ConstU32<4>;
    type WeightInfo = ();
}

/// The most guardians a policy names in the mock.
pub const MAX_GUARDIANS: u32 = 3;
/// How many times a responder breaks the glass per day in the mock.
pub const MAX_BREAK_GLASSES_PER_DAY: u32 = 2;

impl pallet_emergency::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Time = Timestamp;
    type GovernanceOrigin = EnsureRoot<u64>;
    type MaxGuardians = ConstU32<MAX_GUARDIANS>;
    type MaxCustodians = ConstU32<7>;
    type MaxBreakGlassesPerDay = ConstU32<MAX_BREAK_GLASSES_PER_DAY>;
    type WeightInfo = ();
}

/// Chain time at the start of every test (milliseconds).
pub const START: u64 = 1_000_000;

/// Everyone registered; the paramedic attested as emergency responder, the
/// doctor as provider, the custodians as custodians; time `START`.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| {
        System::set_block_number(1);
        Timestamp::set_timestamp(START);
        let everyone = [
            PATIENT,
            PARAMEDIC,
            DOCTOR,
            GUARDIAN,
            STRANGER,
            NOT_CUSTODIAN,
        ];
        for account in everyone.into_iter().chain(CUSTODIANS) {
            Registry::register(RuntimeOrigin::signed(account), [account as u8; 32]).unwrap();
        }
        Registry::add_authority(
            RuntimeOrigin::root(),
            BOARD,
            RoleSet::empty()
                .with(Role::EmergencyResponder)
                .with(Role::Provider)
                .with(Role::Custodian),
        )
        .unwrap();
        let attest = |account, role| {
            let licence = (role == Role::Provider).then(|| sp_core::H256::repeat_byte(7));
            Registry::attest(RuntimeOrigin::signed(BOARD), account, role, licence, None).unwrap()
        };
        attest(PARAMEDIC, Role::EmergencyResponder);
        attest(DOCTOR, Role::Provider);
        for custodian in CUSTODIANS {
            attest(custodian, Role::Custodian);
        }
    });
    ext
}
