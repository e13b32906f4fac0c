//! The break-glasses the chain recorded, as this custodian learns of them:
//! every `Emergency.GlassBroken` event of the node's best blocks, kept in
//! memory, and a signal each time a best block was looked at, so that a
//! release request for a break-glass in a block not yet seen can wait for
//! it.

use std::{collections::HashMap, sync::Arc, time::Duration};

use medigate_chain_client::{Client, medigate};
use tokio::sync::{RwLock, watch};

/// A break-glass as its event told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeenBreakGlass {
    /// Whose records.
    pub patient: [u8; 32],
    /// Who broke the glass.
    pub responder: [u8; 32],
    /// When the emergency grant ends (chain time, milliseconds).
    pub expires_at: u64,
    /// The block holding the event.
    pub block: u64,
}

/// The break-glasses seen so far, shared between the follower and requests.
#[derive(Clone, Debug)]
pub struct BreakGlassLog {
    seen: Arc<RwLock<HashMap<u64, SeenBreakGlass>>>,
    /// The number of the latest best block looked at.
    progress: watch::Sender<u64>,
    /// The chain time of the latest best block looked at (milliseconds).
    best_time: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for BreakGlassLog {
    fn default() -> Self {
        Self::new()
    }
}

impl BreakGlassLog {
    /// An empty log.
    pub fn new() -> Self {
        Self {
            seen: Arc::default(),
            progress: watch::channel(0).0,
            best_time: Arc::default(),
        }
    }

    /// Records the break-glasses of block `number`, made at chain time
    /// `time`, and signals it.
    pub async fn record(
        &self,
        number: u64,
        time: u64,
        found: impl IntoIterator<Item = (u64, SeenBreakGlass)>,
    ) {
        self.seen.write().await.extend(found);
        self.best_time
            .fetch_max(time, std::sync::atomic::Ordering::Relaxed);
        self.progress.send_replace(number);
    }

    /// The chain time of the latest best block seen (0 before the first):
    /// what a grant's end is compared with, without waiting for finality.
    pub fn best_time(&self) -> u64 {
        self.best_time.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Break-glass `id`, if seen.
    pub async fn get(&self, id: u64) -> Option<SeenBreakGlass> {
        self.seen.read().await.get(&id).copied()
    }

    /// Break-glass `id`, waiting up to `wait` for a best block holding it.
    pub async fn wait_for(&self, id: u64, wait: Duration) -> Option<SeenBreakGlass> {
        let mut progress = self.progress.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(seen) = self.get(id).await {
                return Some(seen);
            }
            match tokio::time::timeout_at(deadline, progress.changed()).await {
                Ok(Ok(())) => continue,
                _ => return self.get(id).await,
            }
        }
    }
}

/// Follows the node's best blocks (their headers from `client`, a
/// WebSocket client) into `log` until the task is dropped, reading each
/// block's time and events through `reads` (an HTTP client, whose answers
/// come in about a millisecond, so that the follower keeps up with one
/// block a second); errors are logged and the stream opened again.
pub async fn follow(client: Client, reads: Client, log: BreakGlassLog) {
    loop {
        if let Err(error) = follow_once(&client, &reads, &log).await {
            tracing::warn!(%error, "following the chain's best blocks failed; retrying");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn follow_once(client: &Client, reads: &Client, log: &BreakGlassLog) -> Result<(), String> {
    use medigate::emergency::events::GlassBroken;
    let mut blocks = client
        .stream_best_blocks()
        .await
        .map_err(|error| error.to_string())?;
    while let Some(block) = blocks.next().await {
        let block = block.map_err(|error| error.to_string())?;
        let number = block.number();
        let at = reads
            .at_block(block.hash())
            .await
            .map_err(|error| error.to_string())?;
        let storage = at.storage();
        let time_entry = storage
            .entry(medigate::storage().timestamp().now())
            .map_err(|error| error.to_string())?;
        let events = at.events();
        let (time, events) = tokio::join!(time_entry.fetch(()), events.fetch());
        let time = time
            .map_err(|error| error.to_string())?
            .decode()
            .map_err(|error| error.to_string())?;
        let events = events.map_err(|error| error.to_string())?;
        let mut found = Vec::new();
        for event in events.iter() {
            let event = event.map_err(|error| error.to_string())?;
            if let Some(Ok(broken)) = event.decode_fields_as::<GlassBroken>() {
                tracing::info!(
                    id = broken.id,
                    block = number,
                    "a break-glass was recorded on chain"
                );
                found.push((
                    broken.id,
                    SeenBreakGlass {
                        patient: broken.patient.0,
                        responder: broken.responder.0,
                        expires_at: broken.expires_at,
                        block: number,
                    },
                ));
            }
        }
        log.record(number, time, found).await;
    }
    Err("the best block stream ended".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(block: u64) -> SeenBreakGlass {
        SeenBreakGlass {
            patient: [1; 32],
            responder: [2; 32],
            expires_at: 10,
            block,
        }
    }

    #[tokio::test]
    async fn a_request_waits_for_the_block_holding_its_break_glass() {
        let log = BreakGlassLog::new();
        let waiting = tokio::spawn({
            let log = log.clone();
            async move { log.wait_for(4, Duration::from_secs(5)).await }
        });
        log.record(1, 100, []).await;
        log.record(2, 200, [(4, seen(2))]).await;
        assert_eq!(waiting.await.unwrap(), Some(seen(2)));
        assert_eq!(log.best_time(), 200);
    }

    #[tokio::test]
    async fn a_break_glass_never_recorded_is_not_found() {
        let log = BreakGlassLog::new();
        log.record(1, 100, [(3, seen(1))]).await;
        assert_eq!(log.wait_for(9, Duration::from_millis(50)).await, None);
    }
}
