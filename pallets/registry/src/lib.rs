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
//!   Rotating the key keeps every earlier key in [`KeyHistory`], so that data
//!   wrapped to an old key can still be matched to it.
//! - **Authority**: an account governance trusts to attest some roles (a
//!   medical board attests providers, a ministry attests responders...).
//! - **Attestation**: an authority's statement that a participant holds a
//!   role. A provider's attestation carries a commitment to the licence (a
//!   salted hash, never the licence itself) and may name the organization the
//!   provider works for. A revoked attestation stays on chain, marked revoked,
//!   and counts for nothing from the block of revocation on.
//!
//! ## Calls
//! - [`Pallet::register`], [`Pallet::rotate_key`]: by the participant.
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

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// Registered participants.
    #[pallet::storage]
    pub type Participants<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, Participant<BlockNumberFor<T>>>;

    /// Every encryption key a participant has had, by version, with the block
    /// from which it was current.
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
            Self::deposit_event(Event::Registered {
                who,
                encryption_key,
            });
            Ok(())
        }

        /// Replaces the caller's encryption key; earlier keys stay in the history.
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
        #[pallet::weight(T::WeightInfo::revoke_attestation())]
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
            let mut attestation = Attestations::<T>::get(&who, role)
                .filter(|attestation| attestation.is_current())
                .ok_or(Error::<T>::NoSuchAttestation)?;

            attestation.revoked_at = Some(frame_system::Pallet::<T>::block_number());
            Attestations::<T>::insert(&who, role, attestation);
            Self::deposit_event(Event::AttestationRevoked { who, role });
            Ok(())
        }
    }
}

impl<T: Config> Pallet<T> {
    /// Whether `account` is a registered participant.
    pub fn is_registered(account: &T::AccountId) -> bool {
        Participants::<T>::contains_key(account)
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

    /// Whether `authority` may attest `role`.
    pub fn may_attest(authority: &T::AccountId, role: Role) -> bool {
        Authorities::<T>::get(authority).is_some_and(|roles| roles.contains(role))
    }
}
