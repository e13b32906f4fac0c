//! How a gateway is run: its command-line options (each also readable from
//! the environment).

use std::{net::SocketAddr, path::PathBuf};

/// The gateway's options.
#[derive(Clone, Debug, clap::Args)]
pub struct GatewayConfig {
    /// The user's keystore (made by `medigate keys new`).
    #[arg(long, env = "MEDIGATE_KEYSTORE")]
    pub keystore: PathBuf,

    /// The keystore's passphrase: given, the gateway starts unlocked;
    /// otherwise it starts locked until `medigate unlock`.
    #[arg(long, env = "MEDIGATE_PASSPHRASE", hide_env_values = true)]
    pub passphrase: Option<String>,

    /// Where the gateway keeps its index (SQLite) and API token.
    #[arg(
        long,
        env = "MEDIGATE_GATEWAY_DATA",
        default_value = "medigate-gateway-data"
    )]
    pub data_dir: PathBuf,

    /// The index database: `sqlite://<path>` (default: `index.db` in the
    /// data directory) or `postgres://user@host:port/database`.
    #[arg(long, env = "MEDIGATE_DATABASE_URL")]
    pub database_url: Option<String>,

    /// The node's WebSocket RPC address.
    #[arg(long, env = "MEDIGATE_NODE", default_value = "ws://127.0.0.1:9944")]
    pub node: String,

    /// The vault's address.
    #[arg(long, env = "MEDIGATE_VAULT", default_value = "http://127.0.0.1:8700")]
    pub vault: String,

    /// The address to serve on.
    #[arg(
        long,
        env = "MEDIGATE_GATEWAY_LISTEN",
        default_value = "127.0.0.1:7070"
    )]
    pub listen: SocketAddr,

    /// The purpose of use the user reads for unless a request names one
    /// (`x-medigate-purpose` header): an HL7 code.
    #[arg(long, env = "MEDIGATE_PURPOSE", default_value = "TREAT")]
    pub purpose: String,

    /// The largest Bundle the gateway accepts, in bytes.
    #[arg(long, default_value_t = 256 << 20)]
    pub max_bundle_bytes: usize,

    /// An origin the web app is reached at besides the listen address
    /// (behind a TLS proxy, say `https://phr.example.org`); repeat the
    /// option (or separate origins with commas) for each. The app refuses a
    /// request naming any other host (a page of another site that had its
    /// own name pointed at the gateway). Given an `https://` origin, the
    /// session cookie is sent over HTTPS only.
    #[arg(
        long = "web-origin",
        env = "MEDIGATE_WEB_ORIGINS",
        value_delimiter = ','
    )]
    pub web_origins: Vec<String>,

    /// Minutes without a request after which a web app session ends.
    #[arg(long, env = "MEDIGATE_WEB_IDLE_MINUTES", default_value_t = 15)]
    pub web_idle_minutes: u64,

    /// A custodian of emergency key shares (its base URL); repeat the option
    /// (or separate URLs with commas) for each. Patients hand their shares
    /// to these; responders ask them for shares.
    #[arg(long = "custodian", env = "MEDIGATE_CUSTODIANS", value_delimiter = ',')]
    pub custodians: Vec<String>,

    /// Where to POST a JSON notice when someone breaks the glass on the
    /// user's records (or on those of a patient they are a guardian of).
    #[arg(long, env = "MEDIGATE_WEBHOOK")]
    pub webhook: Option<String>,
}

impl GatewayConfig {
    /// The index database URL.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("index.db").display()))
    }

    /// The node's HTTP RPC address (same port as its WebSocket).
    pub fn node_http_url(&self) -> String {
        if let Some(rest) = self.node.strip_prefix("ws://") {
            format!("http://{rest}")
        } else if let Some(rest) = self.node.strip_prefix("wss://") {
            format!("https://{rest}")
        } else {
            self.node.clone()
        }
    }

    /// The file holding the API token clients send.
    pub fn token_path(&self) -> PathBuf {
        self.data_dir.join("api-token")
    }
}
