//! The MediGate gateway: the agent of one patient or one institution.
//!
//! It holds its user's keys (a keystore, unlocked with a passphrase), signs
//! their transactions, encrypts what they import and decrypts what they may
//! read, and serves it in FHIR R4 at `/fhir`. Its index ([`index`]) keeps
//! the user's own envelopes and the chain events that concern the user.
//!
//! - [`keyring`]: the keystore, locked or unlocked;
//! - [`vault_client`]: signed requests to a vault;
//! - [`chain`]: transactions and the follower of finalized events;
//! - [`resources`]: resources kept as their exact JSON text;
//! - [`import`]: Bundle → encrypted, anchored, stored records;
//! - [`sharing`]: record keys wrapped for a grantee;
//! - [`records`]: the records the user may see, decrypted;
//! - [`consent`]: requests, approvals, denials, revocations, the audit trail;
//! - [`fhir_api`] and [`api`]: the HTTP interfaces; [`server`] runs them.

pub mod api;
pub mod chain;
pub mod config;
pub mod consent;
pub mod error;
pub mod fhir_api;
pub mod import;
pub mod index;
pub mod keyring;
pub mod records;
pub mod resources;
pub mod server;
pub mod sharing;
pub mod vault_client;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use medigate_chain_client::{AccessChecker, Client, is_registered};
use medigate_crypto::keys::Identity;

pub use config::GatewayConfig;
pub use error::GatewayError;

/// The gateway's parts, shared by its handlers.
pub struct Gateway {
    /// The user's keys.
    pub keyring: keyring::Keyring,
    /// The chain over WebSocket (transactions, finalized blocks).
    pub chain: Client,
    /// The chain over HTTP (reads).
    pub reads: Client,
    /// The chain's consent API.
    pub checker: AccessChecker,
    /// The vault.
    pub vault: vault_client::VaultClient,
    /// The index.
    pub index: index::Index,
    /// The purpose the user reads for unless a request says otherwise.
    pub default_purpose: String,
    /// One import at a time.
    pub import_lock: tokio::sync::Mutex<()>,
    /// Anchors of shared records seen.
    pub anchors: Mutex<HashMap<[u8; 32], records::SharedAnchor>>,
    /// Where shared records read before are.
    pub seen: Mutex<records::SeenRecords>,
    /// The chain-event follower, once the keys are unlocked.
    pub follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis() as i64)
        .unwrap_or_default()
}

impl Gateway {
    /// Fails with [`GatewayError::NotRegistered`] unless the user's account
    /// is registered on chain.
    pub async fn require_registered(&self, identity: &Identity) -> Result<(), GatewayError> {
        let account = medigate_chain_client::account_id(&identity.signing_keypair());
        if is_registered(&self.reads, &account).await? {
            Ok(())
        } else {
            Err(GatewayError::NotRegistered(hex::encode(account.0)))
        }
    }

    /// Unlocks the keystore, starts following the chain for the user and
    /// completes imports a crash interrupted.
    pub async fn unlock(
        self: &Arc<Self>,
        passphrase: String,
    ) -> Result<Arc<Identity>, GatewayError> {
        let keyring = self.keyring.clone();
        let identity = tokio::task::spawn_blocking(move || keyring.unlock(&passphrase))
            .await
            .expect("unlocking does not panic")?;
        let me = identity.signing_keypair().public_key().0;
        let mut follower = self.follower.lock().expect("not poisoned");
        if follower.is_none() {
            *follower = Some(tokio::spawn(chain::follow(
                self.chain.clone(),
                self.index.clone(),
                me,
            )));
            let gateway = self.clone();
            tokio::spawn(async move {
                match gateway.resume_imports().await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "interrupted imports completed"),
                    Err(error) => tracing::warn!(%error, "completing interrupted imports failed"),
                }
            });
        }
        Ok(identity)
    }
}
