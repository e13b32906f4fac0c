//! # The MediGate runtime
//!
//! The state machine of the MediGate chain: FRAME pallets composed into one
//! runtime, compiled to WebAssembly and executed by every node. It holds
//! accounts and balances, the proof-of-authority validator set and the
//! consortium's governance; MediGate's own pallets (identities, record anchors,
//! consent, audit) join it as they are written.
//!
//! Invariant: nothing in this runtime stores health data. Records live
//! encrypted off chain; the chain keeps only ids, keys, commitments and rules.
//!
//! - [`configs`]: the configuration of every pallet.
//! - [`apis`]: the runtime APIs the node and clients call.
//! - [`genesis`]: the genesis presets behind the `dev` and `local` chain specs.

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` expands to very deep types.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

// Before `apis`: the benchmark list macros it uses are defined here.
#[cfg(feature = "runtime-benchmarks")]
#[macro_use]
mod benchmarks;
pub mod apis;
pub mod configs;
pub mod genesis;
pub mod weights;

use sp_runtime::{
    MultiAddress, MultiSignature, generic, impl_opaque_keys,
    traits::{BlakeTwo256, IdentifyAccount, Verify},
};
use sp_version::RuntimeVersion;

pub use frame_support::weights::Weight;

/// A signature of an extrinsic (sr25519, ed25519 or ecdsa).
pub type Signature = MultiSignature;

/// An account id: the public key of the account's signing key.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// The balance of an account.
pub type Balance = u128;

/// The number of transactions an account has sent.
pub type Nonce = u32;

/// A block number.
pub type BlockNumber = u32;

/// A block or state hash.
pub type Hash = sp_core::H256;

/// The address format of extrinsics.
pub type Address = MultiAddress<AccountId, ()>;

/// A block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// A block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// The checks every signed transaction passes before dispatch.
pub type TxExtension = (
    frame_system::AuthorizeCall<Runtime>,
    frame_system::CheckNonZeroSender<Runtime>,
    frame_system::CheckSpecVersion<Runtime>,
    frame_system::CheckTxVersion<Runtime>,
    frame_system::CheckGenesis<Runtime>,
    frame_system::CheckEra<Runtime>,
    frame_system::CheckNonce<Runtime>,
    frame_system::CheckWeight<Runtime>,
    pallet_fee_waiver::WaiveFeesForParticipants<
        Runtime,
        pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
    >,
    frame_system::WeightReclaim<Runtime>,
);

/// An extrinsic as it is sent to the chain.
pub type UncheckedExtrinsic =
    generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload a sender signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Dispatches extrinsics to the pallets.
pub type Executive = frame_executive::Executive<
    Runtime,
    Block,
    frame_system::ChainContext<Runtime>,
    Runtime,
    AllPalletsWithSystem,
    Migrations,
>;

/// The storage migrations a runtime upgrade runs, each once: a pallet whose
/// storage is already at the version a migration writes skips it, so a
/// chain started from this runtime's genesis runs none.
pub type Migrations = (
    pallet_consent::migrations::MigrateToV1<Runtime>,
    pallet_registry::migrations::MigrateToV1<Runtime>,
);

/// Types the node needs without knowing the runtime's details.
pub mod opaque {
    use super::*;

    pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

    /// An opaque block header.
    pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
    /// An opaque block.
    pub type Block = generic::Block<Header, UncheckedExtrinsic>;
}

impl_opaque_keys! {
    /// The keys a validator registers for a session: Aura to author blocks,
    /// GRANDPA to finalise them.
    pub struct SessionKeys {
        /// Block authoring key (sr25519).
        pub aura: Aura,
        /// Finality voting key (ed25519).
        pub grandpa: Grandpa,
    }
}

/// The runtime's version. Bump `spec_version` with every change of logic.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
    spec_name: alloc::borrow::Cow::Borrowed("medigate"),
    impl_name: alloc::borrow::Cow::Borrowed("medigate"),
    authoring_version: 1,
    spec_version: 112,
    impl_version: 1,
    apis: apis::RUNTIME_API_VERSIONS,
    transaction_version: 1,
    system_version: 1,
};

/// Target block time. Aura authors one block per slot of this length.
pub const MILLISECS_PER_BLOCK: u64 = 1000;

/// The Aura slot duration; it cannot change once the chain has started.
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;

/// Blocks per minute at the target block time.
pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);

/// Blocks per hour at the target block time.
pub const HOURS: BlockNumber = MINUTES * 60;

/// The smallest unit of the chain's token is a "pico"; one unit is 10^12 of them.
pub const UNIT: Balance = 1_000_000_000_000;

/// The balance below which an account is reaped.
pub const EXISTENTIAL_DEPOSIT: Balance = UNIT / 1000;

#[frame_support::runtime]
mod runtime {
    /// The MediGate runtime.
    #[runtime::runtime]
    #[runtime::derive(
        RuntimeCall,
        RuntimeEvent,
        RuntimeError,
        RuntimeOrigin,
        RuntimeFreezeReason,
        RuntimeHoldReason,
        RuntimeSlashReason,
        RuntimeLockId,
        RuntimeTask,
        RuntimeViewFunction
    )]
    pub struct Runtime;

    /// Accounts, blocks, events.
    #[runtime::pallet_index(0)]
    pub type System = frame_system;

    /// Block time, set by the block author.
    #[runtime::pallet_index(1)]
    pub type Timestamp = pallet_timestamp;

    /// The proof-of-authority validator set, changed by governance.
    #[runtime::pallet_index(2)]
    pub type ValidatorSet = pallet_validator_set;

    /// Session keys and rotation of the validator set.
    #[runtime::pallet_index(3)]
    pub type Session = pallet_session;

    /// Block authoring in round-robin slots.
    #[runtime::pallet_index(4)]
    pub type Aura = pallet_aura;

    /// Block finality.
    #[runtime::pallet_index(5)]
    pub type Grandpa = pallet_grandpa;

    /// Balances of the chain's token.
    #[runtime::pallet_index(6)]
    pub type Balances = pallet_balances;

    /// Transaction fees.
    #[runtime::pallet_index(7)]
    pub type TransactionPayment = pallet_transaction_payment;

    /// Batches of calls.
    #[runtime::pallet_index(8)]
    pub type Utility = pallet_utility;

    /// The consortium council: the governance of the permissioned network.
    #[runtime::pallet_index(9)]
    pub type Council = pallet_collective<Instance1>;

    /// A root key, present only in development chain specs.
    #[runtime::pallet_index(10)]
    pub type Sudo = pallet_sudo;

    /// Participants, encryption keys and role attestations.
    #[runtime::pallet_index(20)]
    pub type Registry = pallet_registry;

    /// Anchors of encrypted records (content ids, never data).
    #[runtime::pallet_index(21)]
    pub type Records = pallet_records;

    /// Consent: grants, access requests, delegates, restrictions.
    #[runtime::pallet_index(22)]
    pub type Consent = pallet_consent;

    /// Access receipts, committed in Merkle batches.
    #[runtime::pallet_index(23)]
    pub type Audit = pallet_audit;

    /// Fee-less MediGate calls for participants, within a budget per account.
    #[runtime::pallet_index(24)]
    pub type FeeWaiver = pallet_fee_waiver;

    /// Emergency access: policies, custodians, break-glass grants, reviews.
    #[runtime::pallet_index(25)]
    pub type Emergency = pallet_emergency;
}
