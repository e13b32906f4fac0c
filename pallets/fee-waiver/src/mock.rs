//! A runtime for the fee waiver's tests: balances and real fee payment
//! (`ChargeTransactionPayment`) behind the waiver. Accounts are `u64`;
//! [`PATIENT`] and [`DOCTOR`] are participants, [`STRANGER`] is not;
//! `System::remark` stands for MediGate's calls (waived), a transfer for any
//! other call.

use crate as pallet_fee_waiver;
use frame_support::{
    derive_impl,
    traits::{ConstU32, ConstU64, Contains, ContainsPair},
};
use pallet_transaction_payment::{ChargeTransactionPayment, FungibleAdapter};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        TransactionPayment: pallet_transaction_payment,
        FeeWaiver: pallet_fee_waiver,
    }
);

/// A participant.
pub const PATIENT: u64 = 1;
/// Another participant.
pub const DOCTOR: u64 = 2;
/// An account that is not a participant.
pub const STRANGER: u64 = 9;
/// An account that is not a participant but may make one call fee-less
/// (a sponsored newcomer's registration: here, `System::remark_with_event`).
pub const NEWCOMER: u64 = 7;
/// What every account holds at genesis.
pub const ENDOWMENT: u64 = 1_000_000_000_000_000;
/// Waived calls per window.
pub const BUDGET: u32 = 3;
/// The window's length in blocks.
pub const WINDOW: u64 = 10;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type AccountStore = System;
}

#[derive_impl(pallet_transaction_payment::config_preludes::TestDefaultConfig)]
impl pallet_transaction_payment::Config for Test {
    type OnChargeTransaction = FungibleAdapter<Balances, ()>;
    type WeightToFee = frame_support::weights::IdentityFee<u64>;
    type LengthToFee = frame_support::weights::IdentityFee<u64>;
}

std::thread_local! {
    /// Participants added by a test, besides [`PATIENT`] and [`DOCTOR`].
    static MORE_PARTICIPANTS: core::cell::RefCell<std::collections::BTreeSet<u64>> =
        Default::default();
}

/// [`PATIENT`], [`DOCTOR`] and those added with [`MockParticipants::add`].
pub struct MockParticipants;

impl MockParticipants {
    /// Makes `who` a participant.
    pub fn add(who: u64) {
        MORE_PARTICIPANTS.with(|set| set.borrow_mut().insert(who));
    }
}

impl Contains<u64> for MockParticipants {
    fn contains(who: &u64) -> bool {
        matches!(*who, PATIENT | DOCTOR) || MORE_PARTICIPANTS.with(|set| set.borrow().contains(who))
    }
}

/// `System::remark`, and `System::set_heap_pages` for an operational call.
pub struct Remarks;

impl Contains<RuntimeCall> for Remarks {
    fn contains(call: &RuntimeCall) -> bool {
        matches!(
            call,
            RuntimeCall::System(
                frame_system::Call::remark { .. } | frame_system::Call::set_heap_pages { .. }
            )
        )
    }
}

/// [`NEWCOMER`]'s `System::remark_with_event`.
pub struct Newcomer;

impl ContainsPair<u64, RuntimeCall> for Newcomer {
    fn contains(who: &u64, call: &RuntimeCall) -> bool {
        *who == NEWCOMER
            && matches!(
                call,
                RuntimeCall::System(frame_system::Call::remark_with_event { .. })
            )
    }
}

impl pallet_fee_waiver::Config for Test {
    type Participants = MockParticipants;
    type WaivedCalls = Remarks;
    type Newcomers = Newcomer;
    type MaxWaivedPerWindow = ConstU32<BUDGET>;
    type Window = ConstU64<WINDOW>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = Remarks;
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64, RuntimeCall> for Remarks {
    fn waived_call(who: &u64) -> RuntimeCall {
        MockParticipants::add(*who);
        remark()
    }
}

/// The extension as the runtime uses it: the waiver around fee payment.
pub type Extension = crate::WaiveFeesForParticipants<Test, ChargeTransactionPayment<Test>>;

/// The extension with no tip.
pub fn extension() -> Extension {
    ChargeTransactionPayment::<Test>::from(0).into()
}

/// A waived call.
pub fn remark() -> RuntimeCall {
    RuntimeCall::System(frame_system::Call::remark {
        remark: b"anchor".to_vec(),
    })
}

/// A newcomer's fee-less call.
pub fn registration() -> RuntimeCall {
    RuntimeCall::System(frame_system::Call::remark_with_event {
        remark: b"register".to_vec(),
    })
}

/// A waived operational call (as a revocation is).
pub fn operational() -> RuntimeCall {
    RuntimeCall::System(frame_system::Call::set_heap_pages { pages: 64 })
}

/// A call that is never waived.
pub fn transfer() -> RuntimeCall {
    RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
        dest: STRANGER,
        value: 10,
    })
}

/// A chain at block 1 where every account holds [`ENDOWMENT`].
pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![
            (PATIENT, ENDOWMENT),
            (DOCTOR, ENDOWMENT),
            (STRANGER, ENDOWMENT),
            (NEWCOMER, ENDOWMENT),
        ],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}
