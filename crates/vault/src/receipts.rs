//! Access receipts: queued before a read is served, committed to the chain
//! in one batch per block.
//!
//! A read is served only after its receipt is in the [`ReceiptQueue`] and
//! written to its [`Journal`]; a full queue (the chain has not taken
//! receipts for a while) or a journal that cannot be written refuses reads
//! rather than serve them unaudited. The [`ReceiptCommitter`] sends the queued
//! receipts as one `Audit.commit_receipts` transaction per block slot, timed
//! shortly before the slot ends so that the transaction is in the pool when
//! the next block is authored: a receipt lands in the block after its read
//! (the one after that for a read served within the last `margin` of a
//! slot). One transaction per block stays within the chain's fee-less budget
//! for participants. Receipts of a transaction the chain refuses or that
//! fails go back to the front of the queue and are sent again; receipts
//! leave the journal once their block is finalized.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use parking_lot::Mutex;

use crate::{
    auth::unix_ms,
    journal::{Journal, JournalError, SegmentId},
};
use medigate_chain_client::{
    Client, account_id, medigate,
    medigate::runtime_types::bounded_collections::bounded_vec::BoundedVec,
    subxt::utils::AccountId32, subxt_signer::sr25519::Keypair,
};

/// A receipt as the chain takes it.
pub use medigate_chain_client::Receipt;

/// Why a receipt could not be queued.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue holds as many uncommitted receipts as it may.
    #[error(
        "the vault holds {0} receipts the chain has not taken yet; reads resume when they are committed"
    )]
    Full(usize),
    /// The receipt could not be written to the journal.
    #[error("the vault cannot write its receipt journal: {0}")]
    Journal(String),
}

/// A queued receipt and the journal segment holding it.
type Queued = (Receipt, SegmentId);

/// The queue and its journal, under one lock so that both keep one order.
#[derive(Debug)]
struct Pending {
    receipts: VecDeque<Queued>,
    journal: Journal,
}

/// Receipts waiting to be committed, shared by the request handlers and the
/// committer.
#[derive(Clone, Debug)]
pub struct ReceiptQueue {
    pending: Arc<Mutex<Pending>>,
    capacity: usize,
}

impl ReceiptQueue {
    /// A queue that holds at most `capacity` receipts, journaled in
    /// `journal`, starting with the receipts the journal recovered.
    pub fn new(capacity: usize, journal: Journal, recovered: Vec<(Receipt, SegmentId)>) -> Self {
        Self {
            pending: Arc::new(Mutex::new(Pending {
                receipts: recovered.into(),
                journal,
            })),
            capacity,
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, Pending> {
        self.pending.lock()
    }

    /// Journals and queues `receipt`, or refuses it when the queue is full
    /// or the journal cannot be written.
    pub fn push(&self, receipt: Receipt) -> Result<(), QueueError> {
        let mut pending = self.lock();
        if pending.receipts.len() >= self.capacity {
            return Err(QueueError::Full(pending.receipts.len()));
        }
        let segment = pending
            .journal
            .append(&receipt)
            .map_err(|error| QueueError::Journal(error.to_string()))?;
        pending.receipts.push_back((receipt, segment));
        Ok(())
    }

    /// How many receipts wait to be sent.
    pub fn len(&self) -> usize {
        self.lock().receipts.len()
    }

    /// Whether no receipt waits to be sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many receipts are not yet in a finalized block (waiting or sent).
    pub fn unfinalized(&self) -> usize {
        self.lock().journal.outstanding()
    }

    /// Starts a new journal segment (once per slot).
    fn rotate_journal(&self) -> Result<(), JournalError> {
        self.lock().journal.rotate()
    }

    /// Takes up to `most` receipts from the front.
    fn take(&self, most: usize) -> Vec<Queued> {
        let mut pending = self.lock();
        let count = most.min(pending.receipts.len());
        pending.receipts.drain(..count).collect()
    }

    /// Puts `batch` back at the front, in its order. Receipts already taken
    /// are put back even past the capacity: they were promised.
    fn put_back(&self, batch: Vec<Queued>) {
        let mut pending = self.lock();
        for queued in batch.into_iter().rev() {
            pending.receipts.push_front(queued);
        }
    }

    /// Forgets the receipts of `batch`: they are in a finalized block.
    fn finalized(&self, batch: &[Queued]) {
        let result = self
            .lock()
            .journal
            .committed(batch.iter().map(|(_, segment)| *segment));
        if let Err(error) = result {
            tracing::warn!(%error, "cannot remove a finalized segment of the receipt journal");
        }
    }
}

/// Sends queued receipts to the chain, once per block slot.
pub struct ReceiptCommitter {
    client: Client,
    signer: Keypair,
    queue: ReceiptQueue,
    slot: Duration,
    margin: Duration,
    max_batch: usize,
}

/// How long from `now_ms` until `margin_ms` before the end of the current
/// slot of `slot_ms` (or of the next slot, if that moment has passed).
pub fn until_flush(now_ms: u64, slot_ms: u64, margin_ms: u64) -> Duration {
    let slot_ms = slot_ms.max(1);
    let margin_ms = margin_ms.min(slot_ms - 1);
    let mut flush = (now_ms / slot_ms + 1) * slot_ms - margin_ms;
    if flush <= now_ms {
        flush += slot_ms;
    }
    Duration::from_millis(flush - now_ms)
}

impl ReceiptCommitter {
    /// A committer sending `queue`'s receipts signed by `signer` (the
    /// vault's account), `margin` before the end of each `slot`, at most
    /// `max_batch` per transaction.
    pub fn new(
        client: Client,
        signer: Keypair,
        queue: ReceiptQueue,
        slot: Duration,
        margin: Duration,
        max_batch: usize,
    ) -> Self {
        Self {
            client,
            signer,
            queue,
            slot,
            margin,
            max_batch,
        }
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let account = account_id(&self.signer);
        let mut nonce: Option<u64> = None;
        let (failed_sender, mut failed) = tokio::sync::mpsc::unbounded_channel::<Vec<Queued>>();
        loop {
            tokio::time::sleep(until_flush(
                unix_ms(),
                self.slot.as_millis() as u64,
                self.margin.as_millis() as u64,
            ))
            .await;
            // Receipts of transactions that failed since the last slot go first.
            while let Ok(batch) = failed.try_recv() {
                self.queue.put_back(batch);
                nonce = None;
            }
            if let Err(error) = self.queue.rotate_journal() {
                tracing::warn!(%error, "cannot start a new segment of the receipt journal");
            }
            let batch = self.queue.take(self.max_batch);
            if batch.is_empty() {
                continue;
            }
            let next = match nonce {
                Some(next) => next,
                None => match self.chain_nonce(&account).await {
                    Ok(next) => next,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the vault's nonce; receipts wait");
                        self.queue.put_back(batch);
                        continue;
                    }
                },
            };
            match self.submit(batch, next, failed_sender.clone()).await {
                Ok(count) => {
                    nonce = Some(next + 1);
                    tracing::debug!(count, nonce = next, "receipts sent");
                }
                Err((error, batch)) => {
                    tracing::warn!(%error, "the node refused a batch of receipts; it is sent again");
                    self.queue.put_back(batch);
                    nonce = None;
                }
            }
        }
    }

    async fn chain_nonce(&self, account: &AccountId32) -> Result<u64, String> {
        self.client
            .at_current_block()
            .await
            .map_err(|error| error.to_string())?
            .transactions()
            .account_nonce(account)
            .await
            .map_err(|error| error.to_string())
    }

    /// Signs and submits `batch` with `nonce`; a task watches it and hands
    /// it to `failed` if the chain does not take it.
    async fn submit(
        &self,
        batch: Vec<Queued>,
        nonce: u64,
        failed: tokio::sync::mpsc::UnboundedSender<Vec<Queued>>,
    ) -> Result<usize, (String, Vec<Queued>)> {
        let receipts = batch.iter().map(|(receipt, _)| receipt.clone()).collect();
        let call = medigate::tx().audit().commit_receipts(BoundedVec(receipts));
        let submitted = medigate_chain_client::submit_many_with_nonces(
            &self.client,
            std::slice::from_ref(&call),
            &self.signer,
            nonce,
        )
        .await;
        let finality = match submitted {
            Ok(mut finalities) => finalities.remove(0),
            Err(error) => return Err((error.to_string(), batch)),
        };
        let count = batch.len();
        let queue = self.queue.clone();
        tokio::spawn(async move {
            match finality.await {
                Ok(_) => queue.finalized(&batch),
                Err(error) => {
                    tracing::warn!(%error, count, "a batch of receipts failed; it is sent again");
                    let _ = failed.send(batch);
                }
            }
        });
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medigate_chain_client::medigate::runtime_types::medigate_access_policy::terms::{
        Action, Purpose,
    };

    fn receipt(accessed_at: u64) -> Receipt {
        Receipt {
            accessor: AccountId32([1; 32]),
            patient: AccountId32([2; 32]),
            record: medigate_chain_client::subxt::utils::H256::repeat_byte(3),
            purpose: Purpose::Treatment,
            action: Action::Read,
            grant: Some(7),
            vault: AccountId32([4; 32]),
            accessed_at,
            request: medigate_chain_client::medigate::runtime_types::pallet_audit::RequestEvidence {
                signed_at: accessed_at.saturating_sub(5),
                nonce: [5; 16],
                signature: medigate_chain_client::medigate::runtime_types::pallet_audit::Sr25519RequestSignature([6; 64]),
            },
        }
    }

    fn queue(capacity: usize) -> (tempfile::TempDir, ReceiptQueue) {
        let dir = tempfile::tempdir().unwrap();
        let (journal, recovered) = Journal::open(dir.path()).unwrap();
        (dir, ReceiptQueue::new(capacity, journal, recovered))
    }

    #[test]
    fn a_full_queue_refuses_and_failed_batches_go_back_first() {
        let (_dir, queue) = queue(3);
        for at in 0..3 {
            queue.push(receipt(at)).unwrap();
        }
        assert_eq!(queue.push(receipt(3)), Err(QueueError::Full(3)));
        let batch = queue.take(2);
        assert_eq!(batch.len(), 2);
        queue.push(receipt(3)).unwrap();
        queue.put_back(batch);
        let batch = queue.take(10);
        let order: Vec<u64> = batch.iter().map(|(r, _)| r.accessed_at).collect();
        assert_eq!(order, vec![0, 1, 2, 3]);
        assert!(queue.is_empty());
        assert_eq!(queue.unfinalized(), 4, "sent is not finalized");
        queue.finalized(&batch);
        assert_eq!(queue.unfinalized(), 0);
    }

    #[test]
    fn flushes_fall_just_before_the_end_of_a_slot() {
        assert_eq!(until_flush(10_000, 1_000, 100), Duration::from_millis(900));
        assert_eq!(until_flush(10_850, 1_000, 100), Duration::from_millis(50));
        // At or past the flush moment of this slot: the next slot's.
        assert_eq!(
            until_flush(10_900, 1_000, 100),
            Duration::from_millis(1_000)
        );
        assert_eq!(until_flush(10_950, 1_000, 100), Duration::from_millis(950));
        // A margin as long as the slot is clamped.
        assert_eq!(until_flush(10_000, 1_000, 5_000), Duration::from_millis(1));
    }
}
