//! # Consent
//!
//! Who may read or write which of a patient's records, for which purpose,
//! until when. Patients (or the guardians they delegate to) grant access,
//! answer access requests, revoke grants and set restrictions; the chain
//! answers every access question with [`Pallet::check_access`], the function
//! behind the `ConsentApi::check_access` runtime API that vaults call before
//! serving a ciphertext.
//!
//! ## Terms
//! - **Grant**: a patient's permission for one grantee: a scope (all records,
//!   some categories, or listed records), one HL7 purpose of use, actions
//!   (read, write) and a validity window `[not_before, expires_at)` in
//!   milliseconds of chain time. Revoked grants stay on chain, marked revoked.
//! - **Access request**: a registered participant asks a patient for access,
//!   with a commitment to its justification (never the text itself). The
//!   patient approves it — possibly narrowing the scope — which creates a
//!   grant, or denies it. A requester has at most
//!   [`Config::MaxOpenRequests`] requests waiting, and withdraws one to file
//!   another, so that no requester grows a patient's inbox without end.
//! - **Delegate**: an account that manages a patient's consent (a guardian for
//!   a child, or for a patient who cannot act). The patient appoints and
//!   dismisses delegates; governance may appoint a guardian.
//! - **Restriction**: a patient's standing "no" for one accessor or for
//!   everyone, over a scope. It overrides every grant.
//!
//! The decision itself is [`medigate_access_policy::decide`]: default deny,
//! deny overrides, expiry honoured at decision time.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod migrations;
pub mod runtime_api;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use frame_support::{pallet_prelude::*, traits::Time};
use frame_system::pallet_prelude::*;
pub use medigate_access_policy::{
    AccessRequest, Accessor, Action, ActionSet, Category, CategorySet, Decision, GrantTerms,
    Purpose, Reason, Restriction, Scope,
};
use pallet_records::ContentId;
use sp_core::H256;

pub use pallet::*;
pub use weights::WeightInfo;

/// The id of a grant.
pub type GrantId = u64;
/// The id of an access request.
pub type RequestId = u64;
/// Chain time in milliseconds since the Unix epoch.
pub type Moment = u64;

/// A scope as stored on chain: record lists are bounded.
pub type RecordScope<T> = Scope<BoundedVec<ContentId, <T as Config>::MaxScopeRecords>>;
/// A grant as stored on chain.
pub type GrantOf<T> = GrantTerms<
    <T as frame_system::Config>::AccountId,
    BoundedVec<ContentId, <T as Config>::MaxScopeRecords>,
    Moment,
>;
/// A restriction as stored on chain.
pub type RestrictionOf<T> = Restriction<
    <T as frame_system::Config>::AccountId,
    BoundedVec<ContentId, <T as Config>::MaxScopeRecords>,
>;

/// An access request waiting for the patient's answer.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct PendingRequest<AccountId, Scope, BlockNumber> {
    /// Who asks.
    pub requester: AccountId,
    /// Whom.
    pub patient: AccountId,
    /// For which records.
    pub scope: Scope,
    /// For which purpose.
    pub purpose: Purpose,
    /// For which actions.
    pub actions: ActionSet,
    /// A salted hash of the requester's justification.
    pub justification: H256,
    /// When it was filed.
    pub requested_at: BlockNumber,
}

/// A pending request as stored on chain.
pub type PendingRequestOf<T> =
    PendingRequest<<T as frame_system::Config>::AccountId, RecordScope<T>, BlockNumberFor<T>>;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::vec::Vec;

    /// The pallet's configuration.
    #[pallet::config]
    pub trait Config:
        frame_system::Config + pallet_registry::Config + pallet_records::Config
    {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

        /// The chain's clock (milliseconds since the Unix epoch).
        type Time: Time<Moment = Moment>;

        /// Who may appoint a guardian for a patient who cannot act.
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// The most records a scope may list.
        #[pallet::constant]
        type MaxScopeRecords: Get<u32>;

        /// The most live grants one patient may hold for one grantee.
        #[pallet::constant]
        type MaxGrantsPerGrantee: Get<u32>;

        /// The most restrictions one patient may set.
        #[pallet::constant]
        type MaxRestrictions: Get<u32>;

        /// The most requests one requester may have waiting for an answer
        /// (a requester withdraws one to file another).
        #[pallet::constant]
        type MaxOpenRequests: Get<u32>;

        /// Running emergency (break-glass) grants, which `check_access`
        /// weighs after the patient's grants (`()`: none).
        type Emergency: medigate_access_policy::EmergencyGrants<Self::AccountId, Moment>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// The layout of the pallet's storage; a runtime upgrade runs the
    /// [`crate::migrations`] from the chain's version to this one.
    pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// The id the next grant gets.
    #[pallet::storage]
    pub type NextGrantId<T: Config> = StorageValue<_, GrantId, ValueQuery>;

    /// The id the next access request gets.
    #[pallet::storage]
    pub type NextRequestId<T: Config> = StorageValue<_, RequestId, ValueQuery>;

    /// Grants, by id (revoked ones included).
    #[pallet::storage]
    pub type Grants<T: Config> = StorageMap<_, Twox64Concat, GrantId, GrantOf<T>>;

    /// The live grants of a patient to a grantee.
    #[pallet::storage]
    pub type GrantsOf<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        T::AccountId,
        BoundedVec<GrantId, T::MaxGrantsPerGrantee>,
        ValueQuery,
    >;

    /// Access requests waiting for an answer.
    #[pallet::storage]
    pub type Requests<T: Config> = StorageMap<_, Twox64Concat, RequestId, PendingRequestOf<T>>;

    /// How many of each requester's requests wait for an answer (at most
    /// [`Config::MaxOpenRequests`]).
    #[pallet::storage]
    pub type OpenRequests<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    /// Delegates, by patient.
    #[pallet::storage]
    pub type Delegates<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Blake2_128Concat, T::AccountId, ()>;

    /// Restrictions, by patient.
    #[pallet::storage]
    pub type Restrictions<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        BoundedVec<RestrictionOf<T>, T::MaxRestrictions>,
        ValueQuery,
    >;

    /// Events of the consent pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A patient granted access.
        AccessGranted {
            /// The grant.
            grant: GrantId,
            /// The patient.
            patient: T::AccountId,
            /// The grantee.
            grantee: T::AccountId,
            /// The purpose.
            purpose: Purpose,
            /// The end of validity.
            expires_at: Moment,
        },
        /// Someone asked a patient for access.
        AccessRequested {
            /// The request.
            request: RequestId,
            /// The patient.
            patient: T::AccountId,
            /// Who asks.
            requester: T::AccountId,
            /// For which purpose.
            purpose: Purpose,
        },
        /// A request was approved; the grant it created is in `AccessGranted`.
        RequestApproved {
            /// The request.
            request: RequestId,
            /// The grant it created.
            grant: GrantId,
        },
        /// A request was denied.
        RequestDenied {
            /// The request.
            request: RequestId,
        },
        /// A requester withdrew its request.
        RequestWithdrawn {
            /// The request.
            request: RequestId,
        },
        /// A grant was revoked.
        GrantRevoked {
            /// The grant.
            grant: GrantId,
        },
        /// A patient gained a delegate.
        DelegateAdded {
            /// The patient.
            patient: T::AccountId,
            /// The delegate.
            delegate: T::AccountId,
        },
        /// A patient lost a delegate.
        DelegateRemoved {
            /// The patient.
            patient: T::AccountId,
            /// The former delegate.
            delegate: T::AccountId,
        },
        /// A patient set a restriction.
        Restricted {
            /// The patient.
            patient: T::AccountId,
        },
        /// A patient lifted a restriction.
        RestrictionLifted {
            /// The patient.
            patient: T::AccountId,
        },
    }

    /// Errors of the consent pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// The patient is not a registered participant.
        UnknownPatient,
        /// The caller is not a registered participant.
        NotRegistered,
        /// The grantee is not a registered participant.
        UnknownGrantee,
        /// Only the patient or their delegate may do this.
        NotPatientOrDelegate,
        /// A patient needs no grant to their own records.
        SelfGrant,
        /// The grant or request names no action.
        NoActions,
        /// The scope names no category or no record.
        EmptyScope,
        /// A record of the scope is not anchored to this patient.
        UnknownRecordInScope,
        /// The validity window is empty (`expires_at <= not_before`).
        EmptyWindow,
        /// The validity window ends in the past.
        WindowInThePast,
        /// The patient holds too many live grants for this grantee; revoke one.
        TooManyGrants,
        /// The requester holds no current attestation of a role the purpose requires.
        RoleMissing,
        /// No such request (never filed, or already answered).
        UnknownRequest,
        /// The requester has too many requests waiting for an answer;
        /// withdraw one first.
        TooManyOpenRequests,
        /// Only the requester withdraws its request.
        NotTheRequester,
        /// The approved scope is wider than the requested one.
        WiderThanRequested,
        /// No such grant.
        UnknownGrant,
        /// The grant is already revoked.
        AlreadyRevoked,
        /// The account is already a delegate of this patient.
        AlreadyDelegate,
        /// The account is not a delegate of this patient.
        NotDelegate,
        /// The patient has too many restrictions; lift one first.
        TooManyRestrictions,
        /// No restriction at this index.
        UnknownRestriction,
        /// An id counter is exhausted.
        IdOverflow,
        /// Only the patient (or governance, for a patient who cannot act)
        /// may lift the patient's restrictions; a delegate may not.
        OnlyThePatientLifts,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Grants `grantee` the `actions` on `scope` of `patient`'s records for
        /// `purpose`, from `not_before` (default: now) until `expires_at`.
        #[pallet::call_index(0)]
        #[pallet::weight(<T as Config>::WeightInfo::grant_access(
            Pallet::<T>::records_in(scope),
            Pallet::<T>::most_prior_grants(),
        ))]
        #[allow(clippy::too_many_arguments)]
        pub fn grant_access(
            origin: OriginFor<T>,
            patient: T::AccountId,
            grantee: T::AccountId,
            scope: RecordScope<T>,
            purpose: Purpose,
            actions: ActionSet,
            not_before: Option<Moment>,
            expires_at: Moment,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            Self::ensure_manages(&who, &patient)?;
            ensure!(grantee != patient, Error::<T>::SelfGrant);
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&grantee),
                Error::<T>::UnknownGrantee
            );
            let not_before = not_before.unwrap_or_else(T::Time::now);
            let records = Self::records_in(&scope);
            let (_, prior_grants) = Self::create_grant(
                patient, grantee, scope, purpose, actions, not_before, expires_at,
            )?;
            // Charged for the worst case, refunded down to the grants there were.
            Ok(Some(<T as Config>::WeightInfo::grant_access(
                records,
                prior_grants,
            ))
            .into())
        }

        /// Asks `patient` for `actions` on `scope` for `purpose`. The caller
        /// must hold a role the purpose requires; `justification` is a salted
        /// hash of the reason given to the patient off chain.
        #[pallet::call_index(1)]
        #[pallet::weight(<T as Config>::WeightInfo::request_access(Pallet::<T>::records_in(scope)))]
        pub fn request_access(
            origin: OriginFor<T>,
            patient: T::AccountId,
            scope: RecordScope<T>,
            purpose: Purpose,
            actions: ActionSet,
            justification: H256,
        ) -> DispatchResult {
            let requester = ensure_signed(origin)?;
            ensure!(!actions.is_empty(), Error::<T>::NoActions);
            Self::ensure_scope_not_empty(&scope)?;
            ensure!(requester != patient, Error::<T>::SelfGrant);
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&requester),
                Error::<T>::NotRegistered
            );
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&patient),
                Error::<T>::UnknownPatient
            );
            ensure!(
                pallet_registry::Pallet::<T>::roles_of(&requester)
                    .intersects(purpose.permitted_roles()),
                Error::<T>::RoleMissing
            );
            Self::ensure_records_of(&patient, &scope)?;
            let open = OpenRequests::<T>::get(&requester);
            ensure!(
                open < T::MaxOpenRequests::get(),
                Error::<T>::TooManyOpenRequests
            );
            let request = NextRequestId::<T>::get();
            let next = request.checked_add(1).ok_or(Error::<T>::IdOverflow)?;

            NextRequestId::<T>::put(next);
            OpenRequests::<T>::insert(&requester, open + 1);
            Requests::<T>::insert(
                request,
                PendingRequest {
                    requester: requester.clone(),
                    patient: patient.clone(),
                    scope,
                    purpose,
                    actions,
                    justification,
                    requested_at: frame_system::Pallet::<T>::block_number(),
                },
            );
            Self::deposit_event(Event::AccessRequested {
                request,
                patient,
                requester,
                purpose,
            });
            Ok(())
        }

        /// Approves `request` until `expires_at`, for the requested scope or a
        /// narrower `scope`; creates the grant.
        #[pallet::call_index(2)]
        #[pallet::weight(<T as Config>::WeightInfo::approve_request(
            T::MaxScopeRecords::get(),
            Pallet::<T>::most_prior_grants(),
        ))]
        pub fn approve_request(
            origin: OriginFor<T>,
            request: RequestId,
            scope: Option<RecordScope<T>>,
            expires_at: Moment,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            let pending = Requests::<T>::get(request).ok_or(Error::<T>::UnknownRequest)?;
            Self::ensure_manages(&who, &pending.patient)?;
            let scope = match scope {
                None => pending.scope.clone(),
                Some(narrowed) => {
                    ensure!(
                        Self::is_within(&pending.patient, &narrowed, &pending.scope),
                        Error::<T>::WiderThanRequested
                    );
                    narrowed
                }
            };

            // Charged for the widest scope and the most grants, refunded down
            // to the request's scope and the grants there were.
            let records = Self::records_in(&pending.scope);
            let (grant, prior_grants) = Self::create_grant(
                pending.patient,
                pending.requester.clone(),
                scope,
                pending.purpose,
                pending.actions,
                T::Time::now(),
                expires_at,
            )?;
            Self::close_request(request, &pending.requester);
            Self::deposit_event(Event::RequestApproved { request, grant });
            Ok(Some(<T as Config>::WeightInfo::approve_request(
                records,
                prior_grants,
            ))
            .into())
        }

        /// Denies `request`.
        #[pallet::call_index(3)]
        #[pallet::weight(<T as Config>::WeightInfo::deny_request())]
        pub fn deny_request(origin: OriginFor<T>, request: RequestId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let pending = Requests::<T>::get(request).ok_or(Error::<T>::UnknownRequest)?;
            Self::ensure_manages(&who, &pending.patient)?;

            Self::close_request(request, &pending.requester);
            Self::deposit_event(Event::RequestDenied { request });
            Ok(())
        }

        /// Revokes `grant`. Every later decision denies what it allowed; what
        /// the grantee already read cannot be recalled.
        #[pallet::call_index(4)]
        #[pallet::weight((<T as Config>::WeightInfo::revoke_grant(), DispatchClass::Operational))]
        pub fn revoke_grant(origin: OriginFor<T>, grant: GrantId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut terms = Grants::<T>::get(grant).ok_or(Error::<T>::UnknownGrant)?;
            Self::ensure_manages(&who, &terms.patient)?;
            ensure!(!terms.revoked, Error::<T>::AlreadyRevoked);

            terms.revoked = true;
            Grants::<T>::insert(grant, terms);
            Self::deposit_event(Event::GrantRevoked { grant });
            Ok(())
        }

        /// Makes `delegate` a manager of the caller's consent.
        #[pallet::call_index(5)]
        #[pallet::weight(<T as Config>::WeightInfo::set_delegate())]
        pub fn add_delegate(origin: OriginFor<T>, delegate: T::AccountId) -> DispatchResult {
            let patient = ensure_signed(origin)?;
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&patient),
                Error::<T>::UnknownPatient
            );
            Self::insert_delegate(patient, delegate)
        }

        /// Dismisses `delegate` of `patient`. By the patient or governance.
        #[pallet::call_index(6)]
        #[pallet::weight((<T as Config>::WeightInfo::set_delegate(), DispatchClass::Operational))]
        pub fn remove_delegate(
            origin: OriginFor<T>,
            patient: T::AccountId,
            delegate: T::AccountId,
        ) -> DispatchResult {
            if <T as Config>::GovernanceOrigin::try_origin(origin.clone()).is_err() {
                let who = ensure_signed(origin)?;
                ensure!(who == patient, Error::<T>::NotPatientOrDelegate);
            }
            ensure!(
                Delegates::<T>::contains_key(&patient, &delegate),
                Error::<T>::NotDelegate
            );

            Delegates::<T>::remove(&patient, &delegate);
            Self::deposit_event(Event::DelegateRemoved { patient, delegate });
            Ok(())
        }

        /// Governance appoints `guardian` to manage the consent of `patient`,
        /// who cannot act (a child, an incapacitated adult).
        #[pallet::call_index(7)]
        #[pallet::weight(<T as Config>::WeightInfo::set_delegate())]
        pub fn appoint_guardian(
            origin: OriginFor<T>,
            patient: T::AccountId,
            guardian: T::AccountId,
        ) -> DispatchResult {
            <T as Config>::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&patient),
                Error::<T>::UnknownPatient
            );
            Self::insert_delegate(patient, guardian)
        }

        /// Forbids `accessor` (or everyone but the patient, delegates
        /// included, if `None`) to access `scope` of `patient`'s records,
        /// whatever the grants. The patient or a delegate may restrict.
        #[pallet::call_index(8)]
        #[pallet::weight((
            <T as Config>::WeightInfo::restrict(Pallet::<T>::records_in(scope)),
            DispatchClass::Operational
        ))]
        pub fn restrict(
            origin: OriginFor<T>,
            patient: T::AccountId,
            accessor: Option<T::AccountId>,
            scope: RecordScope<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::ensure_manages(&who, &patient)?;
            Self::ensure_scope_not_empty(&scope)?;
            let mut restrictions = Restrictions::<T>::get(&patient);
            restrictions
                .try_push(Restriction {
                    patient: patient.clone(),
                    accessor,
                    scope,
                })
                .map_err(|_| Error::<T>::TooManyRestrictions)?;

            Restrictions::<T>::insert(&patient, restrictions);
            Self::deposit_event(Event::Restricted { patient });
            Ok(())
        }

        /// Lifts the restriction at `index` of `patient`'s restrictions. By
        /// the patient alone, or governance (a court-appointed guardian's
        /// decision for a patient who cannot act): a restriction binds the
        /// patient's delegates, so they cannot lift it.
        #[pallet::call_index(9)]
        #[pallet::weight(<T as Config>::WeightInfo::lift_restriction())]
        pub fn lift_restriction(
            origin: OriginFor<T>,
            patient: T::AccountId,
            index: u32,
        ) -> DispatchResult {
            if <T as Config>::GovernanceOrigin::try_origin(origin.clone()).is_err() {
                let who = ensure_signed(origin)?;
                ensure!(
                    pallet_registry::Pallet::<T>::is_registered(&patient),
                    Error::<T>::UnknownPatient
                );
                ensure!(who == patient, Error::<T>::OnlyThePatientLifts);
            }
            let mut restrictions = Restrictions::<T>::get(&patient);
            ensure!(
                (index as usize) < restrictions.len(),
                Error::<T>::UnknownRestriction
            );

            restrictions.remove(index as usize);
            Restrictions::<T>::insert(&patient, restrictions);
            Self::deposit_event(Event::RestrictionLifted { patient });
            Ok(())
        }

        /// Withdraws `request`, which waits for an answer. By its requester
        /// alone; it frees a place under [`Config::MaxOpenRequests`].
        #[pallet::call_index(10)]
        #[pallet::weight(<T as Config>::WeightInfo::deny_request())]
        pub fn withdraw_request(origin: OriginFor<T>, request: RequestId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let pending = Requests::<T>::get(request).ok_or(Error::<T>::UnknownRequest)?;
            ensure!(pending.requester == who, Error::<T>::NotTheRequester);

            Self::close_request(request, &who);
            Self::deposit_event(Event::RequestWithdrawn { request });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// Removes answered or withdrawn `request` of `requester`.
        fn close_request(request: RequestId, requester: &T::AccountId) {
            Requests::<T>::remove(request);
            OpenRequests::<T>::mutate_exists(requester, |open| {
                *open = open
                    .and_then(|count| count.checked_sub(1))
                    .filter(|count| *count > 0);
            });
        }

        /// Fails unless `who` is `patient` (registered) or one of its delegates.
        fn ensure_manages(who: &T::AccountId, patient: &T::AccountId) -> DispatchResult {
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(patient),
                Error::<T>::UnknownPatient
            );
            ensure!(
                who == patient || Delegates::<T>::contains_key(patient, who),
                Error::<T>::NotPatientOrDelegate
            );
            Ok(())
        }

        fn ensure_scope_not_empty(scope: &RecordScope<T>) -> DispatchResult {
            let empty = match scope {
                Scope::All => false,
                Scope::Categories(categories) => categories.is_empty(),
                Scope::Records(records) => records.is_empty(),
            };
            ensure!(!empty, Error::<T>::EmptyScope);
            Ok(())
        }

        /// Fails unless every listed record of `scope` is anchored to `patient`.
        fn ensure_records_of(patient: &T::AccountId, scope: &RecordScope<T>) -> DispatchResult {
            if let Scope::Records(records) = scope {
                for record in records.iter() {
                    ensure!(
                        pallet_records::Pallet::<T>::category_of(patient, record).is_some(),
                        Error::<T>::UnknownRecordInScope
                    );
                }
            }
            Ok(())
        }

        /// Whether `narrowed` covers nothing that `requested` does not, both
        /// over `patient`'s records.
        fn is_within(
            patient: &T::AccountId,
            narrowed: &RecordScope<T>,
            requested: &RecordScope<T>,
        ) -> bool {
            match (narrowed, requested) {
                (_, Scope::All) => true,
                (Scope::Categories(narrowed), Scope::Categories(requested)) => {
                    narrowed.is_subset_of(*requested)
                }
                (Scope::Records(narrowed), Scope::Categories(requested)) => {
                    narrowed.iter().all(|record| {
                        pallet_records::Pallet::<T>::category_of(patient, record)
                            .is_some_and(|category| requested.contains(category))
                    })
                }
                (Scope::Records(narrowed), Scope::Records(requested)) => {
                    narrowed.iter().all(|record| requested.contains(record))
                }
                _ => false,
            }
        }

        /// Checks and stores a new grant; returns its id.
        pub(crate) fn create_grant(
            patient: T::AccountId,
            grantee: T::AccountId,
            scope: RecordScope<T>,
            purpose: Purpose,
            actions: ActionSet,
            not_before: Moment,
            expires_at: Moment,
        ) -> Result<(GrantId, u32), DispatchError> {
            ensure!(!actions.is_empty(), Error::<T>::NoActions);
            Self::ensure_scope_not_empty(&scope)?;
            ensure!(expires_at > not_before, Error::<T>::EmptyWindow);
            let now = T::Time::now();
            ensure!(expires_at > now, Error::<T>::WindowInThePast);
            Self::ensure_records_of(&patient, &scope)?;

            // Keep only live grants in the index, then add the new one.
            let indexed = GrantsOf::<T>::get(&patient, &grantee);
            let prior_grants = indexed.len() as u32;
            let live: Vec<GrantId> = indexed
                .into_iter()
                .filter(|id| {
                    Grants::<T>::get(id)
                        .is_some_and(|grant| !grant.revoked && grant.expires_at > now)
                })
                .collect();
            let mut live: BoundedVec<GrantId, T::MaxGrantsPerGrantee> =
                live.try_into().map_err(|_| Error::<T>::TooManyGrants)?;
            let grant = NextGrantId::<T>::get();
            let next = grant.checked_add(1).ok_or(Error::<T>::IdOverflow)?;
            live.try_push(grant)
                .map_err(|_| Error::<T>::TooManyGrants)?;

            NextGrantId::<T>::put(next);
            GrantsOf::<T>::insert(&patient, &grantee, live);
            Grants::<T>::insert(
                grant,
                GrantTerms {
                    patient: patient.clone(),
                    grantee: grantee.clone(),
                    scope,
                    purpose,
                    actions,
                    not_before,
                    expires_at,
                    revoked: false,
                },
            );
            Self::deposit_event(Event::AccessGranted {
                grant,
                patient,
                grantee,
                purpose,
                expires_at,
            });
            Ok((grant, prior_grants))
        }

        /// The records a scope lists (at least 1: the weights are measured
        /// from one record up).
        pub(crate) fn records_in(scope: &RecordScope<T>) -> u32 {
            match scope {
                Scope::Records(ids) => ids.len() as u32,
                Scope::All | Scope::Categories(_) => 0,
            }
            .max(1)
        }

        /// The most grants a grantee can already hold of one patient when
        /// another is created.
        pub(crate) fn most_prior_grants() -> u32 {
            T::MaxGrantsPerGrantee::get().saturating_sub(1)
        }

        fn insert_delegate(patient: T::AccountId, delegate: T::AccountId) -> DispatchResult {
            ensure!(delegate != patient, Error::<T>::SelfGrant);
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&delegate),
                Error::<T>::UnknownGrantee
            );
            ensure!(
                !Delegates::<T>::contains_key(&patient, &delegate),
                Error::<T>::AlreadyDelegate
            );

            Delegates::<T>::insert(&patient, &delegate, ());
            Self::deposit_event(Event::DelegateAdded { patient, delegate });
            Ok(())
        }
    }
}

impl<T: Config> Pallet<T> {
    /// [`Pallet::check_access`] for each question in order, answering at most
    /// [`runtime_api::MAX_ACCESS_QUESTIONS`] of them.
    pub fn check_access_many(
        questions: alloc::vec::Vec<runtime_api::AccessQuestion<T::AccountId>>,
    ) -> alloc::vec::Vec<Decision<GrantId>> {
        questions
            .into_iter()
            .take(runtime_api::MAX_ACCESS_QUESTIONS as usize)
            .map(|(accessor, patient, record, purpose, action)| {
                Self::check_access(accessor, patient, record, purpose, action)
            })
            .collect()
    }

    /// May `accessor` perform `action` on `record` of `patient` for `purpose`
    /// now? Reads the chain's state (grants, restrictions, roles and a running
    /// emergency grant) and applies
    /// [`medigate_access_policy::decide_with_emergency`].
    pub fn check_access(
        accessor: T::AccountId,
        patient: T::AccountId,
        record: ContentId,
        purpose: Purpose,
        action: Action,
    ) -> Decision<GrantId> {
        let Some(category) = pallet_records::Pallet::<T>::category_of(&patient, &record) else {
            return Decision::deny(Reason::UnknownRecord);
        };
        let now = T::Time::now();
        let request = AccessRequest {
            accessor: accessor.clone(),
            patient: patient.clone(),
            record,
            category,
            purpose,
            action,
            now,
        };
        let standing = Accessor {
            registered: pallet_registry::Pallet::<T>::is_registered(&accessor),
            roles: pallet_registry::Pallet::<T>::roles_of(&accessor),
            delegate_of_patient: Delegates::<T>::contains_key(&patient, &accessor),
        };
        let grants: alloc::vec::Vec<(GrantId, GrantOf<T>)> =
            GrantsOf::<T>::get(&patient, &accessor)
                .into_iter()
                .filter_map(|id| Grants::<T>::get(id).map(|grant| (id, grant)))
                .collect();
        let restrictions = Restrictions::<T>::get(&patient);
        let emergency =
            <T::Emergency as medigate_access_policy::EmergencyGrants<_, _>>::emergency_grant(
                &accessor, &patient, now,
            );
        medigate_access_policy::decide_with_emergency(
            &request,
            standing,
            grants.iter().map(|(id, grant)| (*id, grant)),
            restrictions.iter(),
            emergency,
        )
    }
}

impl<T: Config> pallet_records::WritePermissions<T::AccountId> for Pallet<T> {
    fn is_delegate(account: &T::AccountId, patient: &T::AccountId) -> bool {
        Delegates::<T>::contains_key(patient, account)
    }

    fn may_write(author: &T::AccountId, patient: &T::AccountId, category: Category) -> bool {
        let now = T::Time::now();
        let roles = pallet_registry::Pallet::<T>::roles_of(author);
        let restrictions = Restrictions::<T>::get(patient);
        let restricted = restrictions.iter().any(|restriction| {
            restriction
                .accessor
                .as_ref()
                .is_none_or(|who| who == author)
                && match &restriction.scope {
                    Scope::All => true,
                    Scope::Categories(categories) => categories.contains(category),
                    Scope::Records(_) => false,
                }
        });
        !restricted
            && GrantsOf::<T>::get(patient, author).into_iter().any(|id| {
                Grants::<T>::get(id).is_some_and(|grant| {
                    !grant.revoked
                        && grant.not_before <= now
                        && now < grant.expires_at
                        && grant.actions.contains(Action::Write)
                        && roles.intersects(grant.purpose.permitted_roles())
                        && match &grant.scope {
                            Scope::All => true,
                            Scope::Categories(categories) => categories.contains(category),
                            // A list of existing records cannot cover a new one.
                            Scope::Records(_) => false,
                        }
                })
            })
    }
}

#[cfg(feature = "runtime-benchmarks")]
impl<T: Config> pallet_records::BenchmarkHelper<T::AccountId> for Pallet<T> {
    fn set_up_writer(author: &T::AccountId, patient: &T::AccountId, category: Category) {
        benchmarking::register::<T>(author);
        benchmarking::register::<T>(patient);
        benchmarking::attest::<T>(author, medigate_access_policy::Role::Provider);
        let _ = Pallet::<T>::create_grant(
            patient.clone(),
            author.clone(),
            Scope::Categories(CategorySet::empty().with(category)),
            Purpose::Treatment,
            ActionSet::read_write(),
            0,
            Moment::MAX,
        );
    }
}
