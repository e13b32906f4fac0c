//! Reads that go with transactions: the chain's clock and balances.

use crate::{ChainError, Client, medigate};
use subxt::utils::AccountId32;

fn storage_error(item: &'static str) -> impl Fn(String) -> ChainError {
    move |reason| ChainError::Storage { item, reason }
}

/// The chain's time at the best block, in milliseconds since the Unix epoch
/// (the time consent windows are checked against).
pub async fn chain_time(client: &Client) -> Result<u64, ChainError> {
    let storage_error = storage_error("Timestamp.Now");
    client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?
        .storage()
        .entry(medigate::storage().timestamp().now())
        .map_err(|error| storage_error(error.to_string()))?
        .fetch(())
        .await
        .map_err(|error| storage_error(error.to_string()))?
        .decode()
        .map_err(|error| storage_error(error.to_string()))
}

/// The free balance of `account` at the best block (zero for an account the
/// chain does not know).
pub async fn free_balance(client: &Client, account: &AccountId32) -> Result<u128, ChainError> {
    let storage_error = storage_error("System.Account");
    let at_block = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?;
    let info = at_block
        .storage()
        .entry(medigate::storage().system().account())
        .map_err(|error| storage_error(error.to_string()))?
        .try_fetch((account.clone(),))
        .await
        .map_err(|error| storage_error(error.to_string()))?;
    match info {
        Some(info) => Ok(info
            .decode()
            .map_err(|error| storage_error(error.to_string()))?
            .data
            .free),
        None => Ok(0),
    }
}
