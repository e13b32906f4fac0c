//! # Audit
//!
//! The evidence of every access to a health record. A vault that serves a
//! ciphertext writes an access receipt — who read which record of which
//! patient, for which purpose, under which grant, when — and commits its
//! receipts to the chain in batches. The chain stores each batch as the root
//! of a binary Merkle tree over the receipts' SCALE encodings, and emits one
//! [`Event::AccessRecorded`] per receipt so that a patient can enumerate every
//! access to their records from the chain's events alone. Anyone holding a
//! receipt and its Merkle path can prove it is part of a committed batch
//! ([`Pallet::verify_receipt`]); [`merkle_path`] computes such a path.
//!
//! Receipts hold pseudonymous accounts, content ids and codes; never health data.
//!
//! A receipt cannot be made up unnoticed: each carries the accessor's
//! signature of the read it records ([`RequestEvidence`]), and anyone can
//! rebuild the signed message from the receipt's fields
//! ([`medigate_protocol::request::read_message`]) and check it
//! ([`AccessReceipt::is_signed_by_accessor`]). The vault checked that
//! signature before it served the read, so the chain does not check it
//! again for every receipt it takes (an sr25519 verification per read is
//! the largest part of a receipt's cost, paid by every validator). A vault
//! that commits a receipt its accessor did not sign has committed the
//! proof of its own misconduct: anyone who holds that receipt and its
//! Merkle path proves the forgery on chain with
//! [`Pallet::report_forged_receipt`], which marks the receipt forged and
//! ends the vault's attestation at once: the chain refuses its receipts
//! from then on (and a vault whose receipts wait too long stops serving
//! reads).
//! Gateways check every receipt they show, so a patient tells a forged
//! receipt from a real one, and nobody is framed by reads they never asked
//! for (a vault committing one receipt twice shows the same signed request
//! again, the same nonce and signature: one request).
//!
//! ## Calls
//! - [`Pallet::commit_receipts`]: by a vault (an account holding a current
//!   vault attestation), for reads it served itself.
//! - [`Pallet::report_forged_receipt`]: by anyone, with a committed receipt
//!   whose accessor did not sign it.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use codec::Encode;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::*;
pub use medigate_access_policy::{Action, Purpose, Role};
use sp_core::H256;
use sp_runtime::traits::{BlakeTwo256, IdentifyAccount, Verify};

pub use pallet::*;
pub use weights::WeightInfo;

/// A receipt as runtime `T` takes it.
pub type ReceiptOf<T> =
    AccessReceipt<<T as frame_system::Config>::AccountId, <T as Config>::RequestSignature>;

/// Signs reads for the benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Signature> {
    /// Accessor number `index`'s account and its signature of `message`.
    fn signed(index: u32, message: &[u8]) -> (AccountId, Signature);
}

/// A record's content id (BLAKE3-256 of its ciphertext).
pub type ContentId = H256;
/// The id of a consent grant.
pub type GrantId = u64;
/// The id of a committed batch.
pub type BatchId = u64;
/// Time in milliseconds since the Unix epoch.
pub type Moment = u64;
/// The most hashes a Merkle path of a batch may hold: more than any batch
/// of up to 2^32 receipts needs.
pub type MaxPathLength = ConstU32<32>;

/// An accessor's signature of a read request: sr25519, the one scheme vaults
/// take, by the key whose public key is the accessor's account. Vaults,
/// gateways and the chain check it alike: the chain by
/// [`AccessReceipt::is_signed_by_accessor`], off chain by
/// `medigate_crypto::request::ReceiptedRead::verify`.
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
pub struct Sr25519RequestSignature(pub [u8; 64]);

impl Verify for Sr25519RequestSignature {
    type Signer = sp_runtime::MultiSigner;

    fn verify<L: sp_runtime::traits::Lazy<[u8]>>(
        &self,
        message: L,
        account: &sp_runtime::AccountId32,
    ) -> bool {
        let account: &[u8; 32] = account.as_ref();
        sp_core::sr25519::Signature::from_raw(self.0)
            .verify(message, &sp_core::sr25519::Public::from_raw(*account))
    }
}

/// What proves that the accessor asked for a read: the fields of their
/// signed request that the receipt does not already hold, and the signature.
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct RequestEvidence<Signature> {
    /// When the accessor signed the request (their clock, milliseconds since
    /// the Unix epoch).
    pub signed_at: Moment,
    /// The request's nonce.
    pub nonce: [u8; 16],
    /// The accessor's signature of the request's message.
    pub signature: Signature,
}

/// The evidence of one served access.
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct AccessReceipt<AccountId, Signature> {
    /// Who accessed.
    pub accessor: AccountId,
    /// Whose record.
    pub patient: AccountId,
    /// Which record.
    pub record: ContentId,
    /// Why.
    pub purpose: Purpose,
    /// What was done.
    pub action: Action,
    /// The grant that allowed it (none for the patient or a delegate).
    pub grant: Option<GrantId>,
    /// The vault that served it.
    pub vault: AccountId,
    /// When it was served (vault clock, milliseconds since the Unix epoch).
    pub accessed_at: Moment,
    /// The accessor's signed request.
    pub request: RequestEvidence<Signature>,
}

impl<AccountId: Encode, Signature> AccessReceipt<AccountId, Signature> {
    /// The message the accessor signed for the access this receipt records,
    /// rebuilt from its fields; `None` when the receipt cannot have one (an
    /// action other than a read, accounts that are not 32 bytes).
    pub fn signed_message(&self) -> Option<Vec<u8>> {
        if self.action != Action::Read {
            return None;
        }
        let account =
            |account: &AccountId| -> Option<[u8; 32]> { account.encode().try_into().ok() };
        Some(medigate_protocol::request::read_message(
            &account(&self.vault)?,
            &self.record.0,
            &account(&self.patient)?,
            self.purpose,
            self.request.signed_at,
            &self.request.nonce,
        ))
    }
}

impl<AccountId: Encode, Signature: Verify> AccessReceipt<AccountId, Signature>
where
    Signature::Signer: IdentifyAccount<AccountId = AccountId>,
{
    /// Whether the accessor signed the access this receipt records.
    pub fn is_signed_by_accessor(&self) -> bool {
        self.signed_message()
            .is_some_and(|message| self.request.signature.verify(&message[..], &self.accessor))
    }
}

/// A committed batch of receipts.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct BatchCommitment<AccountId, BlockNumber> {
    /// Merkle root over the receipts' SCALE encodings (BLAKE2-256).
    pub root: H256,
    /// How many receipts the batch holds.
    pub receipts: u32,
    /// The vault that committed it.
    pub vault: AccountId,
    /// When.
    pub committed_at: BlockNumber,
}

/// The Merkle root of `receipts`, as the chain computes it.
pub fn receipts_root<Receipt: Encode>(receipts: &[Receipt]) -> H256 {
    binary_merkle_tree::merkle_root::<BlakeTwo256, _>(receipts.iter().map(Encode::encode))
}

/// The Merkle path proving that `receipts[index]` is in the batch of `receipts`.
pub fn merkle_path<Receipt: Encode>(receipts: &[Receipt], index: u32) -> Vec<H256> {
    let leaves: Vec<Vec<u8>> = receipts.iter().map(Encode::encode).collect();
    binary_merkle_tree::merkle_proof::<BlakeTwo256, _, _>(leaves, index).proof
}

/// Whether `receipt` is leaf `index` of the batch of `receipts` receipts
/// whose Merkle root is `root`, by the Merkle `path` (see [`merkle_path`]).
/// Clients check a receipt against a root read from the chain with this.
pub fn verify_path<Receipt: Encode>(
    root: &H256,
    receipts: u32,
    index: u32,
    receipt: &Receipt,
    path: Vec<H256>,
) -> bool {
    let leaf = receipt.encode();
    binary_merkle_tree::verify_proof::<BlakeTwo256, _, _>(
        root,
        path,
        receipts,
        index,
        binary_merkle_tree::Leaf::Value(&leaf),
    )
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;

    /// The pallet's configuration.
    #[pallet::config]
    pub trait Config: frame_system::Config + pallet_registry::Config {
        /// The overarching event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

        /// The signature of an accessor's request, checked against the
        /// accessor's account.
        type RequestSignature: Verify<Signer: IdentifyAccount<AccountId = Self::AccountId>>
            + Parameter
            + MaxEncodedLen
            + DecodeWithMemTracking;

        /// The most receipts one batch may hold.
        #[pallet::constant]
        type MaxReceiptsPerBatch: Get<u32>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;

        /// Signs reads for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId, Self::RequestSignature>;
    }

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// The id the next batch gets.
    #[pallet::storage]
    pub type NextBatchId<T: Config> = StorageValue<_, BatchId, ValueQuery>;

    /// Committed batches.
    #[pallet::storage]
    pub type Batches<T: Config> =
        StorageMap<_, Twox64Concat, BatchId, BatchCommitment<T::AccountId, BlockNumberFor<T>>>;

    /// Receipts proven forged, by batch and position in it: who proved it.
    /// An entry costs the vault that committed the receipt its attestation,
    /// so there are at most as many as receipts a vault commits before the
    /// first proof against it.
    #[pallet::storage]
    pub type ForgedReceipts<T: Config> =
        StorageDoubleMap<_, Twox64Concat, BatchId, Twox64Concat, u32, T::AccountId>;

    /// Events of the audit pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A vault committed a batch of receipts.
        BatchCommitted {
            /// The batch.
            batch: BatchId,
            /// The vault.
            vault: T::AccountId,
            /// Merkle root of its receipts.
            root: H256,
            /// How many receipts.
            receipts: u32,
        },
        /// One access, as recorded in a batch: what a patient enumerates.
        AccessRecorded {
            /// The batch.
            batch: BatchId,
            /// The receipt's position in the batch (its Merkle leaf index).
            index: u32,
            /// The receipt.
            receipt: ReceiptOf<T>,
        },
        /// A committed receipt was proven forged: its accessor did not sign
        /// the read it records.
        ReceiptProvenForged {
            /// The batch holding it.
            batch: BatchId,
            /// Its position in the batch.
            index: u32,
            /// The vault that committed it.
            vault: T::AccountId,
            /// The accessor it names, who did not ask for the read.
            accessor: T::AccountId,
            /// Who proved it.
            reporter: T::AccountId,
            /// Whether this proof ended the vault's attestation (an earlier
            /// proof or an authority may have ended it already).
            vault_attestation_ended: bool,
        },
    }

    /// Errors of the audit pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// The caller holds no current vault attestation: only attested
        /// vaults commit receipts.
        NotAVault,
        /// The batch holds no receipt.
        EmptyBatch,
        /// A receipt names another vault than the caller.
        ReceiptOfAnotherVault,
        /// The batch id counter is exhausted.
        BatchIdOverflow,
        /// A receipt records another action than a read: vaults receipt
        /// reads, each signed by its accessor.
        NotARead,
        /// No batch of that id was committed.
        NoSuchBatch,
        /// The receipt is not at that position of the batch: the Merkle
        /// path does not lead from it to the batch's root.
        NotInBatch,
        /// The receipt is genuine: its accessor signed the read it records.
        SignedByAccessor,
        /// The receipt was already proven forged.
        AlreadyProvenForged,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Commits `receipts`, all served by the calling vault, as one batch.
        #[pallet::call_index(0)]
        #[pallet::weight(<T as Config>::WeightInfo::commit_receipts(receipts.len() as u32))]
        pub fn commit_receipts(
            origin: OriginFor<T>,
            receipts: BoundedVec<ReceiptOf<T>, T::MaxReceiptsPerBatch>,
        ) -> DispatchResult {
            let vault = ensure_signed(origin)?;
            ensure!(!receipts.is_empty(), Error::<T>::EmptyBatch);
            ensure!(
                receipts.iter().all(|receipt| receipt.vault == vault),
                Error::<T>::ReceiptOfAnotherVault
            );
            ensure!(
                pallet_registry::Pallet::<T>::holds(&vault, medigate_access_policy::RECEIPT_ROLE),
                Error::<T>::NotAVault
            );
            ensure!(
                receipts
                    .iter()
                    .all(|receipt| receipt.action == Action::Read),
                Error::<T>::NotARead
            );
            let batch = NextBatchId::<T>::get();
            let next = batch.checked_add(1).ok_or(Error::<T>::BatchIdOverflow)?;

            let root = receipts_root(&receipts);
            let count = receipts.len() as u32;
            NextBatchId::<T>::put(next);
            Batches::<T>::insert(
                batch,
                BatchCommitment {
                    root,
                    receipts: count,
                    vault: vault.clone(),
                    committed_at: frame_system::Pallet::<T>::block_number(),
                },
            );
            for (index, receipt) in receipts.into_iter().enumerate() {
                Self::deposit_event(Event::AccessRecorded {
                    batch,
                    index: index as u32,
                    receipt,
                });
            }
            Self::deposit_event(Event::BatchCommitted {
                batch,
                vault,
                root,
                receipts: count,
            });
            Ok(())
        }

        /// Proves that `receipt`, at position `index` of committed batch
        /// `batch` (by its Merkle `path`, see [`merkle_path`]), records a
        /// read its accessor did not sign. The receipt is marked forged and
        /// the vault that committed it loses the vault attestation it held
        /// when it committed the batch (not one given to it later). By
        /// anyone: the proof is in the receipt.
        #[pallet::call_index(1)]
        #[pallet::weight(<T as Config>::WeightInfo::report_forged_receipt())]
        pub fn report_forged_receipt(
            origin: OriginFor<T>,
            batch: BatchId,
            index: u32,
            receipt: ReceiptOf<T>,
            path: BoundedVec<H256, MaxPathLength>,
        ) -> DispatchResult {
            let reporter = ensure_signed(origin)?;
            let commitment = Batches::<T>::get(batch).ok_or(Error::<T>::NoSuchBatch)?;
            ensure!(
                verify_path(
                    &commitment.root,
                    commitment.receipts,
                    index,
                    &receipt,
                    path.into_inner()
                ),
                Error::<T>::NotInBatch
            );
            ensure!(
                !ForgedReceipts::<T>::contains_key(batch, index),
                Error::<T>::AlreadyProvenForged
            );
            ensure!(
                !receipt.is_signed_by_accessor(),
                Error::<T>::SignedByAccessor
            );

            ForgedReceipts::<T>::insert(batch, index, &reporter);
            // The forgery ends the attestation it was committed under, not
            // one an authority gave the vault after it.
            let role = medigate_access_policy::RECEIPT_ROLE;
            let committed_under_current =
                pallet_registry::Attestations::<T>::get(&commitment.vault, role).is_some_and(
                    |attestation| {
                        attestation.is_current() && attestation.issued_at <= commitment.committed_at
                    },
                );
            let vault_attestation_ended = committed_under_current
                && pallet_registry::Pallet::<T>::end_attestation(commitment.vault.clone(), role)
                    .is_ok();
            Self::deposit_event(Event::ReceiptProvenForged {
                batch,
                index,
                vault: commitment.vault,
                accessor: receipt.accessor,
                reporter,
                vault_attestation_ended,
            });
            Ok(())
        }
    }
}

impl<T: Config> Pallet<T> {
    /// Whether `receipt` is leaf `index` of committed batch `batch`, by the
    /// Merkle `path` (see [`merkle_path`]). That proves the vault committed
    /// it, not that its accessor signed it
    /// ([`AccessReceipt::is_signed_by_accessor`] tells).
    pub fn verify_receipt(
        batch: BatchId,
        receipt: &ReceiptOf<T>,
        index: u32,
        path: Vec<H256>,
    ) -> bool {
        Batches::<T>::get(batch).is_some_and(|commitment| {
            verify_path(&commitment.root, commitment.receipts, index, receipt, path)
        })
    }
}
