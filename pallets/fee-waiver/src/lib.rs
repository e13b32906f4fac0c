//! # Fee waiver
//!
//! Patients should not need money to manage their own health records. This
//! pallet makes the MediGate calls of registered participants fee-less, and
//! keeps that from becoming a way to flood the chain: each account has a
//! budget of fee-less calls per window of blocks, and a call over budget is
//! refused by the transaction pool before it takes any block space.
//!
//! ## Terms
//! - **Participant**: an account the runtime's [`Config::Participants`] knows
//!   (MediGate's registry).
//! - **Waived call**: a call the runtime lists in [`Config::WaivedCalls`]
//!   (MediGate's own pallets), signed by a participant. It pays no fee.
//! - **Window**: [`Config::Window`] blocks; window `n` covers blocks
//!   `n * Window .. (n + 1) * Window`. A participant may make
//!   [`Config::MaxWaivedPerWindow`] waived calls per window.
//!
//! Every other transaction (a stranger's, or a participant's call outside
//! MediGate's pallets, such as a transfer) pays its fee as usual.
//!
//! ## Use
//! The pallet has no calls. Its work is done by the transaction extension
//! [`WaiveFeesForParticipants`], which wraps the runtime's fee-charging
//! extension: the runtime puts `WaiveFeesForParticipants<Runtime,
//! ChargeTransactionPayment<Runtime>>` where `ChargeTransactionPayment` was.
//! The wrapper encodes exactly like the extension it wraps, so wallets and
//! clients sign transactions as before.
//!
//! A waived call over budget is invalid with
//! `InvalidTransaction::Custom(`[`BUDGET_EXHAUSTED`]`)`.
//!
//! A newcomer the runtime's [`Config::Newcomers`] admits (a sponsored
//! account's registration) makes that call without a fee too, within the
//! same budget. Waived operational calls (revocations, restrictions,
//! vetoes) go first in the pool ([`waived_priority`]).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod extension;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use frame_support::pallet_prelude::*;
use frame_support::traits::{Contains, ContainsPair};
use frame_system::pallet_prelude::*;
use sp_runtime::traits::Saturating;

pub use extension::{WaiveFeesForParticipants, Waiver, waived_priority};
pub use pallet::*;
pub use weights::WeightInfo;

/// The `InvalidTransaction::Custom` code of a waived call made after the
/// account used up its budget for the current window.
pub const BUDGET_EXHAUSTED: u8 = 1;

/// How many waived calls an account made in one window.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct WindowUsage<BlockNumber> {
    /// The window's number (its first block divided by the window length).
    pub window: BlockNumber,
    /// Waived calls made in that window.
    pub calls: u32,
}

/// What the runtime provides to measure the waiver.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, RuntimeCall> {
    /// Makes `who` a participant and returns a call that is waived for them.
    fn waived_call(who: &AccountId) -> RuntimeCall;
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// The pallet's configuration.
    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// The accounts whose waived calls pay no fee: the registered participants.
        type Participants: Contains<Self::AccountId>;
        /// The calls that are fee-less for participants.
        type WaivedCalls: Contains<<Self as frame_system::Config>::RuntimeCall>;
        /// Calls of accounts that are not participants yet but are fee-less
        /// all the same (a sponsored newcomer's registration), within the
        /// same per-account budget.
        type Newcomers: ContainsPair<Self::AccountId, <Self as frame_system::Config>::RuntimeCall>;
        /// How many waived calls one account may make per window.
        #[pallet::constant]
        type MaxWaivedPerWindow: Get<u32>;
        /// The window's length in blocks (at least 1).
        #[pallet::constant]
        type Window: Get<BlockNumberFor<Self>>;
        /// Weights of the waiver's checks.
        type WeightInfo: WeightInfo;
        /// Sets up the benchmark.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId, <Self as frame_system::Config>::RuntimeCall>;
    }

    /// Waived calls per account in its latest window. An entry from an earlier
    /// window counts as zero calls; it is overwritten by the account's next
    /// waived call.
    #[pallet::storage]
    pub type Usage<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, WindowUsage<BlockNumberFor<T>>, OptionQuery>;
}

impl<T: Config> Pallet<T> {
    /// The number of the window that contains block `now`.
    pub fn window_of(now: BlockNumberFor<T>) -> BlockNumberFor<T> {
        now / T::Window::get().max(1u32.into())
    }

    /// The waived calls `who` has made in the current window.
    pub fn calls_in_window(who: &T::AccountId) -> u32 {
        let current = Self::window_of(frame_system::Pallet::<T>::block_number());
        match Usage::<T>::get(who) {
            Some(usage) if usage.window == current => usage.calls,
            _ => 0,
        }
    }

    /// How many more waived calls `who` may make in the current window.
    pub fn waived_calls_left(who: &T::AccountId) -> u32 {
        T::MaxWaivedPerWindow::get().saturating_sub(Self::calls_in_window(who))
    }

    /// Counts one waived call of `who`, or fails when the budget is used up.
    pub(crate) fn use_waiver(who: &T::AccountId) -> Result<(), InvalidTransaction> {
        let calls = Self::calls_in_window(who);
        if calls >= T::MaxWaivedPerWindow::get() {
            return Err(InvalidTransaction::Custom(BUDGET_EXHAUSTED));
        }
        let window = Self::window_of(frame_system::Pallet::<T>::block_number());
        Usage::<T>::insert(
            who,
            WindowUsage {
                window,
                calls: calls.saturating_add(1),
            },
        );
        Ok(())
    }

    /// Whether `who` is a participant calling a waived call, or a newcomer
    /// making a call it may make without a fee.
    pub fn is_waived(who: &T::AccountId, call: &<T as frame_system::Config>::RuntimeCall) -> bool {
        (T::WaivedCalls::contains(call) && T::Participants::contains(who))
            || T::Newcomers::contains(who, call)
    }

    /// The first block of the window after the current one: when an account
    /// over budget may make waived calls again.
    pub fn next_window_starts() -> BlockNumberFor<T> {
        let now = frame_system::Pallet::<T>::block_number();
        Self::window_of(now)
            .saturating_add(1u32.into())
            .saturating_mul(T::Window::get().max(1u32.into()))
    }
}
