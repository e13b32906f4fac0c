//! Unanchored blobs expire. A registered account may store envelopes before
//! their records are anchored (an import uploads while its anchors are on
//! their way), so a blob whose record is never anchored would otherwise stay
//! forever, with nobody able to erase it. Every upload is listed under
//! `pending/` as it is stored ([`BlobStore::pending_before`]); once a list
//! is older than the expiry, its blobs whose records are not anchored at
//! the finalized block are erased and the list goes.

use std::time::Duration;

use medigate_chain_client::{
    Client, HttpRpc, anchors,
    subxt::utils::{AccountId32, H256},
};

use crate::store::{BlobStore, Id, hex};

/// How unanchored blobs expire.
#[derive(Clone, Copy, Debug)]
pub struct Expiry {
    /// How long a blob may wait for its record's anchor.
    pub after: Duration,
    /// How often the lists are looked at.
    pub every: Duration,
}

impl Expiry {
    /// Blobs expire `after` their upload; lists are looked at four times
    /// as often, between once a second and once every ten minutes.
    pub fn after(after: Duration) -> Self {
        let every = (after / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
        Self { after, every }
    }
}

/// Looks at the pending lists every `expiry.every` for ever, erasing the
/// expired blobs of unanchored records.
pub async fn run(store: BlobStore, chain: Client, rpc: HttpRpc, expiry: Expiry) {
    let mut ticks = tokio::time::interval(expiry.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match sweep(&store, &chain, &rpc, expiry.after).await {
            Ok(0) => {}
            Ok(erased) => tracing::info!(erased, "unanchored blobs expired and were erased"),
            Err(error) => {
                tracing::warn!(%error, "the expiry of unanchored blobs failed; it is tried again")
            }
        }
    }
}

/// Settles every pending list older than `after`: erases its blobs whose
/// records are not anchored; returns how many were erased.
pub async fn sweep(
    store: &BlobStore,
    chain: &Client,
    rpc: &HttpRpc,
    after: Duration,
) -> Result<usize, String> {
    let before = crate::auth::unix_ms().saturating_sub(after.as_millis() as u64);
    let lists = store
        .pending_before(before)
        .await
        .map_err(|error| error.to_string())?;
    let mut erased = 0;
    for (name, content_ids) in lists {
        // Each blob is the record of the patient its envelope's header
        // names; one that is gone already needs nothing, one that is not an
        // envelope can never be anchored.
        let mut expired: Vec<(Option<Id>, Id)> = Vec::new();
        let mut by_owner: std::collections::BTreeMap<Id, Vec<Id>> = Default::default();
        for content_id in content_ids {
            match store.envelope_owner(&content_id).await {
                Ok(Some(owner)) => by_owner.entry(owner).or_default().push(content_id),
                Ok(None) => expired.push((None, content_id)),
                Err(crate::store::StoreError::NotFound(_)) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
        for (owner, content_ids) in by_owner {
            let ids: Vec<H256> = content_ids.iter().copied().map(H256).collect();
            let found = anchors(chain, rpc, &AccountId32(owner), &ids)
                .await
                .map_err(|error| error.to_string())?;
            expired.extend(
                content_ids
                    .iter()
                    .zip(found)
                    .filter(|(_, anchor)| anchor.is_none())
                    .map(|(content_id, _)| (Some(owner), *content_id)),
            );
        }
        for (_, content_id) in &expired {
            tracing::debug!(content_id = %hex(content_id), "an unanchored blob expired");
        }
        store
            .settle_pending(&name, &expired)
            .await
            .map_err(|error| error.to_string())?;
        erased += expired.len();
    }
    Ok(erased)
}
