//! Starting a custodian: open its identity, check its standing on the
//! chain, follow the best blocks and serve the API.

use std::sync::Arc;

use medigate_chain_client::{
    Client, connect, connect_http, holds_role, is_registered,
    medigate::runtime_types::medigate_access_policy::terms::Role, subxt::utils::AccountId32,
};
use medigate_crypto::keystore;
use medigate_vault::replay::ReplayGuard;

use crate::{
    config::CustodianConfig,
    releases::ReleaseLog,
    service::{CustodianState, router},
    shares::{ShareStore, ShareStoreError},
    watch::{BreakGlassLog, follow},
};

/// Why a custodian could not start. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The keystore could not be opened.
    #[error("cannot open the keystore {path}: {source}")]
    Keystore {
        /// The keystore file.
        path: String,
        /// Why.
        source: medigate_crypto::CryptoError,
    },
    /// The node could not be reached.
    #[error(transparent)]
    Connect(#[from] medigate_chain_client::ConnectError),
    /// The chain could not be asked about the custodian's account.
    #[error("cannot read the custodian's standing from the chain: {0}")]
    Chain(String),
    /// The account is not registered.
    #[error(
        "the custodian's account {0} is not registered on the chain; register it (Registry.register) before starting"
    )]
    NotRegistered(String),
    /// The account holds no custodian attestation.
    #[error(
        "the custodian's account {0} holds no custodian attestation; ask an authority to attest it, then governance to name it a custodian"
    )]
    NotAttested(String),
    /// The data directory could not be opened.
    #[error("cannot open the custodian's data directory: {0}")]
    Data(String),
    /// The listening address is taken or not allowed.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

impl From<ShareStoreError> for StartError {
    fn from(error: ShareStoreError) -> Self {
        StartError::Data(error.to_string())
    }
}

/// Runs a custodian until `shutdown` resolves.
pub async fn serve(
    config: CustodianConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let identity = keystore::load(&config.keystore, &config.passphrase).map_err(|source| {
        StartError::Keystore {
            path: config.keystore.display().to_string(),
            source,
        }
    })?;
    let account = identity.signing_keypair().public_key().0;
    let secret = identity.encryption_secret();
    drop(identity);

    let chain: Client = connect(&config.node).await?;
    let reads: Client = connect_http(&config.node_http_url()).await?;
    let me = AccountId32(account);
    let chain_error =
        |error: medigate_chain_client::ChainError| StartError::Chain(error.to_string());
    if !is_registered(&reads, &me).await.map_err(chain_error)? {
        return Err(StartError::NotRegistered(hex::encode(account)));
    }
    if !holds_role(&reads, &me, Role::Custodian)
        .await
        .map_err(chain_error)?
    {
        return Err(StartError::NotAttested(hex::encode(account)));
    }

    let seen = BreakGlassLog::new();
    let follower = tokio::spawn(follow(chain, reads.clone(), seen.clone()));
    let state = Arc::new(CustodianState {
        account,
        secret,
        shares: ShareStore::open(&config.data_dir)?,
        releases: ReleaseLog::open(&config.data_dir)
            .map_err(|error| StartError::Data(error.to_string()))?,
        seen,
        replay: ReplayGuard::new(config.request_window_ms),
        reads,
        event_wait: std::time::Duration::from_millis(config.event_wait_ms),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            address: config.listen,
            source,
        })?;
    tracing::info!(
        account = %hex::encode(account),
        listen = %config.listen,
        "custodian serving"
    );
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(StartError::Serve);
    follower.abort();
    served
}
