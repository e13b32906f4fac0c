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
//! - [`import`]: Bundle → encrypted, anchored, stored records;
//! - [`sharing`]: record keys wrapped for a grantee;
//! - [`authoring`]: records written into another patient's record under a
//!   write grant, and collected by that patient's gateway;
//! - [`records`]: the records the user may see, decrypted;
//! - [`consent`]: requests, approvals, denials, revocations, the audit trail;
//! - [`emergency`]: the emergency policy, summary and key shares of a
//!   patient, and a responder's break-glass read ([`custodian_client`]
//!   speaks to the custodians);
//! - [`fhir_api`] and [`api`]: the HTTP interfaces; [`web`]: the web app;
//!   [`server`] runs them.

pub mod api;
pub mod authoring;
pub mod chain;
pub mod config;
pub mod consent;
mod cores;
pub mod custodian_client;
pub mod emergency;
pub mod enrolment;
pub mod error;
pub mod fhir_api;
pub mod full_access;
pub mod import;
pub mod index;
pub mod keyring;
pub mod records;
pub mod server;
pub mod sharing;
pub mod vault_client;
pub mod web;

use std::{collections::HashMap, sync::Arc};

use medigate_chain_client::{AccessChecker, Client, is_registered};
use medigate_crypto::keys::Identity;
use parking_lot::Mutex;

pub use config::GatewayConfig;
pub use error::GatewayError;

/// How many times an unlocked gateway tries to complete interrupted
/// imports, and how long it waits between tries.
const RESUME_ATTEMPTS: u32 = 5;
const RESUME_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// Anchors of shared records seen, by patient and content id.
    pub anchors: Mutex<HashMap<([u8; 32], [u8; 32]), records::SharedAnchor>>,
    /// Where shared records read before are.
    pub seen: Mutex<records::SeenRecords>,
    /// The chain-event follower, once the keys are unlocked.
    pub follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Where the follower tells of new grants of the user's records.
    pub granted: chain::GrantSender,
    /// The other end, taken by the task that shares under those grants.
    pub granted_receiver: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<chain::FollowerNews>>>,
    /// One sharing at a time (an approval, or a grant a delegate made).
    pub sharing_lock: tokio::sync::Mutex<()>,
    /// Records written for the user that did not open as the user's (not
    /// read again).
    pub left_out: Mutex<std::collections::HashSet<[u8; 32]>>,
    /// One collection of records written for the user at a time.
    pub collect_lock: tokio::sync::Mutex<()>,
    /// Records anchored to the user by someone else, not collected yet.
    pub written_for: Mutex<std::collections::HashSet<[u8; 32]>>,
    /// Wakes the collector of records written for the user.
    pub written_news: tokio::sync::Notify,
    /// The custodians' base URLs.
    pub custodians: Vec<String>,
    /// The custodians' accounts, by URL, once asked.
    pub custodian_ids: Mutex<HashMap<String, [u8; 32]>>,
    /// The custodians' client.
    pub custodian_client: custodian_client::CustodianClient,
    /// Where break-glass notices go.
    pub webhook: Option<String>,
    /// The webhook's client.
    pub webhook_client: reqwest::Client,
    /// One emergency preparation at a time.
    pub emergency_lock: tokio::sync::Mutex<()>,
    /// Told when the records changed (the emergency summary may follow).
    pub emergency_refresh: tokio::sync::Notify,
    /// One submission of the user's transactions at a time (see
    /// [`Gateway::submit_calls`]).
    pub signing: tokio::sync::Mutex<()>,
    /// How many requests' handlers panicked (each answered 500, the
    /// gateway serving on); `/health` reports it.
    pub panics: Arc<std::sync::atomic::AtomicU64>,
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis() as i64)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch as an RFC 3339 instant in UTC
/// (`2026-11-24T13:05:00Z`).
pub fn utc_instant(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|instant| {
            instant
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
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
        let mut follower = self.follower.lock();
        if follower.is_none() {
            *follower = Some(tokio::spawn(chain::follow(
                self.chain.clone(),
                self.index.clone(),
                me,
                self.granted.clone(),
            )));
            if let Some(mut granted) = self.granted_receiver.lock().take() {
                let gateway = self.clone();
                tokio::spawn(async move {
                    while let Some(news) = granted.recv().await {
                        match news {
                            chain::FollowerNews::Granted(grant) => {
                                if let Err(error) = gateway.share_new_grant(grant).await {
                                    tracing::warn!(grant, %error, "sharing under a new grant failed");
                                }
                            }
                            chain::FollowerNews::GlassBroken(entry) => {
                                let mine = entry.patient == hex::encode(me);
                                if mine && entry.full_access_ms.is_some() {
                                    tokio::spawn(
                                        gateway.clone().open_full_access_when_due(entry.clone()),
                                    );
                                }
                                gateway.notify_break_glass(entry);
                            }
                            chain::FollowerNews::CustodiansChanged => {
                                gateway.emergency_refresh.notify_one();
                            }
                            chain::FollowerNews::WrittenFor(content_ids) => {
                                gateway.written_for.lock().extend(content_ids);
                                gateway.written_news.notify_one();
                            }
                            chain::FollowerNews::Forged(forgeries) => {
                                for forgery in forgeries {
                                    let gateway = gateway.clone();
                                    tokio::spawn(async move {
                                        let (batch, index) = (forgery.batch, forgery.index);
                                        if let Err(error) =
                                            gateway.prove_forged_receipt(forgery).await
                                        {
                                            tracing::warn!(batch, index, %error, "proving a forged access receipt failed");
                                        }
                                    });
                                }
                            }
                        }
                    }
                });
            }
            // The FHIR validator compiles while the user looks around,
            // not during their first import.
            tokio::task::spawn_blocking(medigate_fhir::validate::prepare);
            tokio::spawn(self.clone().keep_emergency_current());
            tokio::spawn(self.clone().collect_written_for_user());
            let gateway = self.clone();
            tokio::spawn(async move {
                if let Err(error) = gateway.resume_full_access().await {
                    tracing::warn!(%error, "resuming full-record emergency access failed");
                }
            });
            let gateway = self.clone();
            tokio::spawn(async move {
                // A failure (the node busy or restarting) is tried again:
                // an interrupted import must not wait for the next start.
                for attempt in 1..=RESUME_ATTEMPTS {
                    match gateway.resume_imports().await {
                        Ok(0) => return,
                        Ok(count) => {
                            tracing::info!(count, "interrupted imports completed");
                            return;
                        }
                        Err(error) => {
                            tracing::warn!(%error, attempt, "completing interrupted imports failed");
                            tokio::time::sleep(RESUME_RETRY).await;
                        }
                    }
                }
            });
        }
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_print_in_utc() {
        assert_eq!(super::utc_instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::utc_instant(1_795_000_000_000),
            "2026-11-18T11:06:40Z"
        );
        assert_eq!(super::utc_instant(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
