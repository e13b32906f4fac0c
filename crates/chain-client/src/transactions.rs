//! Submitting transactions: what every part that writes to the chain (the
//! CLI, gateways, vaults, tests, benches) does.

use crate::{Client, HttpRpc, MediGateConfig};
use subxt::{
    config::DefaultExtrinsicParamsBuilder, error::TransactionFinalizedSuccessError,
    extrinsics::ExtrinsicEvents, tx::Payload, utils::AccountId32,
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

/// Signs `call` with `signer`, submits it and waits until it succeeds in a
/// finalised block; returns its events.
pub async fn submit_and_wait<Call: Payload>(
    client: &Client,
    call: &Call,
    signer: &Keypair,
) -> Result<ExtrinsicEvents<MediGateConfig>, ChainError> {
    client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?
        .transactions()
        .sign_and_submit_then_watch_default(call, signer)
        .await
        .map_err(|error| ChainError::Refused(Box::new(error)))?
        .wait_for_finalized_success()
        .await
        .map_err(finalization_error)
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
    use subxt::{
        error::{TransactionProgressError, TransactionStatusError},
        transactions::TransactionStatus,
    };
    let nonce = next_nonce(rpc, &account_id(signer)).await?;
    let mut progress = sign_and_watch(client, std::slice::from_ref(call), signer, nonce)
        .await?
        .remove(0);
    while let Some(status) = progress.next().await {
        let status = status.map_err(|error| ChainError::Failed(Box::new(error.into())))?;
        match status {
            TransactionStatus::InBestBlock(in_block)
            | TransactionStatus::InFinalizedBlock(in_block) => {
                return in_block
                    .wait_for_success()
                    .await
                    .map_err(|error| ChainError::Failed(Box::new(error.into())));
            }
            TransactionStatus::Invalid { message } | TransactionStatus::Dropped { message } => {
                return Err(ChainError::Invalid(message));
            }
            TransactionStatus::Error { message } => {
                return Err(ChainError::Failed(Box::new(
                    TransactionProgressError::from(TransactionStatusError::Error(message)).into(),
                )));
            }
            _ => continue,
        }
    }
    Err(ChainError::Failed(Box::new(
        TransactionProgressError::UnexpectedEndOfTransactionStatusStream.into(),
    )))
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

/// Signs `calls` with `signer` at consecutive nonces from `first`, all at
/// one block, and hands them to the node's pool at once rather than one
/// after another (each hand-over waits for the node's answer); returns
/// their progress in the order of `calls`.
async fn sign_and_watch<Call: Payload>(
    client: &Client,
    calls: &[Call],
    signer: &Keypair,
    first: u64,
) -> Result<Vec<Progress>, ChainError> {
    let at_block = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?;
    let transactions = at_block.transactions();
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
                .map_err(|error| ChainError::Refused(Box::new(error)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    futures::future::try_join_all(signed.iter().map(|transaction| async move {
        transaction
            .submit_and_watch()
            .await
            .map_err(|error| ChainError::Refused(Box::new(error)))
    }))
    .await
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
    Ok(sign_and_watch(client, calls, signer, first)
        .await?
        .into_iter()
        .map(|progress| -> Finality {
            Box::pin(async move {
                progress
                    .wait_for_finalized_success()
                    .await
                    .map_err(finalization_error)
            })
        })
        .collect())
}

/// Tells a transaction the pool refused apart from one that failed.
fn finalization_error(error: TransactionFinalizedSuccessError) -> ChainError {
    use subxt::error::{TransactionProgressError, TransactionStatusError};
    match error {
        TransactionFinalizedSuccessError::FinalizationError(
            TransactionProgressError::TransactionStatusError(
                TransactionStatusError::Invalid(reason) | TransactionStatusError::Dropped(reason),
            ),
        ) => ChainError::Invalid(reason),
        other => ChainError::Failed(Box::new(other)),
    }
}

/// Signs `calls` with consecutive nonces from `signer`'s next nonce and
/// submits them all without waiting for inclusion.
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
        transactions
            .create_signable_offline(call, params)
            .and_then(|mut signable| signable.sign(signer))
            .map_err(|error| ChainError::Refused(Box::new(error)))?
            .submit()
            .await
            .map_err(|error| ChainError::Refused(Box::new(error)))?;
    }
    Ok(())
}
