//! `check_access` without a transaction: what vaults ask before serving a
//! read.
//!
//! The consent runtime API is called with the `state_call` JSON-RPC method
//! over HTTP on a kept-alive connection with `TCP_NODELAY`. Over the node's
//! WebSocket server a small request and its answer can wait for delayed
//! acknowledgements (tens of milliseconds); over HTTP a check takes well
//! under a millisecond on loopback.

use std::time::Duration;

use crate::medigate::runtime_types::medigate_access_policy::{
    decision::Decision,
    terms::{Action, Purpose},
};
use codec::{Decode, Encode};
use subxt::utils::{AccountId32, H256};

/// A decision of the chain's `check_access`: allowed or not, the grant that
/// allowed it, the reason.
pub type AccessDecision = Decision<u64>;

/// Why a check could not be made. A failed check never means "allowed".
#[derive(Debug, thiserror::Error)]
pub enum AccessCheckError {
    /// The node's HTTP JSON-RPC endpoint did not answer.
    #[error("cannot reach the node's JSON-RPC at {url}: {source}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up an HTTP client: {0}")]
    Setup(reqwest::Error),
    /// The node answered with a JSON-RPC error (for example, a runtime
    /// without the consent API).
    #[error("the node refused check_access: {0}")]
    Refused(String),
    /// The answer was not a decision.
    #[error("the node's answer to check_access is not a decision: {0}")]
    Malformed(String),
}

/// A client of the consent runtime API.
#[derive(Clone, Debug)]
pub struct AccessChecker {
    http: reqwest::Client,
    url: String,
}

impl AccessChecker {
    /// A checker that asks the node whose JSON-RPC server listens at
    /// `http_url` (`http://127.0.0.1:9944` for a local dev node).
    pub fn new(http_url: &str) -> Result<Self, AccessCheckError> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(AccessCheckError::Setup)?;
        Ok(Self {
            http,
            url: http_url.to_string(),
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
        let request = serde_json::json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "state_call",
            "params": ["ConsentApi_check_access", format!("0x{}", hex::encode(arguments))],
        });
        let unreachable = |source| AccessCheckError::Unreachable {
            url: self.url.clone(),
            source,
        };
        let answer: serde_json::Value = self
            .http
            .post(&self.url)
            .json(&request)
            .send()
            .await
            .map_err(unreachable)?
            .json()
            .await
            .map_err(unreachable)?;
        if let Some(error) = answer.get("error") {
            return Err(AccessCheckError::Refused(error.to_string()));
        }
        let result = answer
            .get("result")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| AccessCheckError::Malformed(answer.to_string()))?;
        let bytes = hex::decode(result.trim_start_matches("0x"))
            .map_err(|error| AccessCheckError::Malformed(error.to_string()))?;
        AccessDecision::decode(&mut &bytes[..])
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
            matches!(result, Err(AccessCheckError::Unreachable { .. })),
            "{result:?}"
        );
    }
}
