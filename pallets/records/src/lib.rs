//! # Records
//!
//! Anchors of encrypted health records. A record itself never touches the
//! chain: it is encrypted at the edge and stored in a vault under its content
//! id, the BLAKE3-256 hash of the ciphertext. The chain keeps the anchor:
//! whose record it is, its coarse category, who wrote it, its size and the
//! version it replaces. Vaults and gateways use anchors to know that a
//! ciphertext is genuine and what consent applies to it.
//!
//! ## Terms
//! - **Anchor**: the on-chain entry of one record version, keyed by its
//!   patient and its content id. A content id belongs to its patient: an
//!   account that sees a pending anchor (in the transaction pool, or an
//!   envelope on its way to a vault) and anchors the same content id first
//!   anchors it to its own records, never to the patient's, so it can
//!   neither block nor take the patient's record.
//! - **Version chain**: a new version names the anchor it replaces
//!   (`previous`); a version can be replaced once.
//! - **Tombstone**: what erasure leaves. The anchor (owner, author, category,
//!   size, links) is deleted; only the content id and the block of erasure
//!   remain, under an opaque hash of the patient, so the id cannot be
//!   anchored to the patient again and the tombstone does not name them.
//!
//! ## Calls
//! - [`Pallet::anchor`]: anchor one record to a patient.
//! - [`Pallet::anchor_batch`]: anchor up to [`Config::MaxBatch`] records to a
//!   patient in one call (an import).
//! - [`Pallet::erase`]: the patient (or their delegate) erases a record.
//!
//! Who may anchor to a patient: the patient, a delegate of the patient, or an
//! author holding a current write grant for the record's category
//! ([`Config::Permissions`]). Every failed check leaves the state untouched.

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
pub use medigate_access_policy::{Category, CategorySet};
use sp_core::H256;

pub use pallet::*;
pub use weights::WeightInfo;

/// A record's content id: the BLAKE3-256 hash of its ciphertext.
pub type ContentId = H256;

/// What an author submits to anchor one record.
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct AnchorRequest {
    /// BLAKE3-256 of the ciphertext.
    pub content_id: ContentId,
    /// The record's category.
    pub category: Category,
    /// Ciphertext size in bytes.
    pub size: u64,
    /// The version this record replaces, if any.
    pub previous: Option<ContentId>,
}

/// One record of a [`Event::RecordsAnchored`] event.
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct AnchoredRecord {
    /// Its content id.
    pub content_id: ContentId,
    /// Its category.
    pub category: Category,
    /// Its version number (0 for a first version).
    pub version: u32,
}

/// The on-chain anchor of one record version.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct RecordAnchor<AccountId, BlockNumber> {
    /// The patient the record belongs to.
    pub owner: AccountId,
    /// The record's category.
    pub category: Category,
    /// Who anchored it.
    pub author: AccountId,
    /// Ciphertext size in bytes.
    pub size: u64,
    /// The version it replaces.
    pub previous: Option<ContentId>,
    /// The version that replaced it.
    pub superseded_by: Option<ContentId>,
    /// 0 for a first version, then one more per replacement.
    pub version: u32,
    /// When it was anchored.
    pub anchored_at: BlockNumber,
}

/// Who is registered, as far as the records pallet needs to know.
pub trait Participants<AccountId> {
    /// Whether `account` is a registered participant.
    fn is_registered(account: &AccountId) -> bool;
}

/// Who may write to a patient's records, as far as the records pallet needs to know.
pub trait WritePermissions<AccountId> {
    /// Whether `account` manages `patient`'s records as a delegate.
    fn is_delegate(account: &AccountId, patient: &AccountId) -> bool;
    /// Whether `author` holds a current grant to write records of `category`
    /// to `patient`.
    fn may_write(author: &AccountId, patient: &AccountId, category: Category) -> bool;
}

/// Sets up what the benchmarks need from the pallets behind
/// [`Config::Participants`] and [`Config::Permissions`].
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Registers `author` and `patient`, and lets `author` write records of
    /// `category` to `patient` through a grant (the costly path).
    fn set_up_writer(author: &AccountId, patient: &AccountId, category: Category);
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::{collections::BTreeSet, vec::Vec};

    /// The pallet's configuration.
    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

        /// Who is registered (the registry).
        type Participants: Participants<Self::AccountId>;

        /// Who may write to whom (consent).
        type Permissions: WritePermissions<Self::AccountId>;

        /// The most records one `anchor_batch` call may anchor.
        #[pallet::constant]
        type MaxBatch: Get<u32>;

        /// Prepares the worst case of the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// Anchors, by patient and content id.
    #[pallet::storage]
    pub type Anchors<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Identity,
        ContentId,
        RecordAnchor<T::AccountId, BlockNumberFor<T>>,
    >;

    /// Erased content ids, by patient (hashed, not readable from the key)
    /// and content id, and the block of their erasure.
    #[pallet::storage]
    pub type Tombstones<T: Config> =
        StorageDoubleMap<_, Blake2_128, T::AccountId, Identity, ContentId, BlockNumberFor<T>>;

    /// Events of the records pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// Records were anchored to a patient by one call: one event per
        /// call, not per record, keeps a full block's events small.
        RecordsAnchored {
            /// The patient.
            patient: T::AccountId,
            /// Who anchored them.
            author: T::AccountId,
            /// Each record, in the call's order.
            records: BoundedVec<AnchoredRecord, T::MaxBatch>,
        },
        /// A record was erased; its anchor is now a tombstone.
        RecordErased {
            /// The content id of the erased record.
            content_id: ContentId,
        },
    }

    /// Errors of the records pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// The patient is not a registered participant.
        UnknownPatient,
        /// The caller is not a registered participant.
        NotRegistered,
        /// The caller is neither the patient, nor their delegate, nor holds a
        /// current write grant for this category.
        NotPermitted,
        /// A record with this content id is already anchored to this
        /// patient.
        AlreadyAnchored,
        /// This content id of this patient was erased and cannot be
        /// anchored again.
        Erased,
        /// The batch is empty.
        EmptyBatch,
        /// The batch names the same content id twice.
        DuplicateInBatch,
        /// The record has no content (size 0).
        EmptyRecord,
        /// The previous version does not exist, belongs to another patient,
        /// or has another category.
        InvalidPrevious,
        /// The previous version was already replaced by another version.
        AlreadySuperseded,
        /// A writer holding a grant replaces only records it wrote itself;
        /// the patient's own records, and other writers', are replaced by
        /// the patient or their delegate.
        NotTheAuthor,
        /// No anchor of this patient exists with this content id.
        UnknownRecord,
        /// Only the patient or their delegate may erase a record.
        NotOwner,
        /// The version counter is exhausted.
        VersionOverflow,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Anchors one record to `patient`.
        #[pallet::call_index(0)]
        #[pallet::weight(Pallet::<T>::anchoring_weight(core::slice::from_ref(record)))]
        pub fn anchor(
            origin: OriginFor<T>,
            patient: T::AccountId,
            record: AnchorRequest,
        ) -> DispatchResult {
            let author = ensure_signed(origin)?;
            Self::anchor_all(author, patient, core::slice::from_ref(&record))
        }

        /// Anchors every record of `records` to `patient`, or none of them.
        #[pallet::call_index(1)]
        #[pallet::weight(Pallet::<T>::anchoring_weight(records))]
        pub fn anchor_batch(
            origin: OriginFor<T>,
            patient: T::AccountId,
            records: BoundedVec<AnchorRequest, T::MaxBatch>,
        ) -> DispatchResult {
            let author = ensure_signed(origin)?;
            ensure!(!records.is_empty(), Error::<T>::EmptyBatch);
            Self::anchor_all(author, patient, &records)
        }

        /// Erases `patient`'s record `content_id`: its anchor becomes a
        /// tombstone that no longer names the patient, the author or the
        /// category.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::erase())]
        pub fn erase(
            origin: OriginFor<T>,
            patient: T::AccountId,
            content_id: ContentId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let anchor =
                Anchors::<T>::get(&patient, content_id).ok_or(Error::<T>::UnknownRecord)?;
            ensure!(
                patient == who || T::Permissions::is_delegate(&who, &patient),
                Error::<T>::NotOwner
            );

            // Unlink the neighbours so that the version chain holds no erased id.
            if let Some(previous) = anchor.previous {
                Anchors::<T>::mutate(&patient, previous, |entry| {
                    if let Some(entry) = entry {
                        entry.superseded_by = None;
                    }
                });
            }
            if let Some(next) = anchor.superseded_by {
                Anchors::<T>::mutate(&patient, next, |entry| {
                    if let Some(entry) = entry {
                        entry.previous = None;
                    }
                });
            }
            Anchors::<T>::remove(&patient, content_id);
            Tombstones::<T>::insert(
                &patient,
                content_id,
                frame_system::Pallet::<T>::block_number(),
            );
            Self::deposit_event(Event::RecordErased { content_id });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The weight of anchoring `records`: a first version costs less
        /// than a record that replaces one (one read and one write fewer).
        /// A batch holding both kinds is charged as two batches.
        pub fn anchoring_weight(records: &[AnchorRequest]) -> Weight {
            let replacing = records
                .iter()
                .filter(|record| record.previous.is_some())
                .count() as u32;
            let first = records.len() as u32 - replacing;
            match (first, replacing) {
                (first, 0) => T::WeightInfo::anchor_first_versions(first),
                (0, replacing) => T::WeightInfo::anchor_replacements(replacing),
                (first, replacing) => T::WeightInfo::anchor_first_versions(first)
                    .saturating_add(T::WeightInfo::anchor_replacements(replacing)),
            }
        }

        /// Checks every record first, then anchors them all.
        fn anchor_all(
            author: T::AccountId,
            patient: T::AccountId,
            records: &[AnchorRequest],
        ) -> DispatchResult {
            // Checks without state. Sets keep batches of a thousand linear.
            let mut content_ids = BTreeSet::new();
            let mut previous_ids = BTreeSet::new();
            let mut shared_previous_ids = BTreeSet::new();
            for record in records {
                ensure!(record.size > 0, Error::<T>::EmptyRecord);
                ensure!(
                    content_ids.insert(record.content_id),
                    Error::<T>::DuplicateInBatch
                );
                if let Some(previous) = record.previous {
                    if !previous_ids.insert(previous) {
                        shared_previous_ids.insert(previous);
                    }
                }
            }
            // Checks against state.
            ensure!(
                T::Participants::is_registered(&patient),
                Error::<T>::UnknownPatient
            );
            ensure!(
                T::Participants::is_registered(&author),
                Error::<T>::NotRegistered
            );
            let author_is_manager =
                author == patient || T::Permissions::is_delegate(&author, &patient);
            let mut versions = Vec::with_capacity(records.len());
            // Write permission is asked once per category, not once per record.
            let mut permitted = CategorySet::empty();
            for record in records {
                if !author_is_manager && !permitted.contains(record.category) {
                    ensure!(
                        T::Permissions::may_write(&author, &patient, record.category),
                        Error::<T>::NotPermitted
                    );
                    permitted = permitted.with(record.category);
                }
                ensure!(
                    !Tombstones::<T>::contains_key(&patient, record.content_id),
                    Error::<T>::Erased
                );
                ensure!(
                    !Anchors::<T>::contains_key(&patient, record.content_id),
                    Error::<T>::AlreadyAnchored
                );
                let version = match record.previous {
                    None => 0,
                    Some(previous) => {
                        let previous_anchor = Anchors::<T>::get(&patient, previous)
                            .filter(|anchor| anchor.category == record.category)
                            .ok_or(Error::<T>::InvalidPrevious)?;
                        ensure!(
                            author_is_manager || previous_anchor.author == author,
                            Error::<T>::NotTheAuthor
                        );
                        ensure!(
                            previous_anchor.superseded_by.is_none(),
                            Error::<T>::AlreadySuperseded
                        );
                        ensure!(
                            !shared_previous_ids.contains(&previous),
                            Error::<T>::AlreadySuperseded
                        );
                        previous_anchor
                            .version
                            .checked_add(1)
                            .ok_or(Error::<T>::VersionOverflow)?
                    }
                };
                versions.push(version);
            }

            // Writes.
            let now = frame_system::Pallet::<T>::block_number();
            let mut anchored = Vec::with_capacity(records.len());
            for (record, version) in records.iter().zip(versions) {
                if let Some(previous) = record.previous {
                    Anchors::<T>::mutate(&patient, previous, |entry| {
                        if let Some(entry) = entry {
                            entry.superseded_by = Some(record.content_id);
                        }
                    });
                }
                Anchors::<T>::insert(
                    &patient,
                    record.content_id,
                    RecordAnchor {
                        owner: patient.clone(),
                        category: record.category,
                        author: author.clone(),
                        size: record.size,
                        previous: record.previous,
                        superseded_by: None,
                        version,
                        anchored_at: now,
                    },
                );
                anchored.push(AnchoredRecord {
                    content_id: record.content_id,
                    category: record.category,
                    version,
                });
            }
            Self::deposit_event(Event::RecordsAnchored {
                patient,
                author,
                // Never longer than `records`, which is bounded alike.
                records: BoundedVec::truncate_from(anchored),
            });
            Ok(())
        }
    }
}

extern crate alloc;

impl<T: Config> Pallet<T> {
    /// The category of `patient`'s record `content_id`, if it is anchored
    /// to them.
    pub fn category_of(patient: &T::AccountId, content_id: &ContentId) -> Option<Category> {
        Anchors::<T>::get(patient, content_id).map(|anchor| anchor.category)
    }
}
