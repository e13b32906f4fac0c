//! The configuration of every pallet in the runtime.

use crate::{
    AccountId, Aura, Balance, Balances, Block, BlockNumber, EXISTENTIAL_DEPOSIT, HOURS, Hash,
    MINUTES, Nonce, PalletInfo, Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason,
    RuntimeHoldReason, RuntimeOrigin, RuntimeTask, SLOT_DURATION, SessionKeys, System, VERSION,
    ValidatorSet,
};
use frame_support::{
    derive_impl,
    dispatch::DispatchClass,
    parameter_types,
    traits::{ConstBool, ConstU8, ConstU32, ConstU64, ConstU128, EitherOfDiverse, VariantCountOf},
    weights::{
        IdentityFee, Weight,
        constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
    },
};
use frame_system::{EnsureRoot, limits};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{Perbill, traits::One};
use sp_version::RuntimeVersion;

/// Share of a block's weight and length that ordinary transactions may use;
/// the rest is kept for operational calls (governance, validator changes).
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
    pub const Version: RuntimeVersion = VERSION;
    /// Half a second of compute per one-second block.
    pub RuntimeBlockWeights: limits::BlockWeights = limits::BlockWeights::with_sensible_defaults(
        Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND / 2, u64::MAX),
        NORMAL_DISPATCH_RATIO,
    );
    pub RuntimeBlockLength: limits::BlockLength = limits::BlockLength::builder()
        .max_length(5 * 1024 * 1024)
        .modify_max_length_for_class(DispatchClass::Normal, |max| {
            *max = NORMAL_DISPATCH_RATIO * *max
        })
        .build();
    /// The generic Substrate address prefix.
    pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
    type Block = Block;
    type BlockWeights = RuntimeBlockWeights;
    type BlockLength = RuntimeBlockLength;
    type AccountId = AccountId;
    type Nonce = Nonce;
    type Hash = Hash;
    type DbWeight = ParityDbWeight;
    type Version = Version;
    type AccountData = pallet_balances::AccountData<Balance>;
    type SS58Prefix = SS58Prefix;
    type MaxConsumers = ConstU32<16>;
}

impl pallet_timestamp::Config for Runtime {
    /// Milliseconds since the Unix epoch.
    type Moment = u64;
    type OnTimestampSet = Aura;
    type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
    type WeightInfo = ();
}

/// The largest validator set of the proof-of-authority network.
pub const MAX_VALIDATORS: u32 = 32;

impl pallet_aura::Config for Runtime {
    type AuthorityId = AuraId;
    type DisabledValidators = ();
    type MaxAuthorities = ConstU32<MAX_VALIDATORS>;
    type AllowMultipleBlocksPerSlot = ConstBool<false>;
    type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = ();
    type MaxAuthorities = ConstU32<MAX_VALIDATORS>;
    type MaxNominators = ConstU32<0>;
    type MaxSetIdSessionEntries = ConstU64<0>;
    type KeyOwnerProof = sp_core::Void;
    type EquivocationReportSystem = ();
}

parameter_types! {
    /// A session lasts ten minutes: a validator-set change takes effect within
    /// two sessions.
    pub const SessionPeriod: BlockNumber = 10 * MINUTES;
    pub const SessionOffset: BlockNumber = 0;
}

impl pallet_session::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type ValidatorId = AccountId;
    type ValidatorIdOf = sp_runtime::traits::ConvertInto;
    type ShouldEndSession = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
    type NextSessionRotation = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
    type SessionManager = ValidatorSet;
    type SessionHandler = <SessionKeys as sp_runtime::traits::OpaqueKeys>::KeyTypeIdProviders;
    type Keys = SessionKeys;
    type DisablingStrategy = ();
    type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
    type Currency = Balances;
    type KeyDeposit = ConstU128<0>;
}

/// The council instance of `pallet-collective`.
pub type CouncilCollective = pallet_collective::Instance1;

/// Governance of the network: root (the sudo key, on development chains only)
/// or two thirds of the consortium council.
pub type EnsureGovernance = EitherOfDiverse<
    EnsureRoot<AccountId>,
    pallet_collective::EnsureProportionAtLeast<AccountId, CouncilCollective, 2, 3>,
>;

impl pallet_validator_set::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = EnsureGovernance;
    type MaxValidators = ConstU32<MAX_VALIDATORS>;
    type MinValidators = ConstU32<1>;
    type WeightInfo = pallet_validator_set::weights::DatabaseAccessWeight<Runtime>;
}

impl pallet_balances::Config for Runtime {
    type MaxLocks = ConstU32<50>;
    type MaxReserves = ();
    type ReserveIdentifier = [u8; 8];
    type Balance = Balance;
    type RuntimeEvent = RuntimeEvent;
    type DustRemoval = ();
    type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
    type AccountStore = System;
    type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
    type FreezeIdentifier = RuntimeFreezeReason;
    type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RuntimeFreezeReason = RuntimeFreezeReason;
    type DoneSlashHandler = ();
}

parameter_types! {
    pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type OnChargeTransaction = FungibleAdapter<Balances, ()>;
    type OperationalFeeMultiplier = ConstU8<5>;
    type WeightToFee = IdentityFee<Balance>;
    type LengthToFee = IdentityFee<Balance>;
    type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
    type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_utility::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type PalletsOrigin = crate::OriginCaller;
    type WeightInfo = pallet_utility::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
    pub const CouncilMotionDuration: BlockNumber = HOURS;
    pub MaxCouncilProposalWeight: Weight = Perbill::from_percent(50) * RuntimeBlockWeights::get().max_block;
}

impl pallet_collective::Config<CouncilCollective> for Runtime {
    type RuntimeOrigin = RuntimeOrigin;
    type Proposal = RuntimeCall;
    type RuntimeEvent = RuntimeEvent;
    type MotionDuration = CouncilMotionDuration;
    type MaxProposals = ConstU32<100>;
    type MaxMembers = ConstU32<MAX_VALIDATORS>;
    type DefaultVote = pallet_collective::PrimeDefaultVote;
    type WeightInfo = pallet_collective::weights::SubstrateWeight<Runtime>;
    type SetMembersOrigin = EnsureGovernance;
    type MaxProposalWeight = MaxCouncilProposalWeight;
    type DisapproveOrigin = EnsureGovernance;
    type KillOrigin = EnsureGovernance;
    type Consideration = ();
}

impl pallet_registry::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = EnsureGovernance;
    /// A day for a newcomer to register once a hospital sponsored it.
    type SponsorshipPeriod = ConstU32<{ 24 * HOURS }>;
    /// A hospital enrols up to 500 newcomers a day.
    type MaxSponsorships = ConstU32<500>;
    type MaxKeyHistory = ConstU32<32>;
    type WeightInfo = crate::weights::pallet_registry::WeightInfo<Runtime>;
}

/// The registry, as the records pallet asks it who is registered.
pub struct RegisteredParticipants;

impl pallet_records::Participants<AccountId> for RegisteredParticipants {
    fn is_registered(account: &AccountId) -> bool {
        pallet_registry::Pallet::<Runtime>::is_registered(account)
    }
}

impl frame_support::traits::Contains<AccountId> for RegisteredParticipants {
    fn contains(account: &AccountId) -> bool {
        pallet_registry::Pallet::<Runtime>::is_registered(account)
    }
}

/// The calls participants make without fees: those of MediGate's own pallets.
/// Registering is not among them for a newcomer, who is not yet a
/// participant, unless it is sponsored ([`SponsoredRegistration`]).
pub struct MediGateCalls;

/// A sponsored newcomer's registration: fee-less, like a participant's calls.
pub struct SponsoredRegistration;

impl frame_support::traits::ContainsPair<AccountId, RuntimeCall> for SponsoredRegistration {
    fn contains(who: &AccountId, call: &RuntimeCall) -> bool {
        matches!(
            call,
            RuntimeCall::Registry(pallet_registry::Call::register { .. })
        ) && pallet_registry::Pallet::<Runtime>::is_sponsored(who)
    }
}

impl frame_support::traits::Contains<RuntimeCall> for MediGateCalls {
    fn contains(call: &RuntimeCall) -> bool {
        matches!(
            call,
            RuntimeCall::Registry(_)
                | RuntimeCall::Records(_)
                | RuntimeCall::Consent(_)
                | RuntimeCall::Audit(_)
                | RuntimeCall::Emergency(_)
        )
    }
}

impl pallet_fee_waiver::Config for Runtime {
    type Participants = RegisteredParticipants;
    type WaivedCalls = MediGateCalls;
    type Newcomers = SponsoredRegistration;
    /// On average one fee-less call per second and account: enough for a
    /// vault that commits receipts every block, far from filling blocks.
    type MaxWaivedPerWindow = ConstU32<600>;
    type Window = ConstU32<{ 10 * MINUTES }>;
    type WeightInfo = crate::weights::pallet_fee_waiver::WeightInfo<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = RegisteredParticipants;
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_fee_waiver::BenchmarkHelper<AccountId, RuntimeCall> for RegisteredParticipants {
    fn waived_call(who: &AccountId) -> RuntimeCall {
        let key = [7; 32];
        pallet_registry::Pallet::<Runtime>::register(RuntimeOrigin::signed(who.clone()), key)
            .expect("a new account registers");
        RuntimeCall::Registry(pallet_registry::Call::rotate_key {
            encryption_key: [8; 32],
        })
    }
}

impl pallet_records::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Participants = RegisteredParticipants;
    type Permissions = crate::Consent;
    /// An import of a few thousand resources anchors in a handful of calls.
    type MaxBatch = ConstU32<1000>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::Consent;
    type WeightInfo = crate::weights::pallet_records::WeightInfo<Runtime>;
}

impl pallet_consent::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Time = crate::Timestamp;
    type GovernanceOrigin = EnsureGovernance;
    type MaxScopeRecords = ConstU32<64>;
    type MaxGrantsPerGrantee = ConstU32<16>;
    type MaxRestrictions = ConstU32<16>;
    type MaxOpenRequests = ConstU32<64>;
    type Emergency = crate::Emergency;
    type WeightInfo = crate::weights::pallet_consent::WeightInfo<Runtime>;
}

impl pallet_emergency::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Time = crate::Timestamp;
    type GovernanceOrigin = EnsureGovernance;
    type MaxGuardians = ConstU32<8>;
    /// Room for a consortium's custodians; a threshold of 3 of 5 is typical.
    type MaxCustodians = ConstU32<16>;
    type MaxBreakGlassesPerDay = ConstU32<200>;
    type WeightInfo = crate::weights::pallet_emergency::WeightInfo<Runtime>;
}

impl pallet_audit::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    /// Accessors sign their reads with their account keys (sr25519).
    type RequestSignature = pallet_audit::Sr25519RequestSignature;
    // A vault commits once per block: a batch must hold a busy vault's
    // reads of one second (~240 bytes per receipt).
    type MaxReceiptsPerBatch = ConstU32<5000>;
    type WeightInfo = crate::weights::pallet_audit::WeightInfo<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = ReadSigner;
}

/// Signs the audit benchmarks' reads with sr25519 keys it makes in the
/// benchmark's keystore.
#[cfg(feature = "runtime-benchmarks")]
pub struct ReadSigner;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_audit::BenchmarkHelper<AccountId, pallet_audit::Sr25519RequestSignature>
    for ReadSigner
{
    fn signed(index: u32, message: &[u8]) -> (AccountId, pallet_audit::Sr25519RequestSignature) {
        const KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"mgrd");
        let seed = alloc::format!("//accessor{index}");
        let public = sp_io::crypto::sr25519_generate(KEY_TYPE, Some(seed.into_bytes()));
        let signature = sp_io::crypto::sr25519_sign(KEY_TYPE, &public, message)
            .expect("the benchmark's keystore holds the key it made");
        (
            public.into(),
            pallet_audit::Sr25519RequestSignature(signature.into()),
        )
    }
}

impl pallet_sudo::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}
