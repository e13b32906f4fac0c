//! A runtime for the consent tests: registry, records, timestamp and consent,
//! with `u64` accounts and root as governance.

use crate as pallet_consent;
use frame_support::{derive_impl, traits::ConstU32};
use frame_system::EnsureRoot;
use medigate_access_policy::{Role, RoleSet};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

pub const PATIENT: u64 = 1;
pub const DOCTOR: u64 = 2;
pub const GUARDIAN: u64 = 3;
pub const RESEARCHER: u64 = 4;
pub const STRANGER: u64 = 5;
pub const BOARD: u64 = 10;
pub const UNREGISTERED: u64 = 99;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Timestamp: pallet_timestamp,
        Registry: pallet_registry,
        Records: pallet_records,
        Consent: pallet_consent,
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

/// The registry, as the records pallet sees it.
pub struct RegisteredParticipants;
impl pallet_records::Participants<u64> for RegisteredParticipants {
    fn is_registered(account: &u64) -> bool {
        pallet_registry::Pallet::<Test>::is_registered(account)
    }
}

impl pallet_records::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Participants = RegisteredParticipants;
    type Permissions = Consent;
    type MaxBatch = ConstU32<16>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = Consent;
    type WeightInfo = ();
}

/// The most records a scope may list in the mock.
pub const MAX_SCOPE_RECORDS: u32 = 4;
/// The most live grants per patient and grantee in the mock.
pub const MAX_GRANTS: u32 = 3;
/// The most requests a requester has waiting in the mock.
pub const MAX_OPEN_REQUESTS: u32 = 2;

impl pallet_consent::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Time = Timestamp;
    type GovernanceOrigin = EnsureRoot<u64>;
    type MaxScopeRecords = ConstU32<MAX_SCOPE_RECORDS>;
    type MaxGrantsPerGrantee = ConstU32<MAX_GRANTS>;
    type MaxRestrictions = ConstU32<2>;
    type MaxOpenRequests = ConstU32<MAX_OPEN_REQUESTS>;
    type Emergency = ();
    type WeightInfo = ();
}

/// Chain time at the start of every test (milliseconds).
pub const START: u64 = 1_000_000;

/// Patient, doctor (provider), guardian and researcher registered; the
/// doctor attested as provider, the researcher as researcher; time `START`.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| {
        System::set_block_number(1);
        Timestamp::set_timestamp(START);
        for account in [PATIENT, DOCTOR, GUARDIAN, RESEARCHER, STRANGER] {
            Registry::register(RuntimeOrigin::signed(account), [account as u8; 32]).unwrap();
        }
        Registry::add_authority(
            RuntimeOrigin::root(),
            BOARD,
            RoleSet::empty().with(Role::Provider).with(Role::Researcher),
        )
        .unwrap();
        Registry::attest(
            RuntimeOrigin::signed(BOARD),
            DOCTOR,
            Role::Provider,
            Some([1; 32].into()),
            None,
        )
        .unwrap();
        Registry::attest(
            RuntimeOrigin::signed(BOARD),
            RESEARCHER,
            Role::Researcher,
            None,
            None,
        )
        .unwrap();
    });
    ext
}
