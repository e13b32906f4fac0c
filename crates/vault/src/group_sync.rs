//! Durability for concurrent batches with as few file-system syncs as they
//! allow: one sync serves every batch whose writes were done when it began.

use std::sync::atomic::{AtomicU64, Ordering};

/// Runs a blocking sync for callers whose writes are done, sharing each
/// sync among all callers waiting when it begins.
pub struct GroupSync<Sync> {
    sync: std::sync::Arc<Sync>,
    /// Held while a sync runs.
    running: tokio::sync::Mutex<()>,
    /// Syncs begun so far.
    begun: AtomicU64,
    /// The latest sync (by the count of syncs begun) that succeeded.
    succeeded: AtomicU64,
}

impl<Sync> std::fmt::Debug for GroupSync<Sync> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSync")
            .field("begun", &self.begun.load(Ordering::Relaxed))
            .finish()
    }
}

impl<Sync> GroupSync<Sync>
where
    Sync: Fn() -> std::io::Result<()> + Send + std::marker::Sync + 'static,
{
    /// Syncs with `sync`, a blocking call.
    pub fn new(sync: Sync) -> Self {
        Self {
            sync: std::sync::Arc::new(sync),
            running: tokio::sync::Mutex::new(()),
            begun: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
        }
    }

    /// Returns once a sync that began after this call has succeeded: the
    /// caller's writes, done before it, are durable. A sync already under
    /// way may have missed them, so the caller waits for the next one, which
    /// every caller waiting by then shares.
    pub async fn sync(&self) -> std::io::Result<()> {
        let wanted = self.begun.load(Ordering::SeqCst) + 1;
        let _running = self.running.lock().await;
        if self.succeeded.load(Ordering::SeqCst) >= wanted {
            return Ok(());
        }
        let this = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
        let sync = self.sync.clone();
        tokio::task::spawn_blocking(move || sync())
            .await
            .expect("syncing does not panic")?;
        self.succeeded.fetch_max(this, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize},
    };

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_share_syncs_and_each_waits_for_one_begun_after_it() {
        let syncs = Arc::new(AtomicUsize::new(0));
        let counted = syncs.clone();
        let group = Arc::new(GroupSync::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            Ok(())
        }));
        let callers: Vec<_> = (0..32)
            .map(|_| {
                let group = group.clone();
                tokio::spawn(async move { group.sync().await })
            })
            .collect();
        for caller in callers {
            caller.await.unwrap().unwrap();
        }
        let shared = syncs.load(Ordering::SeqCst);
        assert!((1..32).contains(&shared), "32 callers made {shared} syncs");
        // Alone, a caller gets a sync of its own.
        group.sync().await.unwrap();
        assert_eq!(syncs.load(Ordering::SeqCst), shared + 1);
    }

    #[tokio::test]
    async fn a_failed_sync_is_not_taken_for_a_durable_one() {
        let fail = Arc::new(AtomicBool::new(true));
        let failing = fail.clone();
        let group = GroupSync::new(move || {
            if failing.swap(false, Ordering::SeqCst) {
                Err(std::io::Error::other("the disk is gone"))
            } else {
                Ok(())
            }
        });
        assert!(group.sync().await.is_err());
        group.sync().await.unwrap();
        assert!(!fail.load(Ordering::SeqCst));
    }
}
