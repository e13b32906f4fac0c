//! `check_access` without a transaction: what vaults ask before serving a
//! read.
//!
//! The consent runtime API is called with the `state_call` JSON-RPC method
//! over HTTP on a kept-alive connection with `TCP_NODELAY`. Over the node's
//! WebSocket server a small request and its answer can wait for delayed
//! acknowledgements (tens of milliseconds); over HTTP a check takes well
//! under a millisecond on loopback.

use std::sync::Arc;

use crate::http_rpc::{HttpRpc, HttpRpcError};
use crate::medigate::runtime_types::medigate_access_policy::{
    decision::Decision,
    terms::{Action, Purpose},
};
use codec::{Decode, Encode};
use subxt::utils::{AccountId32, H256};

/// A decision of the chain's `check_access`: allowed or not, the grant that
/// allowed it, the reason.
pub type AccessDecision = Decision<u64>;

/// One question to [`AccessChecker::check_access_many`]: may this accessor
/// perform this action on this record of this patient for this purpose?
#[derive(Clone, Debug, Encode)]
pub struct AccessQuestion {
    /// Who asks.
    pub accessor: AccountId32,
    /// The record's owner.
    pub patient: AccountId32,
    /// The record's content id.
    pub record: H256,
    /// Why.
    pub purpose: Purpose,
    /// What.
    pub action: Action,
}

/// The most questions one [`AccessChecker::check_access_many`] call takes
/// (the runtime answers no more).
pub const MAX_ACCESS_QUESTIONS: usize = 1024;

/// Why a check could not be made. A failed check never means "allowed".
#[derive(Debug, thiserror::Error)]
pub enum AccessCheckError {
    /// The node could not be asked, or refused the call (for example, a
    /// runtime without the consent API).
    #[error(transparent)]
    Rpc(#[from] HttpRpcError),
    /// More questions than one call takes.
    #[error("{0} access questions in one call; at most {MAX_ACCESS_QUESTIONS} are answered")]
    TooManyQuestions(usize),
    /// The answer was not a decision.
    #[error("the node's answer to check_access is not a decision: {0}")]
    Malformed(String),
}

/// A client of the consent runtime API.
#[derive(Clone, Debug)]
pub struct AccessChecker {
    rpc: Arc<HttpRpc>,
}

impl AccessChecker {
    /// The JSON-RPC client it asks through.
    pub fn rpc(&self) -> &HttpRpc {
        &self.rpc
    }

    /// A checker that asks the node whose JSON-RPC server listens at
    /// `http_url` (`http://127.0.0.1:9944` for a local dev node).
    pub fn new(http_url: &str) -> Result<Self, AccessCheckError> {
        Ok(Self {
            rpc: Arc::new(HttpRpc::new(http_url)?),
        })
    }

    /// Whether `accessor` may perform `action` on `patient`'s `record` for
    /// `purpose`, at the node's best block.
    pub async fn check_access(
        &self,
        accessor: &AccountId32,
        patient: &AccountId32,
        record: H256,
        purpose: Purpose,
        action: Action,
    ) -> Result<AccessDecision, AccessCheckError> {
        let arguments = (accessor, patient, record, purpose, action).encode();
        let answer = self
            .state_call("ConsentApi_check_access", &arguments)
            .await?;
        AccessDecision::decode(&mut &answer[..])
            .map_err(|error| AccessCheckError::Malformed(error.to_string()))
    }

    /// The decisions for many questions at once, in order, all at the node's
    /// best block: one state call instead of one per question. At most
    /// [`MAX_ACCESS_QUESTIONS`] questions.
    pub async fn check_access_many(
        &self,
        questions: &[AccessQuestion],
    ) -> Result<Vec<AccessDecision>, AccessCheckError> {
        if questions.len() > MAX_ACCESS_QUESTIONS {
            return Err(AccessCheckError::TooManyQuestions(questions.len()));
        }
        let arguments = questions.encode();
        let answer = self
            .state_call("ConsentApi_check_access_many", &arguments)
            .await?;
        let decisions = Vec::<AccessDecision>::decode(&mut &answer[..])
            .map_err(|error| AccessCheckError::Malformed(error.to_string()))?;
        if decisions.len() != questions.len() {
            return Err(AccessCheckError::Malformed(format!(
                "{} decisions for {} questions",
                decisions.len(),
                questions.len()
            )));
        }
        Ok(decisions)
    }

    /// Calls the runtime function `method` with SCALE-encoded `arguments` at
    /// the best block and returns its SCALE-encoded answer.
    async fn state_call(
        &self,
        method: &str,
        arguments: &[u8],
    ) -> Result<Vec<u8>, AccessCheckError> {
        let params =
            serde_json::value::to_raw_value(&(method, format!("0x{}", hex::encode(arguments))))
                .expect("two strings are JSON");
        let answer = self.rpc.request("state_call", Some(&params)).await?;
        let result: String = serde_json::from_str(answer.get())
            .map_err(|error| AccessCheckError::Malformed(error.to_string()))?;
        hex::decode(result.trim_start_matches("0x"))
            .map_err(|error| AccessCheckError::Malformed(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_node_that_does_not_answer_is_an_error_not_a_decision() {
        // Port 9 (discard) is closed on loopback.
        let checker = AccessChecker::new("http://127.0.0.1:9").unwrap();
        let nobody = AccountId32([0; 32]);
        let result = checker
            .check_access(
                &nobody,
                &nobody,
                H256::zero(),
                Purpose::Treatment,
                Action::Read,
            )
            .await;
        assert!(
            matches!(
                result,
                Err(AccessCheckError::Rpc(HttpRpcError::Unreachable { .. }))
            ),
            "{result:?}"
        );
    }
}
