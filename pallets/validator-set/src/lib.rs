//! # Validator set
//!
//! The MediGate chain is a permissioned proof-of-authority network: blocks are
//! authored by Aura and finalised by GRANDPA, and the accounts allowed to do so
//! are listed here. Only governance (the consortium's council, or root on a
//! development chain) may change the list.
//!
//! ## Terms
//! - **Validator**: an account whose session keys (Aura and GRANDPA) author and
//!   finalise blocks.
//! - **Session**: the period after which `pallet-session` asks this pallet for
//!   the next validator set. A change made during session `n` takes effect at
//!   the start of session `n + 2`, as with every `pallet-session` runtime.
//!
//! ## Calls
//! - [`Pallet::add_validator`]: governance adds an account to the set. The
//!   account must have registered its session keys (`Session::set_keys`) first,
//!   so that a validator without keys can never stall block production.
//! - [`Pallet::remove_validator`]: governance removes an account. The set never
//!   shrinks below [`Config::MinValidators`].
//!
//! ## Invariants
//! - The set holds no duplicates and at most [`Config::MaxValidators`] members.
//! - Removal never leaves fewer than [`Config::MinValidators`] members.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod weights;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use frame_support::{pallet_prelude::*, traits::EnsureOrigin};
use frame_system::pallet_prelude::*;
use sp_staking::SessionIndex;

pub use pallet::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
    use super::*;

    /// The pallet's configuration.
    #[pallet::config]
    pub trait Config:
        frame_system::Config
        + pallet_session::Config<ValidatorId = <Self as frame_system::Config>::AccountId>
    {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

        /// Who may add or remove validators: the consortium's governance.
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// The largest validator set the chain accepts.
        #[pallet::constant]
        type MaxValidators: Get<u32>;

        /// The smallest validator set the chain accepts; removal below it fails.
        #[pallet::constant]
        type MinValidators: Get<u32>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// The accounts that author and finalise blocks from the next session on.
    #[pallet::storage]
    pub type Validators<T: Config> =
        StorageValue<_, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

    /// Whether [`Validators`] changed since `pallet-session` last read it.
    #[pallet::storage]
    pub type SetChanged<T: Config> = StorageValue<_, bool, ValueQuery>;

    /// The genesis validator set. It may be empty (the default) for tooling;
    /// a chain spec that is meant to produce blocks lists its validators.
    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// The validators of the first sessions.
        pub validators: Vec<T::AccountId>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            let mut seen = Vec::with_capacity(self.validators.len());
            for validator in &self.validators {
                assert!(
                    !seen.contains(validator),
                    "genesis validator set holds a duplicate"
                );
                seen.push(validator.clone());
            }
            let bounded: BoundedVec<_, T::MaxValidators> = seen
                .try_into()
                .expect("genesis validator set is larger than MaxValidators");
            Validators::<T>::put(bounded);
        }
    }

    /// Events of the validator set.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An account joins the validator set at the start of the session after next.
        ValidatorAdded {
            /// The new validator.
            validator: T::AccountId,
        },
        /// An account leaves the validator set at the start of the session after next.
        ValidatorRemoved {
            /// The former validator.
            validator: T::AccountId,
        },
    }

    /// Errors of the validator set.
    #[pallet::error]
    pub enum Error<T> {
        /// The account is already a validator.
        AlreadyValidator,
        /// The account is not a validator.
        NotValidator,
        /// The validator set is full (`MaxValidators`); remove one first.
        TooManyValidators,
        /// Removing this validator would leave fewer than `MinValidators`.
        TooFewValidators,
        /// The account has not registered session keys (`Session::set_keys`); a
        /// validator without keys could not author or finalise blocks.
        NoSessionKeys,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Add `validator` to the set from the session after next.
        ///
        /// The origin must be governance; `validator` must have set its session keys.
        #[pallet::call_index(0)]
        #[pallet::weight(<T as Config>::WeightInfo::add_validator(T::MaxValidators::get()))]
        pub fn add_validator(origin: OriginFor<T>, validator: T::AccountId) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            let mut validators = Validators::<T>::get();
            ensure!(
                !validators.contains(&validator),
                Error::<T>::AlreadyValidator
            );
            ensure!(
                pallet_session::NextKeys::<T>::contains_key(&validator),
                Error::<T>::NoSessionKeys
            );
            validators
                .try_push(validator.clone())
                .map_err(|_| Error::<T>::TooManyValidators)?;

            Validators::<T>::put(validators);
            SetChanged::<T>::put(true);
            Self::deposit_event(Event::ValidatorAdded { validator });
            Ok(())
        }

        /// Remove `validator` from the set from the session after next.
        ///
        /// The origin must be governance; the set keeps at least `MinValidators`.
        #[pallet::call_index(1)]
        #[pallet::weight(<T as Config>::WeightInfo::remove_validator(T::MaxValidators::get()))]
        pub fn remove_validator(origin: OriginFor<T>, validator: T::AccountId) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            let mut validators = Validators::<T>::get();
            let position = validators
                .iter()
                .position(|member| member == &validator)
                .ok_or(Error::<T>::NotValidator)?;
            ensure!(
                validators.len() as u32 > T::MinValidators::get(),
                Error::<T>::TooFewValidators
            );
            validators.remove(position);

            Validators::<T>::put(validators);
            SetChanged::<T>::put(true);
            Self::deposit_event(Event::ValidatorRemoved { validator });
            Ok(())
        }
    }
}

impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
    fn new_session(_new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
        if SetChanged::<T>::take() {
            Some(Validators::<T>::get().into_inner())
        } else {
            None
        }
    }

    fn new_session_genesis(_new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
        Some(Validators::<T>::get().into_inner())
    }

    fn end_session(_end_index: SessionIndex) {}

    fn start_session(_start_index: SessionIndex) {}
}
