//! Submitting transactions: what every part that writes to the chain (the
//! CLI, gateways, vaults, tests, benches) does.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{Client, HttpRpc, MediGateConfig, reads::AtBlock};
use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use subxt::{
    config::DefaultExtrinsicParamsBuilder,
    error::TransactionFinalizedSuccessError,
    extrinsics::{Extrinsic, ExtrinsicEvents},
    tx::Payload,
    utils::{AccountId32, H256},
};
use subxt_signer::sr25519::Keypair;

/// Why a transaction or a read failed. Messages name the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node's best block could not be read.
    #[error("cannot read the chain's best block: {0}")]
    BestBlock(#[source] Box<subxt::error::OnlineClientAtBlockError>),
    /// The transaction could not be built, signed or handed to the node.
    #[error("the node refused the transaction: {0}")]
    Refused(#[source] Box<subxt::error::ExtrinsicError>),
    /// The node's pool found the transaction invalid (a stale nonce, no funds
    /// for the fee, a call over the account's fee-less budget...), or dropped
    /// it. Nothing was included.
    #[error("the chain refused the transaction as invalid: {0}")]
    Invalid(String),
    /// The transaction was included but failed, or was dropped before
    /// finality.
    #[error("the transaction did not succeed: {0}")]
    Failed(#[source] Box<TransactionFinalizedSuccessError>),
    /// A storage item could not be read.
    #[error("cannot read {item} from the chain: {reason}")]
    Storage {
        /// The storage item.
        item: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// The chain account of a key pair.
pub fn account_id(keypair: &Keypair) -> AccountId32 {
    keypair.public_key().into()
}

/// Signs `call` with `signer` at its nonce in the finalized state, submits
/// it and waits until it succeeds in a finalised block; returns its events.
pub async fn submit_and_wait<Call: Payload>(
    client: &Client,
    call: &Call,
    signer: &Keypair,
) -> Result<ExtrinsicEvents<MediGateConfig>, ChainError> {
    let sent = sign_and_watch(client, std::slice::from_ref(call), signer, None)
        .await?
        .remove(0);
    follow(
        client,
        sent,
        Stage::Finalized,
        None,
        &FinalizedBlocks::default(),
    )
    .await
}

/// The next nonce of `account` as the node's transaction pool sees it
/// (`system_accountNextIndex`): it counts transactions in best blocks and in
/// the pool, where the finalized state does not.
pub async fn next_nonce(rpc: &HttpRpc, account: &AccountId32) -> Result<u64, ChainError> {
    let params =
        serde_json::value::to_raw_value(&[account.to_string()]).expect("an account serializes");
    let answer = rpc
        .request("system_accountNextIndex", Some(&params))
        .await
        .map_err(|error| {
            ChainError::Invalid(format!("reading the account's next nonce: {error}"))
        })?;
    serde_json::from_str(answer.get())
        .map_err(|error| ChainError::Invalid(format!("reading the account's next nonce: {error}")))
}

/// Signs `call` with `signer`, submits it and waits until it succeeds in a
/// best block (not yet final); returns its events. For calls whose effect is
/// wanted at once, such as a break-glass: custodians act on best blocks.
/// The nonce is the pool's (see [`next_nonce`]), so that calls made one
/// after another, faster than finality, do not reuse one.
pub async fn submit_in_best_block<Call: Payload>(
    client: &Client,
    rpc: &HttpRpc,
    call: &Call,
    signer: &Keypair,
) -> Result<ExtrinsicEvents<MediGateConfig>, ChainError> {
    let nonce = next_nonce(rpc, &account_id(signer)).await?;
    let sent = sign_and_watch(client, std::slice::from_ref(call), signer, Some(nonce))
        .await?
        .remove(0);
    follow(
        client,
        sent,
        Stage::BestBlock,
        None,
        &FinalizedBlocks::default(),
    )
    .await
}

/// What a submitted transaction leaves to wait for: its success in a
/// finalised block, with its events.
pub type Finality = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<ExtrinsicEvents<MediGateConfig>, ChainError>>
            + Send,
    >,
>;

/// A transaction handed to the node, as it goes.
type Progress = subxt::transactions::TransactionProgress<
    MediGateConfig,
    subxt::client::OnlineClientAtBlockImpl<MediGateConfig>,
>;

/// A transaction handed to the node: its progress, and what finds it on the
/// chain should the pool stop following it.
struct Sent {
    progress: Progress,
    lookup: SentTransaction,
}

/// What finds a transaction handed to the node on the chain.
#[derive(Clone, Debug)]
pub struct SentTransaction {
    /// Its hash.
    pub hash: H256,
    /// The account that signed it.
    pub account: AccountId32,
    /// Its nonce.
    pub nonce: u64,
    /// The finalized block it was signed at: it can only be in later ones.
    pub signed_at: u64,
}

/// How far a transaction is followed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Until it is in a best block (it may still be retracted).
    BestBlock,
    /// Until it is in a finalized block.
    Finalized,
}

/// How long a transaction the pool stopped following is looked for in
/// finalized blocks before it counts as lost.
const LOST_TRANSACTION_WAIT: Duration = Duration::from_secs(60);

/// How often finality is checked while a transaction is looked for.
const LOST_TRANSACTION_POLL: Duration = Duration::from_millis(250);

/// What the node's pool answers, as a transaction's status, to a
/// transaction it already holds. The fork-aware pool also answers it to a
/// single submission that raced the pool's own upkeep (the transaction
/// reached a fresh view before the submission did): the transaction is in
/// the pool, but its status is no longer followed.
pub const ALREADY_IMPORTED: &str = "already imported";

/// Signs `calls` with `signer` at consecutive nonces from `first` (by
/// default, the account's nonce in the finalized state), all at one block,
/// and hands them to the node's pool at once rather than one after another
/// (each hand-over waits for the node's answer); returns them in the order
/// of `calls`.
async fn sign_and_watch<Call: Payload>(
    client: &Client,
    calls: &[Call],
    signer: &Keypair,
    first: Option<u64>,
) -> Result<Vec<Sent>, ChainError> {
    let at_block = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?;
    let transactions = at_block.transactions();
    let account = account_id(signer);
    let first = match first {
        Some(first) => first,
        None => transactions
            .account_nonce(&account)
            .await
            .map_err(|error| ChainError::Refused(Box::new(error)))?,
    };
    let signed = calls
        .iter()
        .zip(first..)
        .map(|(call, nonce)| {
            let params = DefaultExtrinsicParamsBuilder::<MediGateConfig>::new()
                .nonce(nonce)
                .build();
            transactions
                .create_signable_offline(call, params)
                .and_then(|mut signable| signable.sign(signer))
                .map(|transaction| (transaction, nonce))
                .map_err(|error| ChainError::Refused(Box::new(error)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signed_at = at_block.block_number();
    futures::future::try_join_all(signed.iter().map(|(transaction, nonce)| {
        let account = account.clone();
        async move {
            let progress = transaction
                .submit_and_watch()
                .await
                .map_err(|error| ChainError::Refused(Box::new(error)))?;
            let lookup = SentTransaction {
                hash: progress.extrinsic_hash(),
                account,
                nonce: *nonce,
                signed_at,
            };
            Ok(Sent { progress, lookup })
        }
    }))
    .await
}

/// Follows `sent` until it succeeds at `stage`; returns its events, and
/// tells `in_best_block` when it is first in a best block. Should
/// the pool stop following a transaction it holds (see
/// [`ALREADY_IMPORTED`]), the transaction is looked for in finalized blocks
/// instead.
async fn follow(
    client: &Client,
    mut sent: Sent,
    stage: Stage,
    mut in_best_block: Option<tokio::sync::oneshot::Sender<()>>,
    blocks: &FinalizedBlocks,
) -> Result<ExtrinsicEvents<MediGateConfig>, ChainError> {
    use subxt::{
        error::{TransactionProgressError, TransactionStatusError},
        transactions::TransactionStatus,
    };
    let failed = |error: TransactionFinalizedSuccessError| ChainError::Failed(Box::new(error));
    while let Some(status) = sent.progress.next().await {
        match status.map_err(|error| failed(error.into()))? {
            TransactionStatus::InBestBlock(in_block) if stage == Stage::BestBlock => {
                return in_block
                    .wait_for_success()
                    .await
                    .map_err(|error| failed(error.into()));
            }
            TransactionStatus::InBestBlock(_) => {
                if let Some(reached) = in_best_block.take() {
                    let _ = reached.send(());
                }
            }
            TransactionStatus::InFinalizedBlock(in_block) => {
                return blocks
                    .outcome(client, in_block.block_hash(), in_block.extrinsic_hash())
                    .await;
            }
            TransactionStatus::Invalid { message } if message.contains(ALREADY_IMPORTED) => {
                tracing::debug!(
                    nonce = sent.lookup.nonce,
                    %message,
                    "the pool holds the transaction unwatched; it is looked for on the chain"
                );
                return find_finalized(client, &sent.lookup).await;
            }
            TransactionStatus::Invalid { message } | TransactionStatus::Dropped { message } => {
                return Err(ChainError::Invalid(message));
            }
            TransactionStatus::Error { message } => {
                return Err(failed(
                    TransactionProgressError::from(TransactionStatusError::Error(message)).into(),
                ));
            }
            _ => continue,
        }
    }
    Err(failed(
        TransactionProgressError::UnexpectedEndOfTransactionStatusStream.into(),
    ))
}

/// A transaction of a block, with its client at that block.
type BlockTransaction =
    Extrinsic<'static, MediGateConfig, subxt::client::OnlineClientAtBlockImpl<MediGateConfig>>;

/// What a finalized block says of the transactions in it.
struct BlockRead {
    /// The block, for its metadata.
    block: AtBlock,
    /// Its transactions, by hash.
    transactions: HashMap<H256, BlockTransaction>,
    /// The `ExtrinsicFailed` event data of each transaction that failed, by
    /// the transaction's index in the block.
    failures: HashMap<u32, Vec<u8>>,
}

impl BlockRead {
    /// Reads `block`: its transactions, and which of them failed.
    async fn of(block: AtBlock) -> Result<Self, String> {
        use subxt::events::Phase;
        let body = block
            .extrinsics()
            .fetch()
            .await
            .map_err(|error| error.to_string())?;
        let mut transactions = HashMap::new();
        for transaction in body.iter() {
            let transaction = transaction.map_err(|error| error.to_string())?;
            transactions.insert(transaction.hash(), transaction.into_owned());
        }
        let events = block
            .events()
            .fetch()
            .await
            .map_err(|error| error.to_string())?;
        let mut failures = HashMap::new();
        for event in events.iter() {
            let event = event.map_err(|error| error.to_string())?;
            if let Phase::ApplyExtrinsic(index) = event.phase()
                && event.pallet_name() == "System"
                && event.event_name() == "ExtrinsicFailed"
            {
                failures.insert(index, event.field_bytes().to_vec());
            }
        }
        Ok(Self {
            block,
            transactions,
            failures,
        })
    }

    /// `None` if `transaction` is not in the block; if it is, its events
    /// when it succeeded, the error it failed with when not.
    async fn outcome(
        &self,
        transaction: H256,
    ) -> Option<Result<ExtrinsicEvents<MediGateConfig>, ChainError>> {
        let found = self.transactions.get(&transaction)?;
        if let Some(bytes) = self.failures.get(&(found.index() as u32)) {
            use subxt::error::{DispatchError, TransactionEventsError};
            let error = match DispatchError::decode_from(bytes.as_slice(), self.block.metadata()) {
                Ok(error) => TransactionEventsError::from(error),
                Err(error) => TransactionEventsError::CannotDecodeDispatchError {
                    error,
                    bytes: bytes.clone(),
                },
            };
            return Some(Err(ChainError::Failed(Box::new(
                TransactionFinalizedSuccessError::SuccessError(error),
            ))));
        }
        Some(found.events().await.map_err(|error| ChainError::Storage {
            item: "a transaction's events",
            reason: error.to_string(),
        }))
    }
}

/// A read of a block, shared by whoever waits for it.
type SharedRead = Shared<BoxFuture<'static, Result<Arc<BlockRead>, String>>>;

/// The finalized blocks of the transactions submitted together, each read
/// once (its body, and which transactions failed) however many of them it
/// holds: one import's anchor batches fill a block with several large
/// transactions, each of whose followers would otherwise download and
/// decode all of it. Each transaction then fetches only its events.
#[derive(Clone, Default)]
struct FinalizedBlocks(Arc<Mutex<HashMap<H256, SharedRead>>>);

impl FinalizedBlocks {
    /// The events of `transaction` in the finalized block `block` if it
    /// succeeded there; the error it failed with if not.
    async fn outcome(
        &self,
        client: &Client,
        block: H256,
        transaction: H256,
    ) -> Result<ExtrinsicEvents<MediGateConfig>, ChainError> {
        let reading = |reason: String| ChainError::Storage {
            item: "a finalized block's transactions",
            reason: format!("block {block:?}: {reason}"),
        };
        let read = self
            .0
            .lock()
            .expect("the block reads' lock is never poisoned")
            .entry(block)
            .or_insert_with(|| {
                let client = client.clone();
                async move {
                    let at = client
                        .at_block(block)
                        .await
                        .map_err(|error| error.to_string())?;
                    Ok(Arc::new(BlockRead::of(at).await?))
                }
                .boxed()
                .shared()
            })
            .clone();
        read.await
            .map_err(reading)?
            .outcome(transaction)
            .await
            .unwrap_or_else(|| Err(reading(format!("transaction {transaction:?} is not in it"))))
    }
}

/// Looks for `sent` in the finalized blocks after the one it was signed
/// at, as they come; returns its events once found, or the error it failed
/// with. It counts as lost (an [`ChainError::Invalid`]) once another
/// transaction of its account took its nonce, or when it is not final
/// within [`LOST_TRANSACTION_WAIT`].
pub async fn find_finalized(
    client: &Client,
    sent: &SentTransaction,
) -> Result<ExtrinsicEvents<MediGateConfig>, ChainError> {
    let reading = |block: u64| {
        move |error: String| ChainError::Storage {
            item: "a finalized block's transactions",
            reason: format!("block {block}: {error}"),
        }
    };
    let started = Instant::now();
    let mut next = sent.signed_at + 1;
    loop {
        let head = client
            .at_current_block()
            .await
            .map_err(|error| ChainError::BestBlock(Box::new(error)))?;
        while next <= head.block_number() {
            let block = client
                .at_block(next)
                .await
                .map_err(|error| reading(next)(error.to_string()))?;
            let read = BlockRead::of(block).await.map_err(reading(next))?;
            if let Some(outcome) = read.outcome(sent.hash).await {
                return outcome;
            }
            next += 1;
        }
        if crate::reads::nonce_at(&head, &sent.account).await? > sent.nonce {
            return Err(ChainError::Invalid(format!(
                "another transaction of the account took nonce {}",
                sent.nonce
            )));
        }
        if started.elapsed() > LOST_TRANSACTION_WAIT {
            return Err(ChainError::Invalid(format!(
                "the node took the transaction in but it was not final after {} s",
                LOST_TRANSACTION_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(LOST_TRANSACTION_POLL).await;
    }
}

/// A transaction handed to the node, followed by a task of its own.
pub struct Submitted {
    /// Ready once the transaction is in a best block (its effects are then
    /// visible there, not yet final); closed without a value if the node
    /// never reported it there.
    pub in_best_block: tokio::sync::oneshot::Receiver<()>,
    /// Its success in a finalised block, with its events.
    pub finality: Finality,
}

/// Signs `calls` with `signer` at consecutive nonces from `first` and hands
/// them all to the node's pool at once; returns each one's progress, in the
/// order of `calls`. Each is followed by a task of its own, whether or not
/// its [`Submitted::finality`] is awaited.
pub async fn submit_many_followed<Call: Payload>(
    client: &Client,
    calls: &[Call],
    signer: &Keypair,
    first: u64,
) -> Result<Vec<Submitted>, ChainError> {
    let blocks = FinalizedBlocks::default();
    Ok(sign_and_watch(client, calls, signer, Some(first))
        .await?
        .into_iter()
        .map(|sent| {
            let (client, blocks) = (client.clone(), blocks.clone());
            let (reached, in_best_block) = tokio::sync::oneshot::channel();
            let task = tokio::spawn(async move {
                follow(&client, sent, Stage::Finalized, Some(reached), &blocks).await
            });
            let finality: Finality =
                Box::pin(
                    async move { task.await.expect("following a transaction does not panic") },
                );
            Submitted {
                in_best_block,
                finality,
            }
        })
        .collect())
}

/// Signs `calls` with `signer` at consecutive nonces from `first` and hands
/// them all to the node's pool at once; returns what is left to wait for,
/// in the order of `calls`.
pub async fn submit_many_with_nonces<Call: Payload>(
    client: &Client,
    calls: &[Call],
    signer: &Keypair,
    first: u64,
) -> Result<Vec<Finality>, ChainError> {
    finalities(
        client,
        sign_and_watch(client, calls, signer, Some(first)).await?,
    )
}

/// Signs `calls` with `signer` at consecutive nonces from the account's
/// nonce in the finalized state and hands them all to the node's pool at
/// once; returns what is left to wait for, in the order of `calls`.
pub async fn submit_many<Call: Payload>(
    client: &Client,
    calls: &[Call],
    signer: &Keypair,
) -> Result<Vec<Finality>, ChainError> {
    finalities(client, sign_and_watch(client, calls, signer, None).await?)
}

/// What is left to wait for of each of `sent`.
fn finalities(client: &Client, sent: Vec<Sent>) -> Result<Vec<Finality>, ChainError> {
    let blocks = FinalizedBlocks::default();
    Ok(sent
        .into_iter()
        .map(|sent| -> Finality {
            let (client, blocks) = (client.clone(), blocks.clone());
            Box::pin(async move { follow(&client, sent, Stage::Finalized, None, &blocks).await })
        })
        .collect())
}

/// Signs `calls` with consecutive nonces from `signer`'s next nonce and
/// submits them all without waiting for inclusion. A call the pool answers
/// [`ALREADY_IMPORTED`] to is in the pool: it counts as submitted.
pub async fn submit_all<Call: Payload>(
    client: &Client,
    calls: &[Call],
    signer: &Keypair,
) -> Result<(), ChainError> {
    let transactions = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?
        .transactions();
    let first = transactions
        .account_nonce(&account_id(signer))
        .await
        .map_err(|error| ChainError::Refused(Box::new(error)))?;
    for (offset, call) in (0u64..).zip(calls) {
        let params = DefaultExtrinsicParamsBuilder::<MediGateConfig>::new()
            .nonce(first + offset)
            .build();
        let submitted = transactions
            .create_signable_offline(call, params)
            .and_then(|mut signable| signable.sign(signer))
            .map_err(|error| ChainError::Refused(Box::new(error)))?
            .submit()
            .await;
        match submitted {
            Ok(_) => {}
            Err(subxt::error::ExtrinsicError::TransactionStatusError(
                subxt::error::TransactionStatusError::Invalid(message),
            )) if message.contains(ALREADY_IMPORTED) => {
                tracing::debug!(
                    nonce = first + offset,
                    "the pool holds the transaction unwatched"
                );
            }
            Err(error) => return Err(ChainError::Refused(Box::new(error))),
        }
    }
    Ok(())
}
