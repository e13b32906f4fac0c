//! JSON-RPC requests over HTTP, for reads that must be quick.
//!
//! A node answers a small request over its WebSocket server in frames that
//! can wait for the client's delayed acknowledgement (about 40 ms each on
//! Linux), so a storage read through the WebSocket client (a finalized head,
//! a header, the value) takes tens of milliseconds. The same requests over
//! HTTP with `TCP_NODELAY` take well under a millisecond on loopback.
//! [`connect_http`] builds a [`Client`] for reads (storage, constants, runtime
//! APIs) over HTTP; transactions and subscriptions need [`crate::connect`].

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use serde_json::value::RawValue;
use subxt::{
    OnlineClient,
    backend::LegacyBackend,
    rpcs::{
        Error as RpcError, UserError,
        client::{RawRpcFuture, RawRpcSubscription, RpcClientT},
    },
};

use crate::{Client, ConnectError, MediGateConfig};

/// A JSON-RPC client that sends each request as an HTTP POST on kept-alive
/// connections with `TCP_NODELAY`. It makes no subscriptions.
#[derive(Debug)]
pub struct HttpRpc {
    http: reqwest::Client,
    url: String,
    next_id: AtomicU64,
    /// Requests under way: bounded, so that a burst queues here instead of
    /// opening more connections than the node serves.
    in_flight: tokio::sync::Semaphore,
}

/// The most requests one [`HttpRpc`] has under way at once.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 16;

/// Why an HTTP JSON-RPC request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpRpcError {
    /// The node could not be reached or its answer not read.
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
    /// The node answered with a JSON-RPC error.
    #[error("the node refused {method}: {message} ({code})")]
    Refused {
        /// The method called.
        method: String,
        /// The JSON-RPC error code.
        code: i32,
        /// The node's message.
        message: String,
    },
    /// The answer is not a JSON-RPC response.
    #[error("the node's answer to {method} is not a JSON-RPC response: {detail}")]
    Malformed {
        /// The method called.
        method: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Subscriptions need the WebSocket client.
    #[error("{0} is a subscription; subscriptions need a WebSocket connection (connect)")]
    NoSubscriptions(String),
}

/// A JSON-RPC request.
#[derive(serde::Serialize)]
struct Request<'a> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: &'a RawValue,
}

/// A JSON-RPC response: a result (which may be `null`) or an error.
#[derive(serde::Deserialize)]
struct Response {
    #[serde(default, deserialize_with = "present")]
    result: Option<Box<RawValue>>,
    error: Option<ResponseError>,
}

/// A member that is there, `null` included (a missing one is `None`).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Box<RawValue>>, D::Error> {
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// The error member of a JSON-RPC response.
#[derive(serde::Deserialize)]
struct ResponseError {
    code: i32,
    message: String,
}

impl HttpRpc {
    /// A client of the node whose JSON-RPC server listens at `url`
    /// (`http://127.0.0.1:9944` for a local dev node).
    pub fn new(url: &str) -> Result<Self, HttpRpcError> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(HttpRpcError::Setup)?;
        Ok(Self {
            http,
            url: url.to_string(),
            next_id: AtomicU64::new(1),
            in_flight: tokio::sync::Semaphore::new(MAX_REQUESTS_IN_FLIGHT),
        })
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with `params` (a JSON array, or none) and returns the
    /// result as raw JSON.
    pub async fn request(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Box<RawValue>, HttpRpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        static NO_PARAMS: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();
        let no_params =
            NO_PARAMS.get_or_init(|| RawValue::from_string("[]".into()).expect("[] is JSON"));
        let request = Request {
            jsonrpc: "2.0",
            id,
            method,
            // Sent as given: large SCALE arguments are not parsed again.
            params: params.unwrap_or(no_params.as_ref()),
        };
        let unreachable = |source| HttpRpcError::Unreachable {
            url: self.url.clone(),
            source,
        };
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let answer = self
            .http
            .post(&self.url)
            .json(&request)
            .send()
            .await
            .map_err(unreachable)?;
        let status = answer.status();
        let body = answer.bytes().await.map_err(unreachable)?;
        let malformed = |detail: String| HttpRpcError::Malformed {
            method: method.to_string(),
            detail,
        };
        if !status.is_success() && !body.starts_with(b"{") {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(malformed(format!("HTTP {status}: {text}")));
        }
        let response: Response =
            serde_json::from_slice(&body).map_err(|error| malformed(error.to_string()))?;
        match (response.result, response.error) {
            (_, Some(error)) => Err(HttpRpcError::Refused {
                method: method.to_string(),
                code: error.code,
                message: error.message,
            }),
            (Some(result), None) => Ok(result),
            (None, None) => Err(malformed("neither a result nor an error".into())),
        }
    }
}

impl RpcClientT for HttpRpc {
    fn request_raw<'a>(
        &'a self,
        method: &'a str,
        params: Option<Box<RawValue>>,
    ) -> RawRpcFuture<'a, Box<RawValue>> {
        Box::pin(async move {
            self.request(method, params.as_deref())
                .await
                .map_err(|error| match error {
                    HttpRpcError::Refused { code, message, .. } => RpcError::User(UserError {
                        code,
                        message,
                        data: None,
                    }),
                    other => RpcError::Client(Box::new(other)),
                })
        })
    }

    fn subscribe_raw<'a>(
        &'a self,
        sub: &'a str,
        _params: Option<Box<RawValue>>,
        _unsub: &'a str,
    ) -> RawRpcFuture<'a, RawRpcSubscription> {
        Box::pin(async move {
            Err(RpcError::Client(Box::new(HttpRpcError::NoSubscriptions(
                sub.to_string(),
            ))))
        })
    }
}

/// A client for reads (storage, constants, runtime APIs) over the node's
/// HTTP JSON-RPC at `url` (`http://127.0.0.1:9944` for a local dev node),
/// at the finalized block. It cannot submit transactions or follow blocks:
/// use [`crate::connect`] for those.
pub async fn connect_http(url: &str) -> Result<Client, ConnectError> {
    let rpc = HttpRpc::new(url).map_err(ConnectError::Http)?;
    let backend = LegacyBackend::<MediGateConfig>::builder().build(rpc);
    OnlineClient::from_backend(std::sync::Arc::new(backend))
        .await
        .map_err(|source| ConnectError::Unreachable {
            url: url.to_string(),
            source: Box::new(source),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Response {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_null_result_is_a_result_and_a_missing_one_is_not() {
        let null = parse(r#"{"jsonrpc":"2.0","id":1,"result":null}"#);
        assert_eq!(null.result.unwrap().get(), "null");
        let refused =
            parse(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no such method"}}"#);
        assert!(refused.result.is_none());
        assert_eq!(refused.error.unwrap().code, -32601);
    }

    #[tokio::test]
    async fn subscriptions_are_refused_with_a_reason() {
        let rpc = HttpRpc::new("http://127.0.0.1:9").unwrap();
        let error = rpc
            .subscribe_raw("chain_subscribeNewHeads", None, "chain_unsubscribeNewHeads")
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains("WebSocket"), "{error}");
    }
}
