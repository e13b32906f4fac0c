//! How a custodian is run: its command-line options (each also readable
//! from the environment).

use std::{net::SocketAddr, path::PathBuf};

/// Options of `medigate-custodian serve`.
#[derive(Clone, Debug, clap::Args)]
pub struct CustodianConfig {
    /// The keystore holding the custodian's identity (see
    /// `medigate-custodian new-key`).
    #[arg(long, env = "MEDIGATE_CUSTODIAN_KEYSTORE")]
    pub keystore: PathBuf,

    /// The keystore's passphrase.
    #[arg(long, env = "MEDIGATE_CUSTODIAN_PASSPHRASE", hide_env_values = true)]
    pub passphrase: String,

    /// Where the sealed shares and the release log are kept.
    #[arg(
        long,
        env = "MEDIGATE_CUSTODIAN_DATA",
        default_value = "medigate-custodian-data"
    )]
    pub data_dir: PathBuf,

    /// The address the HTTP API listens on.
    #[arg(
        long,
        env = "MEDIGATE_CUSTODIAN_LISTEN",
        default_value = "127.0.0.1:8800"
    )]
    pub listen: SocketAddr,

    /// The node's JSON-RPC WebSocket URL (the block stream).
    #[arg(long, env = "MEDIGATE_NODE", default_value = "ws://127.0.0.1:9944")]
    pub node: String,

    /// The node's JSON-RPC HTTP URL (storage reads); by default the
    /// WebSocket URL with `http` for `ws`.
    #[arg(long, env = "MEDIGATE_NODE_HTTP")]
    pub node_http: Option<String>,

    /// How far a signed request's time may be from the custodian's clock, in
    /// milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub request_window_ms: u64,

    /// How long a release request waits for its break-glass to appear in a
    /// best block, in milliseconds (a responder may ask as soon as the
    /// block is out, before this custodian has seen it).
    #[arg(long, default_value_t = 6_000)]
    pub event_wait_ms: u64,
}

impl CustodianConfig {
    /// The node's HTTP JSON-RPC URL.
    pub fn node_http_url(&self) -> String {
        self.node_http.clone().unwrap_or_else(|| {
            if let Some(rest) = self.node.strip_prefix("ws://") {
                format!("http://{rest}")
            } else if let Some(rest) = self.node.strip_prefix("wss://") {
                format!("https://{rest}")
            } else {
                self.node.clone()
            }
        })
    }
}
