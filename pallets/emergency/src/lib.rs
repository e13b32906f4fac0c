//! # Emergency
//!
//! Break-glass access, fast and accountable. Each patient sets an emergency
//! policy: whether emergency access is enabled, which attested roles may
//! break the glass, who to notify (guardians), and how long an emergency
//! grant lasts, and optionally a veto window after which a running emergency
//! grant opens every category of the patient's records unless the patient or
//! a guardian vetoed it. Governance names the custodians of emergency key shares (each
//! attested as a custodian) and how many of them must release their share.
//!
//! A responder holding one of the allowed roles files a break-glass with a
//! purpose (emergency treatment or break-the-glass) and the hash of a reason.
//! The chain opens a time-boxed emergency grant and emits
//! [`Event::GlassBroken`]: custodians release their shares only on that event,
//! the patient's and guardians' gateways notify them. Afterwards the patient
//! or a guardian reviews it: justified, or flagged to the authorities.
//!
//! The chain holds accounts, codes, hashes and times; never health data.
//!
//! ## Calls
//! - [`Pallet::set_policy`]: by a registered patient, for themselves.
//! - [`Pallet::set_custodians`]: by governance.
//! - [`Pallet::break_glass`]: by a responder the patient's policy allows.
//! - [`Pallet::review`]: by the patient or one of their guardians, once.
//! - [`Pallet::set_summary`]: by a registered patient, to point to their
//!   current emergency summary.
//! - [`Pallet::veto`]: by the patient or one of their guardians, to keep a
//!   break-glass to the summary (flagging one in review vetoes it too).
//!
//! The running grant is answered to access decisions through
//! [`EmergencyGrants`]: it opens the patient's summary, for reading, for the
//! purpose the glass was broken for, until it ends; and every category from
//! the end of its veto window, when the policy has one and no one vetoed.

#![cfg_attr(not(feature = "std"), no_std)]

pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::*;
pub use medigate_access_policy::{
    Category, CategorySet, EmergencyGrant, EmergencyGrants, Purpose, Role, RoleSet,
};
use sp_core::H256;

pub use pallet::*;
pub use weights::WeightInfo;

/// Time in milliseconds since the Unix epoch.
pub type Moment = u64;
/// The id of a break-glass.
pub type BreakGlassId = u64;

/// One hour: how long an emergency grant lasts unless the policy says.
pub const DEFAULT_WINDOW_MS: Moment = 60 * 60 * 1000;
/// The longest emergency grant a policy may set: one day.
pub const MAX_WINDOW_MS: Moment = 24 * 60 * 60 * 1000;
/// A day of chain time, over which [`Config::MaxBreakGlassesPerDay`] counts.
pub const DAY_MS: Moment = 24 * 60 * 60 * 1000;

/// A patient's emergency policy.
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(MaxGuardians))]
pub struct EmergencyPolicy<AccountId, MaxGuardians: Get<u32>> {
    /// Whether anyone may break the glass at all.
    pub enabled: bool,
    /// The attested roles whose holders may break the glass.
    pub responder_roles: RoleSet,
    /// Who is notified and may review (besides the patient).
    pub guardians: BoundedVec<AccountId, MaxGuardians>,
    /// How long an emergency grant lasts (milliseconds).
    pub window: Moment,
    /// When set, how long after a break-glass its grant opens every
    /// category of the patient's records (milliseconds, shorter than
    /// `window`), unless the patient or a guardian vetoes it first.
    pub full_access_after: Option<Moment>,
}

/// What the review of a break-glass found.
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
pub enum Review {
    /// Not reviewed yet.
    Pending,
    /// The patient or a guardian found it justified.
    Justified,
    /// The patient or a guardian flagged it to the authorities.
    Flagged,
}

/// The running part of a break-glass, kept per patient and responder: what
/// an access decision reads, in one storage read.
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
pub struct OpenGrant {
    /// The break-glass.
    pub id: BreakGlassId,
    /// `EmergencyTreatment` or `BreakTheGlass`.
    pub purpose: Purpose,
    /// When it was opened.
    pub opened_at: Moment,
    /// When it ends.
    pub expires_at: Moment,
    /// When it opens every category (the end of its veto window); `None`
    /// when the policy has no veto window or someone vetoed.
    pub full_from: Option<Moment>,
}

impl OpenGrant {
    /// Whether it is running at `now`.
    fn runs_at(&self, now: Moment) -> bool {
        self.opened_at <= now && now < self.expires_at
    }

    /// The categories it opens at `now`.
    pub fn categories_at(&self, now: Moment) -> CategorySet {
        if self.full_from.is_some_and(|from| from <= now) {
            CategorySet::all()
        } else {
            EMERGENCY_CATEGORIES
        }
    }
}

/// The categories an emergency grant opens: the patient's emergency summary.
pub const EMERGENCY_CATEGORIES: CategorySet = CategorySet::empty().with(Category::Summary);

/// One break-glass: a time-boxed emergency grant and its review.
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct BreakGlass<AccountId> {
    /// Whose records.
    pub patient: AccountId,
    /// Who broke the glass.
    pub responder: AccountId,
    /// `EmergencyTreatment` or `BreakTheGlass`.
    pub purpose: Purpose,
    /// A hash of the stated reason (the text stays off chain).
    pub reason: H256,
    /// When it was opened.
    pub opened_at: Moment,
    /// When the emergency grant ends.
    pub expires_at: Moment,
    /// When it opens every category; `None` without a veto window, or once
    /// vetoed.
    pub full_from: Option<Moment>,
    /// Its review.
    pub review: Review,
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::traits::Time;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// The pallet's configuration.
    #[pallet::config]
    pub trait Config: frame_system::Config + pallet_registry::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
        /// The chain's clock (milliseconds since the Unix epoch).
        type Time: Time<Moment = Moment>;
        /// Who names the custodians.
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;
        /// The most guardians a policy names.
        #[pallet::constant]
        type MaxGuardians: Get<u32>;
        /// The most custodians.
        #[pallet::constant]
        type MaxCustodians: Get<u32>;
        /// The most times one responder breaks the glass per day of chain
        /// time (each break-glass is kept for review for good).
        #[pallet::constant]
        type MaxBreakGlassesPerDay: Get<u32>;
        /// The weights of the calls.
        type WeightInfo: WeightInfo;
    }

    /// Each patient's emergency policy; a patient without one has emergency
    /// access disabled.
    #[pallet::storage]
    pub type Policies<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        EmergencyPolicy<T::AccountId, T::MaxGuardians>,
    >;

    /// The custodians of emergency key shares.
    #[pallet::storage]
    pub type Custodians<T: Config> =
        StorageValue<_, BoundedVec<T::AccountId, T::MaxCustodians>, ValueQuery>;

    /// How many custodians must release their share (0 until governance
    /// names custodians).
    #[pallet::storage]
    pub type Threshold<T: Config> = StorageValue<_, u8, ValueQuery>;

    /// The id the next break-glass gets.
    #[pallet::storage]
    pub type NextBreakGlass<T: Config> = StorageValue<_, BreakGlassId, ValueQuery>;

    /// The latest break-glass of each responder on each patient's records
    /// (patient, then responder).
    #[pallet::storage]
    pub type Latest<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        T::AccountId,
        OpenGrant,
    >;

    /// The content id of each patient's current emergency summary (an
    /// envelope under the patient's emergency key, anchored as a summary
    /// record): what a responder fetches once the key is rebuilt.
    #[pallet::storage]
    pub type Summaries<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, H256>;

    /// How many times each responder broke the glass on its latest day of
    /// doing so: (day of chain time, count).
    #[pallet::storage]
    pub type BreakGlassesToday<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, (u64, u32)>;

    /// Every break-glass, kept for review and audit.
    #[pallet::storage]
    pub type BreakGlasses<T: Config> =
        StorageMap<_, Blake2_128Concat, BreakGlassId, BreakGlass<T::AccountId>>;

    /// Events of the emergency pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A patient set their emergency policy.
        PolicySet {
            /// The patient.
            patient: T::AccountId,
            /// Whether emergency access is enabled.
            enabled: bool,
        },
        /// Governance named the custodians.
        CustodiansSet {
            /// How many there are.
            custodians: u32,
            /// How many must release their share.
            threshold: u8,
        },
        /// A responder broke the glass: custodians release their shares to
        /// them, the patient and guardians are notified.
        GlassBroken {
            /// The break-glass.
            id: BreakGlassId,
            /// Whose records.
            patient: T::AccountId,
            /// Who.
            responder: T::AccountId,
            /// For which purpose.
            purpose: Purpose,
            /// When the emergency grant ends.
            expires_at: Moment,
            /// When it opens every category of the patient's records,
            /// unless vetoed before (`None`: never).
            full_access_from: Option<Moment>,
        },
        /// A patient pointed to a new emergency summary.
        SummarySet {
            /// The patient.
            patient: T::AccountId,
            /// The summary's content id.
            content_id: H256,
        },
        /// The patient or a guardian reviewed a break-glass.
        Reviewed {
            /// The break-glass.
            id: BreakGlassId,
            /// Who reviewed.
            reviewer: T::AccountId,
            /// What they found.
            review: Review,
        },
        /// The patient or a guardian vetoed a break-glass's full-record
        /// access: it keeps to the emergency summary.
        Vetoed {
            /// The break-glass.
            id: BreakGlassId,
            /// Who vetoed.
            by: T::AccountId,
        },
    }

    /// Why an emergency call failed.
    #[pallet::error]
    pub enum Error<T> {
        /// The patient is not a registered participant.
        UnknownPatient,
        /// The policy's grant window is zero or longer than a day.
        BadWindow,
        /// A custodian does not hold a current custodian attestation.
        NotCustodian,
        /// The same custodian is named twice.
        DuplicateCustodian,
        /// The threshold is zero or larger than the number of custodians.
        BadThreshold,
        /// The patient has not enabled emergency access.
        EmergencyDisabled,
        /// The caller holds none of the roles the patient's policy allows.
        NotAllowedResponder,
        /// The purpose is neither emergency treatment nor break-the-glass.
        NotAnEmergencyPurpose,
        /// No custodians are named, so no key could be released.
        NoCustodians,
        /// The caller already holds a running emergency grant for this patient.
        AlreadyOpen,
        /// The caller broke the glass as often as a responder may today.
        TooManyBreakGlasses,
        /// No break-glass has this id.
        UnknownBreakGlass,
        /// Only the patient or one of their guardians reviews.
        NotReviewer,
        /// The break-glass was reviewed already.
        AlreadyReviewed,
        /// `Pending` is not a verdict.
        NotAVerdict,
        /// The veto window is zero or not shorter than the grant's window.
        BadVetoWindow,
        /// The break-glass opens no full-record access (its policy had no
        /// veto window, or it was vetoed already).
        NothingToVeto,
        /// The break-glass's emergency grant has ended.
        Ended,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Sets the caller's emergency policy. `window` is the emergency
        /// grant's length in milliseconds (one hour when `None`, at most a
        /// day). `full_access_after`, when set, is the veto window: how long
        /// after a break-glass its grant opens every category (shorter than
        /// `window`).
        #[pallet::call_index(0)]
        #[pallet::weight(<T as Config>::WeightInfo::set_policy())]
        pub fn set_policy(
            origin: OriginFor<T>,
            enabled: bool,
            responder_roles: RoleSet,
            guardians: BoundedVec<T::AccountId, T::MaxGuardians>,
            window: Option<Moment>,
            full_access_after: Option<Moment>,
        ) -> DispatchResult {
            let patient = ensure_signed(origin)?;
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&patient),
                Error::<T>::UnknownPatient
            );
            let window = window.unwrap_or(DEFAULT_WINDOW_MS);
            ensure!(window > 0 && window <= MAX_WINDOW_MS, Error::<T>::BadWindow);
            ensure!(
                full_access_after.is_none_or(|after| after > 0 && after < window),
                Error::<T>::BadVetoWindow
            );
            Policies::<T>::insert(
                &patient,
                EmergencyPolicy {
                    enabled,
                    responder_roles,
                    guardians,
                    window,
                    full_access_after,
                },
            );
            Self::deposit_event(Event::PolicySet { patient, enabled });
            Ok(())
        }

        /// Names the custodians of emergency key shares and how many must
        /// release theirs. Each must hold a current custodian attestation.
        #[pallet::call_index(1)]
        #[pallet::weight(<T as Config>::WeightInfo::set_custodians(custodians.len() as u32))]
        pub fn set_custodians(
            origin: OriginFor<T>,
            custodians: BoundedVec<T::AccountId, T::MaxCustodians>,
            threshold: u8,
        ) -> DispatchResult {
            <T as Config>::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(
                threshold > 0 && usize::from(threshold) <= custodians.len(),
                Error::<T>::BadThreshold
            );
            for (position, custodian) in custodians.iter().enumerate() {
                ensure!(
                    pallet_registry::Pallet::<T>::holds(custodian, Role::Custodian),
                    Error::<T>::NotCustodian
                );
                ensure!(
                    !custodians[..position].contains(custodian),
                    Error::<T>::DuplicateCustodian
                );
            }
            let count = custodians.len() as u32;
            Custodians::<T>::put(custodians);
            Threshold::<T>::put(threshold);
            Self::deposit_event(Event::CustodiansSet {
                custodians: count,
                threshold,
            });
            Ok(())
        }

        /// Breaks the glass on `patient`'s records for `purpose`
        /// (`EmergencyTreatment` or `BreakTheGlass`), giving the hash of the
        /// reason. Opens an emergency grant for the policy's window, which
        /// opens every category at the end of the policy's veto window (if
        /// it has one) unless vetoed.
        #[pallet::call_index(2)]
        #[pallet::weight(<T as Config>::WeightInfo::break_glass())]
        pub fn break_glass(
            origin: OriginFor<T>,
            patient: T::AccountId,
            purpose: Purpose,
            reason: H256,
        ) -> DispatchResult {
            let responder = ensure_signed(origin)?;
            ensure!(
                matches!(
                    purpose,
                    Purpose::EmergencyTreatment | Purpose::BreakTheGlass
                ),
                Error::<T>::NotAnEmergencyPurpose
            );
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&patient),
                Error::<T>::UnknownPatient
            );
            let policy = Policies::<T>::get(&patient)
                .filter(|policy| policy.enabled)
                .ok_or(Error::<T>::EmergencyDisabled)?;
            let allowed = Role::ALL.iter().any(|role| {
                policy.responder_roles.contains(*role)
                    && pallet_registry::Pallet::<T>::holds(&responder, *role)
            });
            ensure!(allowed, Error::<T>::NotAllowedResponder);
            ensure!(Threshold::<T>::get() > 0, Error::<T>::NoCustodians);
            let now = T::Time::now();
            ensure!(
                Self::open_emergency(&responder, &patient, now).is_none(),
                Error::<T>::AlreadyOpen
            );
            let today = now / DAY_MS;
            let done_today = BreakGlassesToday::<T>::get(&responder)
                .filter(|(day, _)| *day == today)
                .map_or(0, |(_, count)| count);
            ensure!(
                done_today < T::MaxBreakGlassesPerDay::get(),
                Error::<T>::TooManyBreakGlasses
            );
            BreakGlassesToday::<T>::insert(&responder, (today, done_today + 1));
            let id = NextBreakGlass::<T>::mutate(|next| {
                let id = *next;
                *next += 1;
                id
            });
            let expires_at = now.saturating_add(policy.window);
            let full_from = policy
                .full_access_after
                .map(|after| now.saturating_add(after));
            Latest::<T>::insert(
                &patient,
                &responder,
                OpenGrant {
                    id,
                    purpose,
                    opened_at: now,
                    expires_at,
                    full_from,
                },
            );
            BreakGlasses::<T>::insert(
                id,
                BreakGlass {
                    patient: patient.clone(),
                    responder: responder.clone(),
                    purpose,
                    reason,
                    opened_at: now,
                    expires_at,
                    full_from,
                    review: Review::Pending,
                },
            );
            Self::deposit_event(Event::GlassBroken {
                id,
                patient,
                responder,
                purpose,
                expires_at,
                full_access_from: full_from,
            });
            Ok(())
        }

        /// Reviews break-glass `id`: `Justified` or `Flagged`. By the patient
        /// or one of the guardians of their policy, once. Flagging also
        /// vetoes its full-record access.
        #[pallet::call_index(3)]
        #[pallet::weight(<T as Config>::WeightInfo::review())]
        pub fn review(origin: OriginFor<T>, id: BreakGlassId, review: Review) -> DispatchResult {
            let reviewer = ensure_signed(origin)?;
            ensure!(review != Review::Pending, Error::<T>::NotAVerdict);
            let vetoed = BreakGlasses::<T>::try_mutate(id, |entry| {
                let entry = entry.as_mut().ok_or(Error::<T>::UnknownBreakGlass)?;
                Self::ensure_reviewer(entry, &reviewer)?;
                ensure!(entry.review == Review::Pending, Error::<T>::AlreadyReviewed);
                entry.review = review;
                let veto = review == Review::Flagged && entry.full_from.is_some();
                if veto {
                    Self::close_full_access(id, entry);
                }
                Ok::<_, DispatchError>(veto)
            })?;
            Self::deposit_event(Event::Reviewed {
                id,
                reviewer: reviewer.clone(),
                review,
            });
            if vetoed {
                Self::deposit_event(Event::Vetoed { id, by: reviewer });
            }
            Ok(())
        }

        /// Points to the caller's current emergency summary, by its content
        /// id. The summary is an envelope under the caller's emergency key,
        /// anchored as a summary record of the caller: an id that is not
        /// such a record opens nothing (reads check the anchor).
        #[pallet::call_index(4)]
        #[pallet::weight(<T as Config>::WeightInfo::set_summary())]
        pub fn set_summary(origin: OriginFor<T>, content_id: H256) -> DispatchResult {
            let patient = ensure_signed(origin)?;
            ensure!(
                pallet_registry::Pallet::<T>::is_registered(&patient),
                Error::<T>::UnknownPatient
            );
            Summaries::<T>::insert(&patient, content_id);
            Self::deposit_event(Event::SummarySet {
                patient,
                content_id,
            });
            Ok(())
        }

        /// Vetoes break-glass `id`'s full-record access: its grant keeps to
        /// the emergency summary until it ends (and closes records it had
        /// opened already). By the patient or one of their guardians, while
        /// the grant runs.
        #[pallet::call_index(5)]
        #[pallet::weight((<T as Config>::WeightInfo::veto(), DispatchClass::Operational))]
        pub fn veto(origin: OriginFor<T>, id: BreakGlassId) -> DispatchResult {
            let by = ensure_signed(origin)?;
            let now = T::Time::now();
            BreakGlasses::<T>::try_mutate(id, |entry| {
                let entry = entry.as_mut().ok_or(Error::<T>::UnknownBreakGlass)?;
                Self::ensure_reviewer(entry, &by)?;
                ensure!(now < entry.expires_at, Error::<T>::Ended);
                ensure!(entry.full_from.is_some(), Error::<T>::NothingToVeto);
                Self::close_full_access(id, entry);
                Ok::<_, DispatchError>(())
            })?;
            Self::deposit_event(Event::Vetoed { id, by });
            Ok(())
        }
    }
}

impl<T: Config> Pallet<T> {
    /// The running break-glass of `responder` on `patient`'s records at
    /// `now`, if any: what an access decision for an emergency purpose asks.
    pub fn open_emergency(
        responder: &T::AccountId,
        patient: &T::AccountId,
        now: Moment,
    ) -> Option<BreakGlassId> {
        Self::running(responder, patient, now).map(|grant| grant.id)
    }

    fn running(responder: &T::AccountId, patient: &T::AccountId, now: Moment) -> Option<OpenGrant> {
        Latest::<T>::get(patient, responder).filter(|grant| grant.runs_at(now))
    }

    /// Only the patient or one of the guardians of their policy reviews or
    /// vetoes a break-glass.
    fn ensure_reviewer(
        entry: &BreakGlass<T::AccountId>,
        who: &T::AccountId,
    ) -> Result<(), Error<T>> {
        let is_guardian =
            Policies::<T>::get(&entry.patient).is_some_and(|policy| policy.guardians.contains(who));
        ensure!(
            *who == entry.patient || is_guardian,
            Error::<T>::NotReviewer
        );
        Ok(())
    }

    /// Takes full-record access away from break-glass `id` (`entry`) and
    /// from its running grant.
    fn close_full_access(id: BreakGlassId, entry: &mut BreakGlass<T::AccountId>) {
        entry.full_from = None;
        Latest::<T>::mutate(&entry.patient, &entry.responder, |open| {
            if let Some(open) = open.as_mut().filter(|open| open.id == id) {
                open.full_from = None;
            }
        });
    }

    /// The custodians and how many must release their share.
    pub fn custodian_set() -> (alloc::vec::Vec<T::AccountId>, u8) {
        (Custodians::<T>::get().into_inner(), Threshold::<T>::get())
    }
}

impl<T: Config> EmergencyGrants<T::AccountId, Moment> for Pallet<T> {
    fn emergency_grant(
        responder: &T::AccountId,
        patient: &T::AccountId,
        now: Moment,
    ) -> Option<EmergencyGrant<Moment>> {
        Self::running(responder, patient, now).map(|grant| EmergencyGrant {
            purpose: grant.purpose,
            categories: grant.categories_at(now),
            opened_at: grant.opened_at,
            expires_at: grant.expires_at,
        })
    }
}

extern crate alloc;
