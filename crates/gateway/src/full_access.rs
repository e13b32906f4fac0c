//! Full-record access after a break-glass's veto window.
//!
//! A patient's emergency policy may name a veto window: that long after a
//! break-glass, its emergency grant opens every category of the patient's
//! records, unless the patient or a guardian vetoed it first (or flagged it
//! in review). The chain decides what the vault serves; only the patient's
//! gateway holds the record keys, so it waits out the window and, if the
//! chain still says the break-glass opens everything, wraps the key of each
//! of the patient's records for the responder. A veto afterwards closes
//! the records again: the chain's decision no longer allows the reads.

use std::{collections::HashSet, sync::Arc, time::Duration};

use medigate_chain_client::{
    break_glass, chain_time, encryption_key, medigate, subxt::utils::AccountId32,
};

use crate::{Gateway, emergency::emergency_refusal, error::GatewayError, index::EmergencyEntry};

/// The longest the gateway sleeps before looking at the chain's time again.
const POLL: Duration = Duration::from_secs(2);

impl Gateway {
    /// Vetoes break-glass `id`'s full-record access, as the patient or a
    /// guardian: it keeps to the emergency summary until it ends.
    pub async fn veto_break_glass(&self, id: u64) -> Result<(), GatewayError> {
        let identity = self.keyring.identity()?;
        let call = medigate::tx().emergency().veto(id);
        self.submit(&call, &identity.signing_keypair())
            .await
            .map_err(emergency_refusal)?;
        self.index.set_full_access(id as i64, "vetoed").await?;
        Ok(())
    }

    /// Waits for the full-record access the index holds scheduled on the
    /// user's records (after a restart, say), each in a task of its own.
    /// Returns how many are waited for.
    pub async fn resume_full_access(self: &Arc<Self>) -> Result<usize, GatewayError> {
        let identity = self.keyring.identity()?;
        let me = hex::encode(identity.signing_keypair().public_key().0);
        let now = crate::now_ms();
        let due: Vec<EmergencyEntry> = self
            .index
            .break_glasses()
            .await?
            .into_iter()
            .filter(|entry| {
                entry.patient == me
                    && entry.full_access.as_deref() == Some("scheduled")
                    && entry.expires_ms > now
            })
            .collect();
        let count = due.len();
        for entry in due {
            tokio::spawn(self.clone().open_full_access_when_due(entry));
        }
        Ok(count)
    }

    /// Waits out `entry`'s veto window and opens the user's records to its
    /// responder unless it was vetoed; logs what came of it.
    pub async fn open_full_access_when_due(self: Arc<Self>, entry: EmergencyEntry) {
        match self.open_full_access(&entry).await {
            Ok(Some(records)) => tracing::warn!(
                id = entry.id,
                responder = %entry.responder,
                records,
                "emergency access: the veto window passed without a veto; the responder may read every record"
            ),
            Ok(None) => tracing::info!(id = entry.id, "emergency access: no full-record access"),
            Err(error) => tracing::error!(
                id = entry.id,
                %error,
                "emergency access: opening the records after the veto window failed"
            ),
        }
    }

    /// Once the chain's time reaches the end of `entry`'s veto window, and
    /// if the chain still opens every category to it, wraps every record
    /// key of the user for its responder (a record it reads under a
    /// running grant keeps that grant's wrap). Returns how many records
    /// were wrapped; `None` when there is nothing to open (no veto window,
    /// vetoed, ended, or not the user's records).
    async fn open_full_access(
        &self,
        entry: &EmergencyEntry,
    ) -> Result<Option<usize>, GatewayError> {
        let Some(opens_ms) = entry.full_access_ms.map(|ms| ms as u64) else {
            return Ok(None);
        };
        loop {
            let now = chain_time(&self.reads).await?;
            if now >= entry.expires_ms as u64 {
                return Ok(None);
            }
            if now >= opens_ms {
                break;
            }
            tokio::time::sleep(Duration::from_millis(opens_ms - now).min(POLL)).await;
        }
        let Some(on_chain) = break_glass(&self.reads, entry.id as u64).await? else {
            return Ok(None);
        };
        if on_chain.full_from.is_none() {
            self.index.set_full_access(entry.id, "vetoed").await?;
            return Ok(None);
        }
        let identity = self.keyring.identity()?;
        let me = medigate_chain_client::account_id(&identity.signing_keypair());
        if on_chain.patient != me {
            return Ok(None);
        }
        let responder: AccountId32 = on_chain.responder;
        let responder_key = encryption_key(&self.reads, &responder)
            .await?
            .ok_or_else(|| GatewayError::NotRegistered(hex::encode(responder.0)))?;
        let _one_sharing = self.sharing_lock.lock().await;
        // A record the responder reads under a running grant of the patient
        // keeps the wrap bound to that grant.
        let held = self
            .wrapped_under_running_grants(&hex::encode(responder.0))
            .await?;
        let records: Vec<_> = self
            .index
            .own_records(None)
            .await?
            .into_iter()
            .filter(|record| !held.contains(&record.content_id))
            .collect();
        let opened = self
            .wrap_for(&identity, &records, &responder, responder_key, None)
            .await?;
        self.index.set_full_access(entry.id, "shared").await?;
        Ok(Some(opened.len()))
    }

    /// The user's records wrapped for `grantee` (hex) under grants of the
    /// user's that are neither revoked nor expired, as the index knows them.
    async fn wrapped_under_running_grants(
        &self,
        grantee: &str,
    ) -> Result<HashSet<[u8; 32]>, GatewayError> {
        let now = crate::now_ms();
        let mut held = HashSet::new();
        for granted in self.unrevoked_grants().await? {
            let running = granted.counterparty.as_deref() == Some(grantee)
                && granted.expires_ms.is_some_and(|expires| expires > now);
            if let Some(grant) = granted.grant_id.filter(|_| running) {
                held.extend(self.index.shared_under(grant as u64).await?);
            }
        }
        Ok(held)
    }
}
