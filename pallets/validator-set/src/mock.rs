//! A minimal runtime for the validator-set tests: accounts are `u64`, session
//! keys are `UintAuthorityId`, governance is root.

use crate as pallet_validator_set;
use frame_support::{
    derive_impl, parameter_types,
    traits::{ConstU32, ConstU64},
};
use frame_system::EnsureRoot;
use sp_runtime::{
    BuildStorage, KeyTypeId,
    testing::UintAuthorityId,
    traits::{ConvertInto, OpaqueKeys},
};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        ValidatorSet: pallet_validator_set,
        Session: pallet_session,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type AccountStore = System;
}

/// Accepts any keys; the tests look only at which validators are chosen.
pub struct TestSessionHandler;
impl pallet_session::SessionHandler<u64> for TestSessionHandler {
    const KEY_TYPE_IDS: &'static [KeyTypeId] = &[sp_runtime::key_types::DUMMY];
    fn on_genesis_session<Ks: OpaqueKeys>(_validators: &[(u64, Ks)]) {}
    fn on_new_session<Ks: OpaqueKeys>(
        _changed: bool,
        _validators: &[(u64, Ks)],
        _queued_validators: &[(u64, Ks)],
    ) {
    }
    fn on_disabled(_validator_index: u32) {}
}

parameter_types! {
    pub const Period: u64 = 1;
    pub const Offset: u64 = 0;
}

impl pallet_session::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type ValidatorId = u64;
    type ValidatorIdOf = ConvertInto;
    type ShouldEndSession = pallet_session::PeriodicSessions<Period, Offset>;
    type NextSessionRotation = pallet_session::PeriodicSessions<Period, Offset>;
    type SessionManager = ValidatorSet;
    type SessionHandler = TestSessionHandler;
    type Keys = UintAuthorityId;
    type DisablingStrategy = ();
    type WeightInfo = ();
    type Currency = Balances;
    type KeyDeposit = ConstU64<0>;
}

/// The largest set the mock accepts.
pub const MAX_VALIDATORS: u32 = 4;

impl pallet_validator_set::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = EnsureRoot<u64>;
    type MaxValidators = ConstU32<MAX_VALIDATORS>;
    type MinValidators = ConstU32<2>;
    type WeightInfo = ();
}

/// Accounts 1, 2 and 3 validate from genesis; 4 to 9 have funds but no keys.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    pallet_balances::GenesisConfig::<Test> {
        balances: (1..10).map(|account| (account, 1_000)).collect(),
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    pallet_validator_set::GenesisConfig::<Test> {
        validators: vec![1, 2, 3],
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    pallet_session::GenesisConfig::<Test> {
        keys: (1..4)
            .map(|account| (account, account, UintAuthorityId(account)))
            .collect(),
        non_authority_keys: vec![],
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// Ends the current session and starts the next one.
pub fn rotate_session() {
    Session::rotate_session();
}

/// Registers session keys for `account`, as its operator would.
pub fn set_keys(account: u64) {
    Session::set_keys(
        RuntimeOrigin::signed(account),
        UintAuthorityId(account),
        vec![],
    )
    .unwrap();
}
