//! Starting a vault: open its identity, check its standing on the chain, open
//! its storage, start the receipt committer and serve the API.

use std::{sync::Arc, time::Duration};

use medigate_access_policy::RECEIPT_ROLE;
use medigate_chain_client::{
    AccessChecker, Client, HttpRpc, chain_role, connect, connect_http, holds_role, is_registered,
    medigate, subxt::utils::AccountId32,
};
use medigate_crypto::keystore;
use object_store::ObjectStore;

use crate::{
    access_gate::{AccessGate, GateLimits},
    config::VaultConfig,
    journal::{Journal, JournalError},
    receipts::{ReceiptCommitter, ReceiptQueue},
    replay::ReplayGuard,
    service::{VaultState, router},
    store::{BlobStore, StoreError, hex},
};

/// Why a vault could not start. Each message says what to fix.
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
    /// The node could not be asked about the vault's account.
    #[error("cannot read the vault's standing from the chain: {0}")]
    Chain(String),
    /// The vault's account is not registered.
    #[error(
        "the vault's account {0} is not registered on the chain; register it (Registry.register) before starting the vault"
    )]
    NotRegistered(String),
    /// The vault's account holds no vault attestation, so the chain would
    /// refuse its receipts.
    #[error(
        "the vault's account {0} holds no vault attestation, so the chain would refuse its access receipts; ask an authority to attest it as a vault (role vault)"
    )]
    NotAVault(String),
    /// The receipt journal could not be opened or recovered.
    #[error("cannot open the vault's receipt journal: {0}")]
    Journal(#[from] JournalError),
    /// The object store could not be opened.
    #[error("cannot open the vault's storage: {0}")]
    Store(#[from] StoreError),
    /// The object store URL is not one the vault can use.
    #[error("cannot use the object store {url}: {reason}")]
    StoreUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
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

/// Opens the object store the configuration names.
fn open_store(config: &VaultConfig) -> Result<BlobStore, StartError> {
    let Some(url) = &config.store_url else {
        return Ok(BlobStore::local(&config.data_dir, config.max_blob_bytes)?);
    };
    let unusable = |reason: String| StartError::StoreUrl {
        url: url.clone(),
        reason,
    };
    if !url.starts_with("s3://") {
        return Err(unusable(
            "only s3://bucket[/prefix] URLs are supported (or no URL for the local directory)"
                .into(),
        ));
    }
    let parsed = url::Url::parse(url).map_err(|error| unusable(error.to_string()))?;
    let store = object_store::aws::AmazonS3Builder::from_env()
        .with_url(url.as_str())
        .build()
        .map_err(|error| unusable(error.to_string()))?;
    let prefix = parsed.path().trim_matches('/');
    let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
        Arc::new(store)
    } else {
        Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
    };
    Ok(BlobStore::new(store, config.max_blob_bytes))
}

/// Runs a vault until `shutdown` resolves, then lets the queued receipts
/// reach the chain (for up to a few block slots) before returning.
pub async fn serve(
    config: VaultConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let identity = keystore::load(&config.keystore, &config.passphrase).map_err(|source| {
        StartError::Keystore {
            path: config.keystore.display().to_string(),
            source,
        }
    })?;
    let signer = identity.signing_keypair();
    let vault = AccountId32(signer.public_key().0);

    // Transactions go over the WebSocket; reads over HTTP, where a storage
    // read takes a fraction of a millisecond rather than tens.
    let chain: Client = connect(&config.node).await?;
    let reads: Client = connect_http(&config.node_http_url()).await?;
    let chain_error =
        |error: medigate_chain_client::ChainError| StartError::Chain(error.to_string());
    if !is_registered(&reads, &vault).await.map_err(chain_error)? {
        return Err(StartError::NotRegistered(hex(&vault.0)));
    }
    if !holds_role(&reads, &vault, chain_role(RECEIPT_ROLE))
        .await
        .map_err(chain_error)?
    {
        return Err(StartError::NotAVault(hex(&vault.0)));
    }
    let constants = chain
        .at_current_block()
        .await
        .map_err(|error| StartError::Chain(error.to_string()))?;
    let constants = constants.constants();
    let max_batch = constants
        .entry(medigate::constants().audit().max_receipts_per_batch())
        .map_err(|error| StartError::Chain(error.to_string()))?;
    let slot_ms = 2 * constants
        .entry(medigate::constants().timestamp().minimum_period())
        .map_err(|error| StartError::Chain(error.to_string()))?;

    let store = open_store(&config)?;
    let checker = AccessChecker::new(&config.node_http_url())
        .map_err(|error| StartError::Chain(error.to_string()))?;
    let gate = AccessGate::start(
        checker,
        GateLimits {
            max_batch: config.check_batch.into(),
            max_in_flight: config.checks_in_flight.into(),
        },
    );
    let (journal, recovered) = Journal::open(&config.receipt_journal_dir())?;
    if !recovered.is_empty() {
        tracing::info!(
            receipts = recovered.len(),
            "receipts of an earlier run are sent again from the journal"
        );
    }
    let receipts = ReceiptQueue::new(config.receipt_queue, journal, recovered);
    let committer = ReceiptCommitter::new(
        chain.clone(),
        signer,
        receipts.clone(),
        Duration::from_millis(slot_ms),
        Duration::from_millis(config.receipt_margin_ms),
        max_batch as usize,
    );
    let committing = tokio::spawn(committer.run());

    let expiring = tokio::spawn(crate::expiry::run(
        store.clone(),
        reads.clone(),
        HttpRpc::new(&config.node_http_url())
            .map_err(|error| StartError::Chain(error.to_string()))?,
        crate::expiry::Expiry::after(Duration::from_secs(config.unanchored_expiry_seconds)),
    ));
    let state = Arc::new(VaultState {
        store,
        chain: reads,
        chain_rpc: HttpRpc::new(&config.node_http_url())
            .map_err(|error| StartError::Chain(error.to_string()))?,
        gate,
        guard: ReplayGuard::new(config.request_window_ms),
        receipts: receipts.clone(),
        vault,
        panics: Default::default(),
        batch_bodies: tokio::sync::Semaphore::new(crate::service::BATCHES_IN_MEMORY),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().unwrap_or(config.listen);
    tracing::info!(vault = %hex(&vault.0), %address, "vault listening");
    println!(
        "medigate-vault {} listening on http://{address}",
        hex(&vault.0)
    );

    // Small answers go out at once rather than wait for the client's
    // delayed acknowledgement.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(StartError::Serve)?;

    // Served reads keep their promise: wait for their receipts to leave.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(5 * slot_ms);
    while !receipts.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(slot_ms)).await;
    committing.abort();
    expiring.abort();
    if receipts.unfinalized() > 0 {
        tracing::warn!(
            unfinalized = receipts.unfinalized(),
            "the vault stopped with receipts not yet finalized; they stay in the journal and are sent again at the next start"
        );
    }
    Ok(())
}
