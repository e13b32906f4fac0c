//! A minimal runtime for the records tests. Accounts below 100 are
//! registered; `DELEGATE` manages `PATIENT`'s records; `LAB` may write lab
//! results to `PATIENT`.

use crate::{self as pallet_records, Category, Participants, WritePermissions};
use frame_support::{derive_impl, traits::ConstU32};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

pub const PATIENT: u64 = 1;
pub const OTHER_PATIENT: u64 = 2;
pub const DELEGATE: u64 = 3;
pub const LAB: u64 = 4;
pub const STRANGER: u64 = 5;
pub const UNREGISTERED: u64 = 100;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Records: pallet_records,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
}

std::thread_local! {
    /// Accounts registered by the benchmark helper, beyond those below 100.
    static REGISTERED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Write grants given by the benchmark helper, beyond `LAB`'s.
    static WRITERS: std::cell::RefCell<Vec<(u64, u64, Category)>> = const { std::cell::RefCell::new(Vec::new()) };
}

pub struct TestParticipants;
impl Participants<u64> for TestParticipants {
    fn is_registered(account: &u64) -> bool {
        *account < 100 || REGISTERED.with(|registered| registered.borrow().contains(account))
    }
}

pub struct TestPermissions;
impl WritePermissions<u64> for TestPermissions {
    fn is_delegate(account: &u64, patient: &u64) -> bool {
        (*account, *patient) == (DELEGATE, PATIENT)
    }
    fn may_write(author: &u64, patient: &u64, category: Category) -> bool {
        (*author, *patient, category) == (LAB, PATIENT, Category::Labs)
            || WRITERS.with(|writers| writers.borrow().contains(&(*author, *patient, category)))
    }
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for TestPermissions {
    fn set_up_writer(author: &u64, patient: &u64, category: Category) {
        REGISTERED.with(|registered| registered.borrow_mut().extend([*author, *patient]));
        WRITERS.with(|writers| writers.borrow_mut().push((*author, *patient, category)));
    }
}

/// The most records per batch in the mock.
pub const MAX_BATCH: u32 = 8;

impl pallet_records::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Participants = TestParticipants;
    type Permissions = TestPermissions;
    type MaxBatch = ConstU32<MAX_BATCH>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = TestPermissions;
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
