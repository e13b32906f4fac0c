//! Blob and wrap storage over `object_store`.
//!
//! Layout: `blobs/<content id>` holds an envelope, `wraps/<content id>/<grantee>`
//! a key wrap, and `grantees/<grantee>/<content id>` an empty marker for each
//! wrap, so that a grantee's wraps can be listed (ids in lower-case hex). A
//! wrap is written before its marker and its marker erased before it, so an
//! interrupted write or erasure never leaves a marker without its wrap.
//!
//! A blob is streamed in while its BLAKE3 hash and size are computed; it
//! becomes visible only when it is complete, matches its content id and fits
//! the size limit. On a local directory every write is synced and atomically
//! renamed into place before it is acknowledged: after a crash a blob is
//! either whole or absent.

use std::{path::Path, sync::Arc};

use crate::{
    group_sync::GroupSync,
    local_batch::{FileWrite, LocalBatchError, write_batch},
};
use base64::Engine as _;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt, stream::BoxStream};
use medigate_crypto::record::{EnvelopeHeader, HEADER_LEN};
use object_store::{
    GetResultPayload, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart,
    local::LocalFileSystem, path::Path as StorePath,
};
use parking_lot::Mutex;
use schnellru::{ByLength, LruMap};
use tokio_util::io::ReaderStream;

/// A content id or an account id: 32 bytes.
pub type Id = [u8; 32];

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The uploaded bytes do not hash to the content id they were sent under.
    #[error("the body's BLAKE3 hash is {actual}, not the content id {expected}")]
    ContentIdMismatch {
        /// The content id in the request.
        expected: String,
        /// The hash of what arrived.
        actual: String,
    },
    /// The upload is larger than the vault accepts.
    #[error("the body is larger than this vault's limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// No blob (or wrap) is stored under this id.
    #[error("nothing is stored under {0}")]
    NotFound(String),
    /// The upload stream failed before it ended.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// The storage backend failed.
    #[error("storage failed: {0}")]
    Backend(#[from] object_store::Error),
}

/// What storing a blob did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The blob was new and is now stored.
    Created {
        /// Its size in bytes.
        size: u64,
    },
    /// The same blob was already stored; nothing changed.
    AlreadyStored,
}

/// The sync of a local directory's file system.
type LocalSync = GroupSync<Box<dyn Fn() -> std::io::Result<()> + Send + Sync>>;

/// A blocking `syncfs` of the file system holding `root`.
fn syncfs(root: std::path::PathBuf) -> Box<dyn Fn() -> std::io::Result<()> + Send + Sync> {
    Box::new(move || {
        let directory = std::fs::File::open(&root)?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: `syncfs` only reads the descriptor, which stays open
            // for the call.
            if unsafe { libc::syncfs(directory.as_raw_fd()) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        #[cfg(not(target_os = "linux"))]
        directory.sync_all()?;
        Ok(())
    })
}

/// Lower-case hex of an id.
pub fn hex(id: &Id) -> String {
    id.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Blobs and wraps in an object store.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// The local directory, if the store is one: batches are written to it
    /// directly (see [`crate::local_batch`]).
    local: Option<Arc<LocalDirectory>>,
    max_blob_bytes: u64,
    /// The owners the headers of recently stored or read envelopes name
    /// (a blob never changes, so neither does its owner): an import's key
    /// wraps, which follow its envelopes, are checked without reading
    /// each envelope's header back.
    owners: Arc<Mutex<LruMap<Id, Id>>>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("BlobStore")
            .field("store", &self.store)
            .field("local", &self.local)
            .field("max_blob_bytes", &self.max_blob_bytes)
            .finish_non_exhaustive()
    }
}

/// How many envelopes' owners [`BlobStore`] remembers (about 64 bytes
/// each).
const OWNERS_KEPT: u32 = 100_000;

fn owner_cache() -> Arc<Mutex<LruMap<Id, Id>>> {
    Arc::new(Mutex::new(LruMap::new(ByLength::new(OWNERS_KEPT))))
}

/// A local directory that batches are written to.
#[derive(Debug)]
struct LocalDirectory {
    /// The directory.
    root: std::path::PathBuf,
    /// The sync of its file system after a batch: concurrent batches share
    /// syncs.
    sync: LocalSync,
}

/// What storing a batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchStored {
    /// Envelopes stored now.
    pub created: usize,
    /// Envelopes that were stored already.
    pub present: usize,
    /// Key wraps stored.
    pub wraps: usize,
}

/// A key wrap to store: the record's owner (as its envelope's header
/// names them), its content id, the grantee and the wrap's bytes.
#[derive(Clone, Copy, Debug)]
pub struct WrapItem<'a> {
    /// The record's owner.
    pub owner: Id,
    /// The record's content id.
    pub content_id: Id,
    /// Who the wrap is for.
    pub grantee: Id,
    /// The wrap.
    pub bytes: &'a [u8],
}

/// The owner the envelope header at the start of `bytes` names, if it is
/// one.
pub fn envelope_owner_of(bytes: &[u8]) -> Option<Id> {
    EnvelopeHeader::parse(bytes.get(..HEADER_LEN)?)
        .ok()
        .map(|header| header.binding.owner)
}

/// Where the lists of blobs not yet known to be anchored are kept.
const PENDING_PREFIX: &str = "pending";

/// Writes at once while storing a batch.
const BATCH_WRITES_IN_FLIGHT: usize = 16;

/// Bytes collected before one part goes to the backend.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Bytes read from a local file at a time when a blob is served.
const READ_CHUNK_BYTES: usize = 1024 * 1024;

impl BlobStore {
    /// A store in the local directory `root` (created if missing), with
    /// durable writes; blobs over `max_blob_bytes` are refused.
    pub fn local(root: &Path, max_blob_bytes: u64) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(|error| {
            StoreError::Backend(object_store::Error::Generic {
                store: "LocalFileSystem",
                source: Box::new(error),
            })
        })?;
        let store = LocalFileSystem::new_with_prefix(root)?.with_fsync(true);
        Ok(Self {
            store: Arc::new(store),
            owners: owner_cache(),
            local: Some(Arc::new(LocalDirectory {
                root: root.to_path_buf(),
                sync: GroupSync::new(syncfs(root.to_path_buf())),
            })),
            max_blob_bytes,
        })
    }

    /// A store on any `object_store` backend (whose writes are durable when
    /// they return).
    pub fn new(store: Arc<dyn ObjectStore>, max_blob_bytes: u64) -> Self {
        Self {
            store,
            local: None,
            owners: owner_cache(),
            max_blob_bytes,
        }
    }

    /// Stores a batch of small envelopes and key wraps (see
    /// [`crate::batch`]): every envelope must hash to its content id and
    /// fit the limit, and every wrap's envelope must be stored or in the
    /// batch, or nothing is stored. On a local directory writes are not
    /// synced one by one: the whole file system is synced once before this
    /// returns, so an acknowledged batch is as durable as single uploads
    /// (other backends' writes are durable when they return).
    pub async fn put_batch(
        &self,
        envelopes: &[(Id, &[u8])],
        wraps: &[WrapItem<'_>],
    ) -> Result<BatchStored, StoreError> {
        for (content_id, bytes) in envelopes {
            if bytes.len() as u64 > self.max_blob_bytes {
                return Err(StoreError::TooLarge {
                    limit: self.max_blob_bytes,
                });
            }
            let actual = *blake3::hash(bytes).as_bytes();
            if actual != *content_id {
                return Err(StoreError::ContentIdMismatch {
                    expected: hex(content_id),
                    actual: hex(&actual),
                });
            }
        }
        // Before the envelopes: no blob is ever stored untracked. A batch
        // refused from here on takes its list away again.
        let list = if envelopes.is_empty() {
            None
        } else {
            let ids: Vec<Id> = envelopes
                .iter()
                .map(|(content_id, _)| *content_id)
                .collect();
            Some(self.note_pending(&ids).await?)
        };
        let stored = self.write_checked_batch(envelopes, wraps).await;
        match (&stored, list) {
            (Err(_), Some(list)) => {
                let _ = self.store.delete(&list).await;
            }
            (Ok(_), _) => {
                let mut owners = self.owners.lock();
                for (content_id, bytes) in envelopes {
                    if let Some(owner) = envelope_owner_of(bytes) {
                        owners.insert(*content_id, owner);
                    }
                }
            }
            _ => {}
        }
        stored
    }

    /// [`Self::put_batch`] once its envelopes are checked and listed.
    async fn write_checked_batch(
        &self,
        envelopes: &[(Id, &[u8])],
        wraps: &[WrapItem<'_>],
    ) -> Result<BatchStored, StoreError> {
        let in_batch: std::collections::HashSet<Id> = envelopes
            .iter()
            .map(|(content_id, _)| *content_id)
            .collect();
        let outside: std::collections::BTreeSet<Id> = wraps
            .iter()
            .map(|wrap| wrap.content_id)
            .filter(|content_id| !in_batch.contains(content_id))
            .collect();
        if let Some(local) = &self.local {
            return self
                .put_local_batch(local, envelopes, wraps, &outside)
                .await;
        }
        for content_id in &outside {
            if !self.contains(content_id).await? {
                return Err(StoreError::NotFound(hex(content_id)));
            }
        }
        let mut stored = BatchStored::default();
        // Owned items: the writes below run concurrently.
        let envelopes: Vec<(Id, Bytes)> = envelopes
            .iter()
            .map(|(content_id, bytes)| (*content_id, Bytes::copy_from_slice(bytes)))
            .collect();
        let wraps: Vec<(Id, Id, Id, Bytes)> = wraps
            .iter()
            .map(|wrap| {
                (
                    wrap.owner,
                    wrap.content_id,
                    wrap.grantee,
                    Bytes::copy_from_slice(wrap.bytes),
                )
            })
            .collect();
        let created: Vec<bool> = futures::stream::iter(envelopes)
            .map(|(content_id, bytes)| async move {
                if self.contains(&content_id).await? {
                    return Ok::<_, StoreError>(false);
                }
                self.store
                    .put(&Self::blob_path(&content_id), PutPayload::from(bytes))
                    .await?;
                Ok(true)
            })
            .buffer_unordered(BATCH_WRITES_IN_FLIGHT)
            .try_collect()
            .await?;
        stored.created = created.iter().filter(|created| **created).count();
        stored.present = created.len() - stored.created;
        stored.wraps = wraps.len();
        futures::stream::iter(wraps)
            .map(|(owner, content_id, grantee, bytes)| async move {
                self.store
                    .put(
                        &Self::wrap_path(&content_id, &grantee),
                        PutPayload::from(bytes),
                    )
                    .await?;
                self.store
                    .put(
                        &Self::marker_path(&grantee, &owner, &content_id),
                        PutPayload::default(),
                    )
                    .await?;
                Ok::<_, StoreError>(())
            })
            .buffer_unordered(BATCH_WRITES_IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(stored)
    }

    /// [`Self::put_batch`] on a local directory, checked: every file of
    /// the batch written on one blocking thread, then the file system
    /// synced. `outside` are the blobs the wraps need that the batch does
    /// not bring.
    async fn put_local_batch(
        &self,
        local: &Arc<LocalDirectory>,
        envelopes: &[(Id, &[u8])],
        wraps: &[WrapItem<'_>],
        outside: &std::collections::BTreeSet<Id>,
    ) -> Result<BatchStored, StoreError> {
        let required: Vec<String> = outside
            .iter()
            .map(|content_id| Self::blob_path(content_id).to_string())
            .collect();
        let mut writes = Vec::with_capacity(envelopes.len() + 2 * wraps.len());
        for (content_id, bytes) in envelopes {
            writes.push(FileWrite {
                path: Self::blob_path(content_id).to_string(),
                bytes: Bytes::copy_from_slice(bytes),
                keep_existing: true,
            });
        }
        for wrap in wraps {
            // The wrap before its marker: a marker never names a wrap that
            // was not written.
            writes.push(FileWrite {
                path: Self::wrap_path(&wrap.content_id, &wrap.grantee).to_string(),
                bytes: Bytes::copy_from_slice(wrap.bytes),
                keep_existing: false,
            });
            writes.push(FileWrite {
                path: Self::marker_path(&wrap.grantee, &wrap.owner, &wrap.content_id).to_string(),
                bytes: Bytes::new(),
                keep_existing: true,
            });
        }
        let root = local.root.clone();
        let written = tokio::task::spawn_blocking(move || write_batch(&root, &required, &writes))
            .await
            .expect("writing a batch does not panic")
            .map_err(|error| match error {
                LocalBatchError::Missing(path) => {
                    StoreError::NotFound(path.rsplit('/').next().unwrap_or(&path).to_string())
                }
                error => local_error(error),
            })?;
        let created = written[..envelopes.len()]
            .iter()
            .filter(|created| **created)
            .count();
        self.sync().await?;
        Ok(BatchStored {
            created,
            present: envelopes.len() - created,
            wraps: wraps.len(),
        })
    }

    /// Makes every write so far durable: a `syncfs` of the local
    /// directory's file system, begun after this call and shared with the
    /// batches that end meanwhile (nothing to do for other backends).
    async fn sync(&self) -> Result<(), StoreError> {
        let Some(local) = &self.local else {
            return Ok(());
        };
        local.sync.sync().await.map_err(local_error)
    }

    /// The size limit of blobs, in bytes.
    pub fn max_blob_bytes(&self) -> u64 {
        self.max_blob_bytes
    }

    fn blob_path(content_id: &Id) -> StorePath {
        StorePath::from(format!("blobs/{}", hex(content_id)))
    }

    fn wraps_prefix(content_id: &Id) -> StorePath {
        StorePath::from(format!("wraps/{}", hex(content_id)))
    }

    fn wrap_path(content_id: &Id, grantee: &Id) -> StorePath {
        StorePath::from(format!("wraps/{}/{}", hex(content_id), hex(grantee)))
    }

    fn grantee_prefix(grantee: &Id) -> StorePath {
        StorePath::from(format!("grantees/{}", short(grantee)))
    }

    /// A grantee's marker of a wrap: under the grantee, the record's
    /// owner, then the content id, so that a listing says whose records
    /// they are. The ids are in unpadded URL-safe base64 (43 characters,
    /// not 64): some S3-compatible stores keep an object's metadata in a
    /// file named after its whole key, which three hex ids make too long.
    fn marker_path(grantee: &Id, owner: &Id, content_id: &Id) -> StorePath {
        StorePath::from(format!(
            "grantees/{}/{}/{}",
            short(grantee),
            short(owner),
            short(content_id)
        ))
    }

    /// The owner (the patient's account) an envelope's header names, read
    /// from the stored blob's first bytes; `None` when the blob is not an
    /// envelope.
    pub async fn envelope_owner(&self, content_id: &Id) -> Result<Option<Id>, StoreError> {
        if let Some(owner) = self.owners.lock().get(content_id) {
            return Ok(Some(*owner));
        }
        let path = Self::blob_path(content_id);
        match self.store.get_range(&path, 0..HEADER_LEN as u64).await {
            Ok(header) => {
                let owner = envelope_owner_of(&header);
                if let Some(owner) = owner {
                    self.owners.lock().insert(*content_id, owner);
                }
                Ok(owner)
            }
            Err(object_store::Error::NotFound { .. }) => Err(StoreError::NotFound(hex(content_id))),
            // A range past the end of an empty blob is an error of its own.
            Err(error) => match self.store.head(&path).await {
                Ok(meta) if meta.size < HEADER_LEN as u64 => Ok(None),
                _ => Err(error.into()),
            },
        }
    }

    fn pending_prefix() -> StorePath {
        StorePath::from(PENDING_PREFIX)
    }

    /// Notes that the blobs `content_ids` are being stored now and are not
    /// known to be anchored: a list of their ids under `pending/`, named
    /// by the time (milliseconds since the Unix epoch, 13 digits) and the
    /// list's own BLAKE3 hash (so two lists never share a name unless they
    /// are the same). Written before the blobs, so that none is stored
    /// untracked.
    async fn note_pending(&self, content_ids: &[Id]) -> Result<StorePath, StoreError> {
        let list: Vec<u8> = content_ids.iter().flatten().copied().collect();
        let name = format!(
            "{PENDING_PREFIX}/{:013}-{}",
            crate::auth::unix_ms(),
            hex(blake3::hash(&list).as_bytes())
        );
        let name = StorePath::from(name);
        self.store.put(&name, PutPayload::from(list)).await?;
        Ok(name)
    }

    /// The lists of blobs stored before `before_ms` (milliseconds since the
    /// Unix epoch) and not yet settled by [`Self::settle_pending`]: each
    /// list's name, and the content ids it names.
    pub async fn pending_before(
        &self,
        before_ms: u64,
    ) -> Result<Vec<(String, Vec<Id>)>, StoreError> {
        let lists: Vec<StorePath> = self
            .store
            .list(Some(&Self::pending_prefix()))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        let mut pending = Vec::new();
        for list in lists {
            let Some(name) = list.filename() else {
                continue;
            };
            let written_ms = name
                .split_once('-')
                .and_then(|(ms, _)| ms.parse::<u64>().ok());
            if written_ms.is_none_or(|written_ms| written_ms >= before_ms) {
                continue;
            }
            let bytes = match self.store.get(&list).await {
                Ok(found) => found.bytes().await?,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(error) => return Err(error.into()),
            };
            let ids = bytes
                .chunks_exact(32)
                .map(|chunk| chunk.try_into().expect("chunks of 32 bytes"))
                .collect();
            pending.push((name.to_string(), ids));
        }
        Ok(pending)
    }

    /// Settles the pending list `name`: erases its blobs `expired` (with
    /// their wraps; each with the owner its header names, if any), then the
    /// list itself.
    pub async fn settle_pending(
        &self,
        name: &str,
        expired: &[(Option<Id>, Id)],
    ) -> Result<(), StoreError> {
        for (owner, content_id) in expired {
            self.delete_blob(owner.as_ref(), content_id).await?;
        }
        let list = StorePath::from(format!("{PENDING_PREFIX}/{name}"));
        ignore_missing(self.store.delete(&list).await)
    }

    /// Whether a blob is stored under `content_id`.
    pub async fn contains(&self, content_id: &Id) -> Result<bool, StoreError> {
        match self.store.head(&Self::blob_path(content_id)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Stores the blob streamed in `body` under `content_id`. Nothing is
    /// stored unless the whole body arrives, fits the limit and hashes to
    /// `content_id`. Storing a blob that is already stored changes nothing.
    pub async fn put_blob<E: std::fmt::Display>(
        &self,
        content_id: &Id,
        body: impl Stream<Item = Result<Bytes, E>>,
    ) -> Result<Stored, StoreError> {
        if self.contains(content_id).await? {
            return Ok(Stored::AlreadyStored);
        }
        let list = self.note_pending(std::slice::from_ref(content_id)).await?;
        let stored = self.stream_blob(content_id, body).await;
        if stored.is_err() {
            // Nothing was stored: the list goes too.
            let _ = self.store.delete(&list).await;
        }
        stored
    }

    /// [`Self::put_blob`] once the blob is listed as pending.
    async fn stream_blob<E: std::fmt::Display>(
        &self,
        content_id: &Id,
        body: impl Stream<Item = Result<Bytes, E>>,
    ) -> Result<Stored, StoreError> {
        let upload = self
            .store
            .put_multipart(&Self::blob_path(content_id))
            .await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        let mut head = Vec::with_capacity(HEADER_LEN);
        let mut body = std::pin::pin!(body);
        let failure = loop {
            match body.next().await {
                None => break None,
                Some(Err(error)) => break Some(StoreError::Interrupted(error.to_string())),
                Some(Ok(bytes)) => {
                    size += bytes.len() as u64;
                    if size > self.max_blob_bytes {
                        break Some(StoreError::TooLarge {
                            limit: self.max_blob_bytes,
                        });
                    }
                    hasher.update(&bytes);
                    let wanted = (HEADER_LEN - head.len()).min(bytes.len());
                    head.extend_from_slice(&bytes[..wanted]);
                    if let Err(error) = writer.wait_for_capacity(2).await {
                        break Some(error.into());
                    }
                    writer.write(&bytes);
                }
            }
        };
        let actual = *hasher.finalize().as_bytes();
        let failure = failure.or_else(|| {
            (actual != *content_id).then(|| StoreError::ContentIdMismatch {
                expected: hex(content_id),
                actual: hex(&actual),
            })
        });
        if let Some(error) = failure {
            // Nothing was published: the staged upload goes away.
            let _ = writer.abort().await;
            return Err(error);
        }
        writer.finish().await?;
        if let Some(owner) = envelope_owner_of(&head) {
            self.owners.lock().insert(*content_id, owner);
        }
        Ok(Stored::Created { size })
    }

    /// The blob stored under `content_id`, as a stream.
    pub async fn get_blob(
        &self,
        content_id: &Id,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes, StoreError>>), StoreError> {
        let found = self
            .store
            .get(&Self::blob_path(content_id))
            .await
            .map_err(|error| not_found(error, content_id))?;
        let size = found.meta.size;
        let stream = match found.payload {
            // A local file is read in large chunks (object_store's own
            // stream reads 8 KiB at a time, each on a blocking thread), but
            // no larger than the blob: a 4 KiB record takes one 4 KiB read,
            // not a 1 MiB buffer allocated and freed for each read.
            GetResultPayload::File(file, _) => {
                let chunk = usize::try_from(size)
                    .unwrap_or(READ_CHUNK_BYTES)
                    .clamp(1, READ_CHUNK_BYTES);
                ReaderStream::with_capacity(tokio::fs::File::from_std(file), chunk)
                    .map_err(|error| {
                        StoreError::Backend(object_store::Error::Generic {
                            store: "LocalFileSystem",
                            source: Box::new(error),
                        })
                    })
                    .boxed()
            }
            GetResultPayload::Stream(stream) => stream.map_err(StoreError::from).boxed(),
        };
        Ok((size, stream))
    }

    /// Stores the key wrap of `content_id` for `grantee` (replacing an
    /// earlier one) and marks it in the grantee's list. The blob must be
    /// stored.
    pub async fn put_wrap(
        &self,
        owner: &Id,
        content_id: &Id,
        grantee: &Id,
        wrap: Bytes,
    ) -> Result<(), StoreError> {
        if !self.contains(content_id).await? {
            return Err(StoreError::NotFound(hex(content_id)));
        }
        self.store
            .put(
                &Self::wrap_path(content_id, grantee),
                PutPayload::from(wrap),
            )
            .await?;
        // After the wrap: a marker never names a wrap that was not written.
        self.store
            .put(
                &Self::marker_path(grantee, owner, content_id),
                PutPayload::default(),
            )
            .await?;
        Ok(())
    }

    /// The records with a key wrap for `grantee`, as (owner, content id),
    /// sorted; of `owner`'s records only, when given.
    pub async fn list_wraps_for(
        &self,
        grantee: &Id,
        owner: Option<&Id>,
    ) -> Result<Vec<(Id, Id)>, StoreError> {
        let prefix = match owner {
            Some(owner) => StorePath::from(format!("grantees/{}/{}", short(grantee), short(owner))),
            None => Self::grantee_prefix(grantee),
        };
        let markers: Vec<StorePath> = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        let mut records: Vec<(Id, Id)> = markers
            .iter()
            .filter_map(|marker| {
                let mut parts = marker.parts();
                let (_, _, owner, content_id) =
                    (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
                Some((
                    parse_short_id(owner.as_ref())?,
                    parse_short_id(content_id.as_ref())?,
                ))
            })
            .collect();
        records.sort_unstable();
        records.dedup();
        Ok(records)
    }

    /// The key wrap of `content_id` for `grantee`.
    pub async fn get_wrap(&self, content_id: &Id, grantee: &Id) -> Result<Bytes, StoreError> {
        let found = self
            .store
            .get(&Self::wrap_path(content_id, grantee))
            .await
            .map_err(|error| not_found(error, grantee))?;
        Ok(found.bytes().await?)
    }

    /// Erases the blob, every wrap of it and their markers in the grantees'
    /// lists (under `owner`, the owner its header names, if it names one).
    /// Erasing what is not stored is not an error.
    pub async fn delete_blob(&self, owner: Option<&Id>, content_id: &Id) -> Result<(), StoreError> {
        let wraps: Vec<StorePath> = self
            .store
            .list(Some(&Self::wraps_prefix(content_id)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for wrap in wraps {
            // The marker first: an erasure cut short leaves the wrap, which
            // the next erasure finds, never a marker that nothing leads to.
            if let (Some(grantee), Some(owner)) = (wrap.filename().and_then(parse_hex_id), owner) {
                ignore_missing(
                    self.store
                        .delete(&Self::marker_path(&grantee, owner, content_id))
                        .await,
                )?;
            }
            ignore_missing(self.store.delete(&wrap).await)?;
        }
        ignore_missing(self.store.delete(&Self::blob_path(content_id)).await)?;
        self.owners.lock().remove(content_id);
        Ok(())
    }
}

/// A local directory's failure as a backend error.
fn local_error(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(error),
    })
}

/// An id as 43 characters of unpadded URL-safe base64.
fn short(id: &Id) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// The id [`short`] wrote as `text`, if it is one.
fn parse_short_id(text: &str) -> Option<Id> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?
        .try_into()
        .ok()
}

/// The id written as 64 hex digits in `text`, if it is one.
fn parse_hex_id(text: &str) -> Option<Id> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |digit: u8| char::from(digit).to_digit(16).map(|value| value as u8);
    let mut id = [0u8; 32];
    for (byte, pair) in id.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(id)
}

fn not_found(error: object_store::Error, id: &Id) -> StoreError {
    match error {
        object_store::Error::NotFound { .. } => StoreError::NotFound(hex(id)),
        other => other.into(),
    }
}

fn ignore_missing(result: object_store::Result<()>) -> Result<(), StoreError> {
    match result {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&[u8]]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + use<> {
        let parts: Vec<Result<Bytes, std::io::Error>> = parts
            .iter()
            .map(|part| Ok(Bytes::copy_from_slice(part)))
            .collect();
        futures::stream::iter(parts)
    }

    fn id_of(bytes: &[u8]) -> Id {
        *blake3::hash(bytes).as_bytes()
    }

    async fn read_all(store: &BlobStore, content_id: &Id) -> Vec<u8> {
        let (_, stream) = store.get_blob(content_id).await.unwrap();
        let parts: Vec<Bytes> = stream.try_collect().await.unwrap();
        parts.concat()
    }

    /// The owner of the tests' records.
    const PATIENT: Id = [9u8; 32];

    /// A wrap of `PATIENT`'s record `content_id` for `grantee`.
    fn item(content_id: Id, grantee: Id, bytes: &[u8]) -> WrapItem<'_> {
        WrapItem {
            owner: PATIENT,
            content_id,
            grantee,
            bytes,
        }
    }

    /// The files under `root` but the lists of pending uploads (which the
    /// expiry settles).
    fn stored_files(root: &Path) -> Vec<std::path::PathBuf> {
        files_under(root)
            .into_iter()
            .filter(|file| !file.starts_with(root.join(PENDING_PREFIX)))
            .collect()
    }

    fn files_under(root: &Path) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(directory) = pending.pop() {
            for entry in std::fs::read_dir(directory).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(path);
                }
            }
        }
        found
    }

    #[tokio::test]
    async fn a_blob_streams_in_and_out_unchanged() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let envelope = b"MGE1 an envelope in three parts".to_vec();
        let content_id = id_of(&envelope);
        let stored = store
            .put_blob(
                &content_id,
                body(&[&envelope[..5], &envelope[5..9], &envelope[9..]]),
            )
            .await
            .unwrap();
        assert_eq!(
            stored,
            Stored::Created {
                size: envelope.len() as u64
            }
        );
        assert_eq!(read_all(&store, &content_id).await, envelope);
    }

    #[tokio::test]
    async fn a_blob_of_several_parts_streams_in_and_out_unchanged() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 64 << 20).unwrap();
        let envelope: Vec<u8> = (0..(PART_BYTES * 2 + 12_345))
            .map(|index| (index % 251) as u8)
            .collect();
        let content_id = id_of(&envelope);
        let pieces: Vec<&[u8]> = envelope.chunks(64 * 1024).collect();
        store.put_blob(&content_id, body(&pieces)).await.unwrap();
        assert_eq!(read_all(&store, &content_id).await, envelope);
    }

    #[tokio::test]
    async fn the_same_blob_twice_changes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let content_id = id_of(b"once");
        store.put_blob(&content_id, body(&[b"once"])).await.unwrap();
        let again = store.put_blob(&content_id, body(&[b"once"])).await.unwrap();
        assert_eq!(again, Stored::AlreadyStored);
    }

    #[tokio::test]
    async fn a_body_that_does_not_match_its_content_id_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let content_id = id_of(b"the real envelope");
        let error = store
            .put_blob(&content_id, body(&[b"a forged envelope"]))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::ContentIdMismatch { .. }),
            "{error}"
        );
        assert!(!store.contains(&content_id).await.unwrap());
        assert!(
            files_under(root.path()).is_empty(),
            "{:?}",
            files_under(root.path())
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 8).unwrap();
        let envelope = b"twelve bytes";
        let content_id = id_of(envelope);
        let error = store
            .put_blob(&content_id, body(&[&envelope[..6], &envelope[6..]]))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::TooLarge { limit: 8 }),
            "{error}"
        );
        assert!(files_under(root.path()).is_empty());
    }

    #[tokio::test]
    async fn an_interrupted_upload_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let parts: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"half an env")),
            Err(std::io::Error::other("connection reset")),
        ];
        let error = store
            .put_blob(&id_of(b"half an envelope"), futures::stream::iter(parts))
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Interrupted(_)), "{error}");
        assert!(files_under(root.path()).is_empty());
    }

    #[tokio::test]
    async fn a_batch_is_read_back_like_single_writes_and_a_refused_one_writes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let (first, second) = (id_of(b"first envelope"), id_of(b"second envelope"));
        let (owner, doctor) = ([1u8; 32], [2u8; 32]);
        // A wrap of a blob that is neither stored nor in the batch.
        let refused = store
            .put_batch(
                &[(first, b"first envelope".as_slice())],
                &[item(second, owner, b"wrap")],
            )
            .await;
        assert!(matches!(refused, Err(StoreError::NotFound(ref id)) if *id == hex(&second)));
        assert!(files_under(root.path()).is_empty());

        let stored = store
            .put_batch(
                &[(first, b"first envelope".as_slice())],
                &[item(first, owner, b"owner's wrap")],
            )
            .await
            .unwrap();
        assert_eq!(
            stored,
            BatchStored {
                created: 1,
                present: 0,
                wraps: 1
            }
        );
        // Wraps of a stored blob, and the same envelope again.
        let stored = store
            .put_batch(
                &[
                    (first, b"first envelope".as_slice()),
                    (second, b"second envelope".as_slice()),
                ],
                &[
                    item(first, doctor, b"doctor's wrap"),
                    item(second, owner, b"owner's second wrap"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            stored,
            BatchStored {
                created: 1,
                present: 1,
                wraps: 2
            }
        );
        assert_eq!(read_all(&store, &second).await, b"second envelope");
        assert_eq!(
            store.get_wrap(&first, &doctor).await.unwrap(),
            Bytes::from_static(b"doctor's wrap")
        );
        let mut mine = vec![first, second];
        mine.sort_unstable();
        assert_eq!(
            store.list_wraps_for(&owner, None).await.unwrap(),
            mine.iter().map(|id| (PATIENT, *id)).collect::<Vec<_>>()
        );
        assert_eq!(
            store.list_wraps_for(&doctor, None).await.unwrap(),
            [(PATIENT, first)]
        );
        assert!(
            files_under(root.path())
                .iter()
                .all(|file| !file.to_string_lossy().contains('#')),
            "no staged file stays"
        );
    }

    #[tokio::test]
    async fn wraps_belong_to_stored_blobs_and_go_with_them() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let content_id = id_of(b"envelope");
        let (doctor, nurse) = ([1u8; 32], [2u8; 32]);
        assert!(matches!(
            store
                .put_wrap(&PATIENT, &content_id, &doctor, Bytes::from_static(b"wrap"))
                .await,
            Err(StoreError::NotFound(_))
        ));
        store
            .put_blob(&content_id, body(&[b"envelope"]))
            .await
            .unwrap();
        store
            .put_wrap(
                &PATIENT,
                &content_id,
                &doctor,
                Bytes::from_static(b"doctor's wrap"),
            )
            .await
            .unwrap();
        store
            .put_wrap(
                &PATIENT,
                &content_id,
                &nurse,
                Bytes::from_static(b"nurse's wrap"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.get_wrap(&content_id, &doctor).await.unwrap(),
            Bytes::from_static(b"doctor's wrap")
        );
        store
            .delete_blob(Some(&PATIENT), &content_id)
            .await
            .unwrap();
        assert!(!store.contains(&content_id).await.unwrap());
        assert!(matches!(
            store.get_wrap(&content_id, &nurse).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.get_blob(&content_id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(
            stored_files(root.path()).is_empty(),
            "{:?}",
            stored_files(root.path())
        );
        store
            .delete_blob(Some(&PATIENT), &content_id)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_grantee_lists_the_blobs_wrapped_for_them_until_they_are_erased() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let (doctor, nurse, stranger) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let (lab, scan) = (id_of(b"lab envelope"), id_of(b"scan envelope"));
        store
            .put_blob(&lab, body(&[b"lab envelope"]))
            .await
            .unwrap();
        store
            .put_blob(&scan, body(&[b"scan envelope"]))
            .await
            .unwrap();
        for (content_id, grantee) in [(&lab, &doctor), (&lab, &nurse), (&scan, &doctor)] {
            store
                .put_wrap(&PATIENT, content_id, grantee, Bytes::from_static(b"wrap"))
                .await
                .unwrap();
        }
        // Replacing a wrap lists its blob once.
        store
            .put_wrap(&PATIENT, &lab, &doctor, Bytes::from_static(b"new wrap"))
            .await
            .unwrap();
        let mut both = vec![lab, scan];
        both.sort();
        let of_patient = |ids: &[Id]| ids.iter().map(|id| (PATIENT, *id)).collect::<Vec<_>>();
        assert_eq!(
            store.list_wraps_for(&doctor, None).await.unwrap(),
            of_patient(&both)
        );
        assert_eq!(
            store.list_wraps_for(&doctor, Some(&PATIENT)).await.unwrap(),
            of_patient(&both)
        );
        assert!(
            store
                .list_wraps_for(&doctor, Some(&[7u8; 32]))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.list_wraps_for(&nurse, None).await.unwrap(),
            of_patient(&[lab])
        );
        assert!(
            store
                .list_wraps_for(&stranger, None)
                .await
                .unwrap()
                .is_empty()
        );

        store.delete_blob(Some(&PATIENT), &lab).await.unwrap();
        assert_eq!(
            store.list_wraps_for(&doctor, None).await.unwrap(),
            of_patient(&[scan])
        );
        assert!(store.list_wraps_for(&nurse, None).await.unwrap().is_empty());
        store.delete_blob(Some(&PATIENT), &scan).await.unwrap();
        assert!(
            store
                .list_wraps_for(&doctor, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            stored_files(root.path()).is_empty(),
            "{:?}",
            stored_files(root.path())
        );
    }

    #[tokio::test]
    async fn uploads_are_listed_until_settled_and_refused_ones_are_not() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let (single, first, second) = (
            id_of(b"single envelope"),
            id_of(b"first envelope"),
            id_of(b"second envelope"),
        );
        store
            .put_blob(&single, body(&[b"single envelope"]))
            .await
            .unwrap();
        store
            .put_batch(
                &[
                    (first, b"first envelope".as_slice()),
                    (second, b"second envelope".as_slice()),
                ],
                &[],
            )
            .await
            .unwrap();
        // A blob stored already is not listed again; a refused one not at all.
        store
            .put_blob(&single, body(&[b"single envelope"]))
            .await
            .unwrap();
        assert!(
            store
                .put_blob(&id_of(b"other"), body(&[b"not what the id hashes"]))
                .await
                .is_err()
        );
        assert!(store.pending_before(0).await.unwrap().is_empty());
        let mut listed = store.pending_before(u64::MAX).await.unwrap();
        listed.sort_by_key(|(_, ids)| ids.len());
        let ids: Vec<&Vec<Id>> = listed.iter().map(|(_, ids)| ids).collect();
        assert_eq!(ids, [&vec![single], &vec![first, second]]);
        // Settling erases the expired blobs and the list, nothing else.
        store
            .settle_pending(&listed[1].0, &[(Some(PATIENT), second)])
            .await
            .unwrap();
        store.settle_pending(&listed[0].0, &[]).await.unwrap();
        assert!(store.pending_before(u64::MAX).await.unwrap().is_empty());
        assert!(store.contains(&single).await.unwrap());
        assert!(store.contains(&first).await.unwrap());
        assert!(!store.contains(&second).await.unwrap());
    }

    #[tokio::test]
    async fn an_envelope_names_its_owner_and_other_blobs_name_none() {
        let root = tempfile::tempdir().unwrap();
        let store = BlobStore::local(root.path(), 1 << 20).unwrap();
        let binding = medigate_crypto::record::RecordBinding {
            record_id: [4u8; 32],
            version: 0,
            owner: PATIENT,
        };
        let mut envelope = Vec::new();
        let key = medigate_crypto::record::RecordKey::generate();
        medigate_crypto::record::encrypt(&key, binding, &b"{}"[..], &mut envelope).unwrap();
        let (sealed, plain) = (id_of(&envelope), id_of(b"not an envelope"));
        store.put_blob(&sealed, body(&[&envelope])).await.unwrap();
        store
            .put_blob(&plain, body(&[b"not an envelope"]))
            .await
            .unwrap();
        // Remembered from the upload, and read back from the header by a
        // store that did not see it.
        let fresh = BlobStore::local(root.path(), 1 << 20).unwrap();
        for store in [&store, &fresh] {
            assert_eq!(store.envelope_owner(&sealed).await.unwrap(), Some(PATIENT));
            assert_eq!(store.envelope_owner(&plain).await.unwrap(), None);
        }
        assert!(matches!(
            fresh.envelope_owner(&id_of(b"never stored")).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn short_ids_read_back_and_nothing_else_does() {
        let id: Id = std::array::from_fn(|index| index as u8 * 7);
        assert_eq!(short(&id).len(), 43);
        assert_eq!(parse_short_id(&short(&id)), Some(id));
        assert_eq!(parse_short_id(&short(&id)[..42]), None);
        assert_eq!(parse_short_id(&hex(&id)), None);
    }

    #[test]
    fn only_64_hex_digits_name_an_id() {
        let id: Id = std::array::from_fn(|index| index as u8 * 7);
        assert_eq!(parse_hex_id(&hex(&id)), Some(id));
        assert_eq!(parse_hex_id(&hex(&id).to_uppercase()), Some(id));
        assert_eq!(parse_hex_id(&hex(&id)[..62]), None);
        assert_eq!(parse_hex_id(&format!("+{}", &hex(&id)[1..])), None);
        assert_eq!(parse_hex_id(&format!("{}#1", &hex(&id)[..62])), None);
    }
}
