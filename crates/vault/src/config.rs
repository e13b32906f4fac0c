//! How a vault is run: its command-line options (each also readable from
//! the environment).

use std::{net::SocketAddr, path::PathBuf};

/// Options of `medigate-vault serve`.
#[derive(Clone, Debug, clap::Args)]
pub struct VaultConfig {
    /// The keystore holding the vault's identity (see `medigate-vault new-key`).
    #[arg(long, env = "MEDIGATE_VAULT_KEYSTORE")]
    pub keystore: PathBuf,

    /// The keystore's passphrase.
    #[arg(long, env = "MEDIGATE_VAULT_PASSPHRASE", hide_env_values = true)]
    pub passphrase: String,

    /// Where blobs and wraps are kept when no object store URL is given.
    #[arg(
        long,
        env = "MEDIGATE_VAULT_DATA",
        default_value = "medigate-vault-data"
    )]
    pub data_dir: PathBuf,

    /// Where receipts wait until the chain has finalized them; by default
    /// `receipt-journal` in the data directory. Keep it on a local disk.
    #[arg(long, env = "MEDIGATE_VAULT_RECEIPT_JOURNAL")]
    pub receipt_journal: Option<PathBuf>,

    /// An S3-compatible bucket instead of the local directory, as
    /// `s3://bucket[/prefix]`. Credentials, region and endpoint come from the
    /// usual `AWS_*` environment variables (`AWS_ENDPOINT` for a store other
    /// than Amazon S3, `AWS_ALLOW_HTTP=true` for one on plain HTTP).
    #[arg(long, env = "MEDIGATE_VAULT_STORE")]
    pub store_url: Option<String>,

    /// The address the HTTP API listens on.
    #[arg(long, env = "MEDIGATE_VAULT_LISTEN", default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,

    /// The node's JSON-RPC WebSocket URL (transactions and storage reads).
    #[arg(long, env = "MEDIGATE_NODE", default_value = "ws://127.0.0.1:9944")]
    pub node: String,

    /// The node's JSON-RPC HTTP URL (access checks); by default the
    /// WebSocket URL with `http` for `ws`.
    #[arg(long, env = "MEDIGATE_NODE_HTTP")]
    pub node_http: Option<String>,

    /// The largest blob accepted, in bytes.
    #[arg(long, env = "MEDIGATE_VAULT_MAX_BLOB_BYTES", default_value_t = 2 << 30)]
    pub max_blob_bytes: u64,

    /// How far a signed request's time may be from the vault's clock, in
    /// milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub request_window_ms: u64,

    /// The most reads asked of the chain in one `check_access_many` call.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub check_batch: u16,

    /// The most access-check calls under way at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub checks_in_flight: u16,

    /// How long a stored blob may wait for its record's anchor, in
    /// seconds; then it is erased (a blob nobody anchors would stay for
    /// ever, and nobody could erase it). A day by default.
    #[arg(long, env = "MEDIGATE_VAULT_UNANCHORED_EXPIRY_SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub unanchored_expiry_seconds: u64,

    /// How many receipts may wait for the chain before reads are refused.
    #[arg(long, default_value_t = 100_000)]
    pub receipt_queue: usize,

    /// How long before the end of a block slot receipts are sent, in
    /// milliseconds.
    #[arg(long, default_value_t = 150)]
    pub receipt_margin_ms: u64,
}

impl VaultConfig {
    /// The receipt journal's directory.
    pub fn receipt_journal_dir(&self) -> PathBuf {
        self.receipt_journal
            .clone()
            .unwrap_or_else(|| self.data_dir.join("receipt-journal"))
    }

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
