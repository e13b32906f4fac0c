//! # Registry
//!
//! Who is who on the MediGate chain. A participant registers its account with
//! the public key others encrypt to (X25519); authorities attest roles to
//! participants (provider, organization, emergency responder, researcher,
//! insurer, custodian) and revoke them. Governance decides who the authorities
//! are and which roles each may attest.
//!
//! ## Terms
//! - **Participant**: a registered account and its current encryption key.
//!   Rotating the key keeps the latest [`Config::MaxKeyHistory`] keys in
//!   [`KeyHistory`], so that data wrapped to a recent old key can still be
//!   matched to it; older entries are pruned, so that rotations cannot grow
//!   an account's state without end.
//! - **Authority**: an account governance trusts to attest some roles (a
//!   medical board attests providers, a ministry attests responders...).
//! - **Attestation**: an authority's statement that a participant holds a
//!   role. A provider's attestation carries a commitment to the licence (a
//!   salted hash, never the licence itself) and may name the organization the
//!   provider works for. A revoked attestation stays on chain, marked revoked,
//!   and counts for nothing from the block of revocation on.
//!
//! - **Sponsorship**: a newcomer has no funds to pay a registration fee. An
//!   attested organization (a hospital) or an authority sponsors its
//!   account ([`Pallet::sponsor`]); for [`Config::SponsorshipPeriod`] the
//!   account may then register without a fee (the fee waiver asks
//!   [`Pallet::is_sponsored`]), signing its own registration, so that its
//!   keys never leave it (sponsoring lets the account sign without funds:
//!   the chain counts it as existing). A sponsor makes at most
//!   [`Config::MaxSponsorships`] sponsorships per period, so new accounts
//!   join at a rate the consortium sets, through attested organizations.
//!
//! ## Calls
//! - [`Pallet::register`], [`Pallet::rotate_key`]: by the participant.
//! - [`Pallet::sponsor`]: by an attested organization or an authority.
//! - [`Pallet::add_authority`], [`Pallet::remove_authority`]: by governance.
//! - [`Pallet::attest`], [`Pallet::revoke_attestation`]: by an authority for
//!   the role (revocation also by governance).
//!
//! ## Invariants
//! - No personal data: accounts are pseudonymous public keys, licences appear
//!   only as commitments.
//! - [`Pallet::roles_of`] includes a role only while an unrevoked attestation
//!   of it exists.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod migrations;
pub mod weights;

/// The benchmarks, and fixtures other pallets' benchmarks share.
#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::*;
pub use medigate_access_policy::{Role, RoleSet};
use sp_core::H256;
use sp_runtime::traits::Saturating;

pub use pallet::*;
pub use weights::WeightInfo;

/// An X25519 public key that others encrypt record keys to.
pub type EncryptionKey = [u8; 32];

/// A registered participant.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Participant<BlockNumber> {
    /// The current encryption public key.
    pub encryption_key: EncryptionKey,
    /// How many times the key was rotated (0 for the key given at registration).
    pub key_version: u32,
    /// When the account registered.
    pub registered_at: BlockNumber,
}

/// An authority's statement that a participant holds a role.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Attestation<AccountId, BlockNumber> {
    /// The authority that attested.
    pub authority: AccountId,
    /// A salted commitment to the licence (providers), never the licence.
    pub licence_commitment: Option<H256>,
    /// The organization the participant acts for, if any.
    pub organization: Option<AccountId>,
    /// When it was issued.
    pub issued_at: BlockNumber,
    /// When it was revoked, if it was.
    pub revoked_at: Option<BlockNumber>,
}

impl<AccountId, BlockNumber> Attestation<AccountId, BlockNumber> {
    /// Whether the attestation still counts.
    pub fn is_current(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;

    /// The pallet's configuration.
    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

        /// Who appoints and dismisses authorities: the consortium's governance.
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// How long a sponsored account may register without a fee.
        #[pallet::constant]
        type SponsorshipPeriod: Get<BlockNumberFor<Self>>;

        /// The most sponsorships one sponsor makes per
        /// [`Config::SponsorshipPeriod`] (each counts until its period ends,
        /// whether its account registered or not).
        #[pallet::constant]
        type MaxSponsorships: Get<u32>;

        /// How many of a participant's keys [`KeyHistory`] keeps (the
        /// current one included); a rotation prunes the oldest beyond it.
        #[pallet::constant]
        type MaxKeyHistory: Get<u32>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// The layout of the pallet's storage; a runtime upgrade runs the
    /// [`crate::migrations`] from the chain's version to this one.
    pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Registered participants.
    #[pallet::storage]
    pub type Participants<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, Participant<BlockNumberFor<T>>>;

    /// A participant's latest [`Config::MaxKeyHistory`] encryption keys, by
    /// version, with the block from which each was current.
    #[pallet::storage]
    pub type KeyHistory<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Twox64Concat,
        u32,
        (EncryptionKey, BlockNumberFor<T>),
    >;

    /// Authorities and the roles each may attest.
    #[pallet::storage]
    pub type Authorities<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, RoleSet>;

    /// Sponsorships not used yet, by the sponsored account: its sponsor and
    /// the block from which it no longer counts.
    #[pallet::storage]
    pub type Sponsorships<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, (T::AccountId, BlockNumberFor<T>)>;

    /// The sponsorships each sponsor made within the last period, used or
    /// not, with when each ends (at most [`Config::MaxSponsorships`]).
    #[pallet::storage]
    pub type SponsoredBy<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        BoundedVec<(T::AccountId, BlockNumberFor<T>), T::MaxSponsorships>,
        ValueQuery,
    >;

    /// Attestations, by participant and role.
    #[pallet::storage]
    pub type Attestations<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Twox64Concat,
        Role,
        Attestation<T::AccountId, BlockNumberFor<T>>,
    >;

    /// Events of the registry.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An account registered as a participant.
        Registered {
            /// The participant.
            who: T::AccountId,
            /// Its encryption key.
            encryption_key: EncryptionKey,
        },
        /// A participant replaced its encryption key.
        KeyRotated {
            /// The participant.
            who: T::AccountId,
            /// The new key.
            encryption_key: EncryptionKey,
            /// The new key's version.
            key_version: u32,
        },
        /// Governance appointed an authority, or changed its roles.
        AuthoritySet {
            /// The authority.
            authority: T::AccountId,
            /// The roles it may attest.
            roles: RoleSet,
        },
        /// Governance dismissed an authority.
        AuthorityRemoved {
            /// The former authority.
            authority: T::AccountId,
        },
        /// An authority attested a role.
        Attested {
            /// The participant.
            who: T::AccountId,
            /// The role.
            role: Role,
            /// The authority.
            authority: T::AccountId,
        },
        /// An attestation was revoked.
        AttestationRevoked {
            /// The participant.
            who: T::AccountId,
            /// The role.
            role: Role,
        },
        /// A sponsor let an account register without a fee.
        Sponsored {
            /// The account.
            who: T::AccountId,
            /// Its sponsor.
            sponsor: T::AccountId,
            /// The block from which the sponsorship no longer counts.
            until: BlockNumberFor<T>,
        },
    }

    /// Errors of the registry.
    #[pallet::error]
    pub enum Error<T> {
        /// The account is already registered; rotate the key instead.
        AlreadyRegistered,
        /// The account is not registered; register it first.
        NotRegistered,
        /// The new key equals the current one.
        SameKey,
        /// The caller is not an authority for this role.
        NotAuthorityForRole,
        /// The account is not an authority.
        NotAuthority,
        /// An authority must be allowed to attest at least one role.
        NoRoles,
        /// The participant already holds a current attestation of this role.
        AlreadyAttested,
        /// A provider's attestation needs a licence commitment.
        LicenceCommitmentRequired,
        /// The named organization holds no current organization attestation.
        UnknownOrganization,
        /// There is no current attestation of this role to revoke.
        NoSuchAttestation,
        /// The key version counter is exhausted.
        KeyVersionOverflow,
        /// Only an account holding a current organization attestation, or an
        /// authority, sponsors newcomers.
        NotASponsor,
        /// The sponsor made as many sponsorships as it may within one
        /// period; the oldest stops counting when its period ends.
        TooManySponsorships,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Registers the caller as a participant with its encryption key.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register())]
        pub fn register(origin: OriginFor<T>, encryption_key: EncryptionKey) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(
                !Participants::<T>::contains_key(&who),
                Error::<T>::AlreadyRegistered
            );

            let now = frame_system::Pallet::<T>::block_number();
            Participants::<T>::insert(
                &who,
                Participant {
                    encryption_key,
                    key_version: 0,
                    registered_at: now,
                },
            );
            KeyHistory::<T>::insert(&who, 0, (encryption_key, now));
            // A sponsored newcomer keeps its standing without funds (it
            // signs its fee-less calls); the sponsorship still counts
            // against its sponsor until its period ends.
            Sponsorships::<T>::remove(&who);
            Self::deposit_event(Event::Registered {
                who,
                encryption_key,
            });
            Ok(())
        }

        /// Replaces the caller's encryption key; the latest earlier keys stay
        /// in the history, and the oldest beyond [`Config::MaxKeyHistory`]
        /// leaves it.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::rotate_key())]
        pub fn rotate_key(origin: OriginFor<T>, encryption_key: EncryptionKey) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut participant = Participants::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
            ensure!(
                participant.encryption_key != encryption_key,
                Error::<T>::SameKey
            );
            let key_version = participant
                .key_version
                .checked_add(1)
                .ok_or(Error::<T>::KeyVersionOverflow)?;

            participant.encryption_key = encryption_key;
            participant.key_version = key_version;
            Participants::<T>::insert(&who, participant);
            KeyHistory::<T>::insert(
                &who,
                key_version,
                (encryption_key, frame_system::Pallet::<T>::block_number()),
            );
            if let Some(pruned) = key_version.checked_sub(T::MaxKeyHistory::get()) {
                KeyHistory::<T>::remove(&who, pruned);
            }
            Self::deposit_event(Event::KeyRotated {
                who,
                encryption_key,
                key_version,
            });
            Ok(())
        }

        /// Appoints `authority` to attest `roles` (or changes its roles).
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::add_authority())]
        pub fn add_authority(
            origin: OriginFor<T>,
            authority: T::AccountId,
            roles: RoleSet,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(roles != RoleSet::empty(), Error::<T>::NoRoles);

            Authorities::<T>::insert(&authority, roles);
            Self::deposit_event(Event::AuthoritySet { authority, roles });
            Ok(())
        }

        /// Dismisses `authority`. Its attestations stay until revoked.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::remove_authority())]
        pub fn remove_authority(origin: OriginFor<T>, authority: T::AccountId) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(
                Authorities::<T>::contains_key(&authority),
                Error::<T>::NotAuthority
            );

            Authorities::<T>::remove(&authority);
            Self::deposit_event(Event::AuthorityRemoved { authority });
            Ok(())
        }

        /// Attests that `who` holds `role`. The caller must be an authority for
        /// `role`; `who` must be registered. A provider needs a
        /// `licence_commitment`; a named `organization` must hold a current
        /// organization attestation.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::attest())]
        pub fn attest(
            origin: OriginFor<T>,
            who: T::AccountId,
            role: Role,
            licence_commitment: Option<H256>,
            organization: Option<T::AccountId>,
        ) -> DispatchResult {
            let authority = ensure_signed(origin)?;
            // Checks that need no state first.
            ensure!(
                role != Role::Provider || licence_commitment.is_some(),
                Error::<T>::LicenceCommitmentRequired
            );
            // Then the ones that do.
            ensure!(
                Self::may_attest(&authority, role),
                Error::<T>::NotAuthorityForRole
            );
            ensure!(
                Participants::<T>::contains_key(&who),
                Error::<T>::NotRegistered
            );
            ensure!(
                !Attestations::<T>::get(&who, role)
                    .is_some_and(|attestation| attestation.is_current()),
                Error::<T>::AlreadyAttested
            );
            if let Some(organization) = &organization {
                ensure!(
                    Self::holds(organization, Role::Organization),
                    Error::<T>::UnknownOrganization
                );
            }

            Attestations::<T>::insert(
                &who,
                role,
                Attestation {
                    authority: authority.clone(),
                    licence_commitment,
                    organization,
                    issued_at: frame_system::Pallet::<T>::block_number(),
                    revoked_at: None,
                },
            );
            Self::deposit_event(Event::Attested {
                who,
                role,
                authority,
            });
            Ok(())
        }

        /// Revokes the current attestation of `role` to `who`. By an authority
        /// for `role`, or by governance.
        #[pallet::call_index(5)]
        #[pallet::weight((T::WeightInfo::revoke_attestation(), DispatchClass::Operational))]
        pub fn revoke_attestation(
            origin: OriginFor<T>,
            who: T::AccountId,
            role: Role,
        ) -> DispatchResult {
            if T::GovernanceOrigin::try_origin(origin.clone()).is_err() {
                let authority = ensure_signed(origin)?;
                ensure!(
                    Self::may_attest(&authority, role),
                    Error::<T>::NotAuthorityForRole
                );
            }
            Self::end_attestation(who, role)
        }

        /// Lets `who`, an account that is not registered yet, register
        /// without a fee for [`Config::SponsorshipPeriod`]. By an account
        /// holding a current organization attestation, or an authority, at
        /// most [`Config::MaxSponsorships`] times per period. The account
        /// can sign transactions from then on without funds (the chain
        /// counts it as existing), so that it registers itself.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::sponsor())]
        pub fn sponsor(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
            let sponsor = ensure_signed(origin)?;
            ensure!(
                medigate_access_policy::may_sponsor(
                    Self::holds(&sponsor, medigate_access_policy::SPONSOR_ROLE),
                    Authorities::<T>::contains_key(&sponsor)
                ),
                Error::<T>::NotASponsor
            );
            ensure!(
                !Participants::<T>::contains_key(&who),
                Error::<T>::AlreadyRegistered
            );
            let now = frame_system::Pallet::<T>::block_number();
            let until = now.saturating_add(T::SponsorshipPeriod::get());
            SponsoredBy::<T>::try_mutate(&sponsor, |made| {
                // Sponsorships made a period ago or more no longer count;
                // those never used close.
                made.retain(|(account, ends)| {
                    if *ends > now {
                        return true;
                    }
                    Self::close_unused(&sponsor, account, *ends);
                    false
                });
                // Renewing one still open takes no more room.
                match made.iter_mut().find(|(account, _)| *account == who) {
                    Some(renewed) => {
                        renewed.1 = until;
                        Ok(())
                    }
                    None => made
                        .try_push((who.clone(), until))
                        .map_err(|_| Error::<T>::TooManySponsorships),
                }
            })?;
            match Sponsorships::<T>::get(&who) {
                // A first sponsorship lets the account sign without funds.
                None => {
                    frame_system::Pallet::<T>::inc_sufficients(&who);
                }
                // Taken over from another sponsor: it no longer counts there.
                Some((earlier, _)) if earlier != sponsor => {
                    SponsoredBy::<T>::mutate(&earlier, |made| {
                        made.retain(|(account, _)| *account != who)
                    });
                }
                Some(_) => {}
            }
            Sponsorships::<T>::insert(&who, (sponsor.clone(), until));
            Self::deposit_event(Event::Sponsored {
                who,
                sponsor,
                until,
            });
            Ok(())
        }
    }
}

impl<T: Config> Pallet<T> {
    /// Whether `account` is a registered participant.
    pub fn is_registered(account: &T::AccountId) -> bool {
        Participants::<T>::contains_key(account)
    }

    /// Ends `who`'s current attestation of `role` now, without asking who
    /// wants it ended: for [`Pallet::revoke_attestation`] once it has checked
    /// its origin, and for other pallets that have proven the participant's
    /// misconduct on chain (a vault's forged access receipt).
    pub fn end_attestation(who: T::AccountId, role: Role) -> DispatchResult {
        let mut attestation = Attestations::<T>::get(&who, role)
            .filter(|attestation| attestation.is_current())
            .ok_or(Error::<T>::NoSuchAttestation)?;
        attestation.revoked_at = Some(frame_system::Pallet::<T>::block_number());
        Attestations::<T>::insert(&who, role, attestation);
        Self::deposit_event(Event::AttestationRevoked { who, role });
        Ok(())
    }

    /// Whether `account` holds a current attestation of `role`.
    pub fn holds(account: &T::AccountId, role: Role) -> bool {
        Attestations::<T>::get(account, role).is_some_and(|attestation| attestation.is_current())
    }

    /// The roles `account` currently holds.
    pub fn roles_of(account: &T::AccountId) -> RoleSet {
        Attestations::<T>::iter_prefix(account)
            .filter(|(_, attestation)| attestation.is_current())
            .fold(RoleSet::empty(), |roles, (role, _)| roles.with(role))
    }

    /// Closes `account`'s sponsorship by `sponsor` that ended at `ends`, if
    /// the account never used it (registered), and lets go of the account's
    /// standing without funds.
    fn close_unused(sponsor: &T::AccountId, account: &T::AccountId, ends: BlockNumberFor<T>) {
        let unused = Sponsorships::<T>::get(account)
            .is_some_and(|(holder, until)| holder == *sponsor && until == ends);
        if unused {
            Sponsorships::<T>::remove(account);
            frame_system::Pallet::<T>::dec_sufficients(account);
        }
    }

    /// Whether `who` holds a sponsorship that still counts: it may register
    /// without a fee.
    pub fn is_sponsored(who: &T::AccountId) -> bool {
        Sponsorships::<T>::get(who)
            .is_some_and(|(_, until)| frame_system::Pallet::<T>::block_number() < until)
    }

    /// Whether `authority` may attest `role`.
    pub fn may_attest(authority: &T::AccountId, role: Role) -> bool {
        Authorities::<T>::get(authority).is_some_and(|roles| roles.contains(role))
    }
}
