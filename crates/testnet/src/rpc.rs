//! A minimal JSON-RPC client over HTTP for the standard Substrate methods the
//! harness needs (health, heads, headers).

use serde_json::{Value, json};

use crate::Error;

/// A JSON-RPC client of one node.
#[derive(Clone, Debug)]
pub struct RpcClient {
    url: String,
    http: reqwest::Client,
}

impl RpcClient {
    /// A client of the node whose JSON-RPC server listens on `127.0.0.1:port`.
    pub fn new(port: u16) -> Self {
        Self {
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    /// Calls `method` with `params` and returns its `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, Error> {
        let failure = |message: String| Error::Rpc {
            method: method.to_string(),
            message,
        };
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let response = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|error| failure(error.to_string()))?;
        let mut reply: Value = response
            .json()
            .await
            .map_err(|error| failure(error.to_string()))?;
        if let Some(error) = reply.get("error") {
            return Err(failure(error.to_string()));
        }
        Ok(reply["result"].take())
    }

    /// The number of the best block.
    pub async fn best_number(&self) -> Result<u32, Error> {
        let header = self.call("chain_getHeader", json!([])).await?;
        parse_number("chain_getHeader", &header)
    }

    /// The hash of the last finalised block.
    pub async fn finalized_hash(&self) -> Result<String, Error> {
        let hash = self.call("chain_getFinalizedHead", json!([])).await?;
        hash.as_str().map(str::to_string).ok_or_else(|| Error::Rpc {
            method: "chain_getFinalizedHead".into(),
            message: format!("unexpected result {hash}"),
        })
    }

    /// The number of the last finalised block.
    pub async fn finalized_number(&self) -> Result<u32, Error> {
        let hash = self.finalized_hash().await?;
        let header = self.call("chain_getHeader", json!([hash])).await?;
        parse_number("chain_getHeader", &header)
    }

    /// The hash of block `number` on the best chain, if it exists.
    pub async fn block_hash(&self, number: u32) -> Result<Option<String>, Error> {
        let hash = self.call("chain_getBlockHash", json!([number])).await?;
        Ok(hash.as_str().map(str::to_string))
    }

    /// The header of block `hash`.
    pub async fn header(&self, hash: &str) -> Result<Value, Error> {
        self.call("chain_getHeader", json!([hash])).await
    }

    /// The number of peers the node is connected to.
    pub async fn peer_count(&self) -> Result<u64, Error> {
        let health = self.call("system_health", json!([])).await?;
        health["peers"].as_u64().ok_or_else(|| Error::Rpc {
            method: "system_health".into(),
            message: format!("unexpected result {health}"),
        })
    }
}

/// Reads the hexadecimal `number` field of a header.
fn parse_number(method: &str, header: &Value) -> Result<u32, Error> {
    header["number"]
        .as_str()
        .and_then(|hex| u32::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| Error::Rpc {
            method: method.into(),
            message: format!("unexpected header {header}"),
        })
}
