//! Importing a patient's Bundle: every resource encrypted on its own,
//! staged in the index, anchored on chain in batches, then stored in the
//! vault with the owner's key wrap.
//!
//! Order matters for crash safety. The index holds each staged envelope
//! and key wrap before anything leaves the gateway; records are anchored
//! before their envelopes reach the vault, so the vault never holds an
//! envelope without an anchor. An import cut short (a crash, a lost node)
//! is completed from the index: on the next start, or when the same Bundle
//! is imported again.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use medigate_chain_client::{
    anchor, medigate,
    medigate::runtime_types::{
        bounded_collections::bounded_vec::BoundedVec,
        medigate_access_policy::terms::Category as ChainCategory, pallet_records::AnchorRequest,
    },
    subxt::{ext::codec::Decode, utils::H256},
};
use medigate_crypto::{
    keys::Identity,
    record::{RecordBinding, RecordKey, encrypt},
    wrap::{WrapBinding, wrap},
};
use serde::Serialize;

use crate::{
    Gateway, chain,
    error::GatewayError,
    index::{OwnRecord, RecordState},
    resources::{ImportedResource, take_apart},
};

/// The most records one `anchor_batch` call carries (the runtime's
/// `MaxBatch`).
pub const ANCHOR_BATCH: usize = 1000;
/// Envelopes sent to the vault at once.
const UPLOADS_IN_FLIGHT: usize = 32;

/// Where an import is, for progress bars.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The phase: `encrypting`, `anchoring`, `storing`, `sharing`, `done`.
    pub phase: &'static str,
    /// Records through this phase so far.
    pub done: u64,
    /// Records in the import.
    pub total: u64,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The import's id: the BLAKE3 hash of the Bundle's bytes.
    pub import_id: String,
    /// Records in it.
    pub records: u64,
    /// Whether the same Bundle had been imported before (nothing was done).
    pub already_imported: bool,
    /// Whether an earlier, interrupted run of this import was completed.
    pub resumed: bool,
    /// Records whose keys were wrapped for current grantees.
    pub shared: u64,
    /// Each resource: type, id and content id.
    pub resources: Vec<ImportedRecord>,
}

/// One imported resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportedRecord {
    /// Its type.
    pub resource_type: String,
    /// Its logical id.
    pub id: String,
    /// Its version, as the chain counts (0 for a first version).
    pub version: u32,
    /// The content id of its envelope (hex).
    pub content_id: String,
    /// Its category code.
    pub category: String,
}

/// Something told about progress; ignoring it is fine.
pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// The id of a record: stable across its versions, unlinkable to the FHIR id
/// without the owner's account.
fn record_id(owner: &[u8; 32], resource: &ImportedResource) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("medigate/v1/record-id");
    hasher.update(owner);
    hasher.update(resource.resource_type.as_bytes());
    hasher.update(b"/");
    hasher.update(resource.id.as_bytes());
    *hasher.finalize().as_bytes()
}

fn chain_category(code: &str) -> ChainCategory {
    let category = medigate_access_policy::Category::from_code(code)
        .unwrap_or(medigate_access_policy::Category::Other);
    ChainCategory::decode(&mut &[category as u8][..])
        .expect("the chain's categories are the policy's")
}

/// Encrypts each resource for `owner` (a blocking, CPU-bound step).
fn encrypt_all(
    identity: &Identity,
    import_id: &str,
    resources: &[(ImportedResource, Option<OwnRecord>)],
    progress: &ProgressSink,
) -> Result<Vec<(OwnRecord, Vec<u8>)>, GatewayError> {
    let owner = identity.signing_keypair().public_key().0;
    let owner_key = identity.encryption_secret().public_key();
    let total = resources.len() as u64;
    let mut staged = Vec::with_capacity(resources.len());
    for (done, (resource, previous)) in resources.iter().enumerate() {
        let key = RecordKey::generate();
        let binding = RecordBinding {
            record_id: record_id(&owner, resource),
            // The chain counts versions from 0, and so do envelopes.
            version: previous.as_ref().map_or(0, |previous| previous.version + 1),
            owner,
        };
        let mut envelope = Vec::with_capacity(resource.text.len() + 256);
        let encrypted = encrypt(&key, binding, resource.text.as_bytes(), &mut envelope)
            .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
        let owner_wrap = wrap(
            &key,
            &owner_key,
            &WrapBinding {
                content_id: encrypted.content_id,
                grantee: owner,
                grant: None,
            },
        )
        .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
        staged.push((
            OwnRecord {
                content_id: encrypted.content_id,
                record_id: binding.record_id,
                version: binding.version,
                resource_type: resource.resource_type.clone(),
                resource_id: resource.id.clone(),
                category: resource.category.code().into(),
                size: encrypted.envelope_len,
                owner_wrap: owner_wrap.to_vec(),
                previous: previous.as_ref().map(|previous| previous.content_id),
                state: RecordState::Staged,
                import_id: import_id.into(),
            },
            envelope,
        ));
        if done % 256 == 255 {
            progress(Progress {
                phase: "encrypting",
                done: done as u64 + 1,
                total,
            });
        }
    }
    Ok(staged)
}

impl Gateway {
    /// Imports one patient's Bundle (`bytes`, FHIR R4 JSON) as the user's
    /// records. Importing the same Bundle again does nothing; an import cut
    /// short is completed.
    pub async fn import_bundle(
        &self,
        bytes: &[u8],
        progress: ProgressSink,
    ) -> Result<ImportReport, GatewayError> {
        let identity = self.keyring.identity()?;
        let _one_at_a_time = self
            .import_lock
            .try_lock()
            .map_err(|_| GatewayError::Busy)?;
        self.require_registered(&identity).await?;
        let import_id = hex::encode(blake3::hash(bytes).as_bytes());
        let state = self.index.import_state(&import_id).await?;
        let resumed = state.as_deref() == Some("staged");
        if state.is_none() {
            let bundle = take_apart(bytes, &import_id)?;
            let mut resources = Vec::with_capacity(bundle.resources.len());
            for resource in bundle.resources {
                let previous = self
                    .index
                    .latest_version(&resource.resource_type, &resource.id)
                    .await?;
                resources.push((resource, previous));
            }
            let staged = {
                let (identity, import_id, progress) =
                    (identity.clone(), import_id.clone(), progress.clone());
                tokio::task::spawn_blocking(move || {
                    encrypt_all(&identity, &import_id, &resources, &progress)
                })
                .await
                .expect("encryption does not panic")?
            };
            self.index
                .stage_import(&import_id, &staged, crate::now_ms())
                .await?;
        }
        let already_imported = state.as_deref() == Some("done");
        let shared = if already_imported {
            0
        } else {
            self.complete_import(&identity, &import_id, resumed, &progress)
                .await?
        };
        let records = self.index.records_of_import(&import_id).await?;
        progress(Progress {
            phase: "done",
            done: records.len() as u64,
            total: records.len() as u64,
        });
        Ok(ImportReport {
            import_id,
            records: records.len() as u64,
            already_imported,
            resumed,
            shared,
            resources: records
                .into_iter()
                .map(|record| ImportedRecord {
                    resource_type: record.resource_type,
                    id: record.resource_id,
                    version: record.version,
                    content_id: hex::encode(record.content_id),
                    category: record.category,
                })
                .collect(),
        })
    }

    /// Completes every import left unfinished (after a crash).
    pub async fn resume_imports(&self) -> Result<usize, GatewayError> {
        let identity = self.keyring.identity()?;
        let unfinished = self.index.unfinished_imports().await?;
        let _one_at_a_time = self.import_lock.lock().await;
        let quiet: ProgressSink = Arc::new(|_| {});
        for import_id in &unfinished {
            tracing::info!(import_id, "completing an interrupted import");
            self.complete_import(&identity, import_id, true, &quiet)
                .await?;
        }
        Ok(unfinished.len())
    }

    /// Anchors, stores and shares the staged records of an import, then
    /// marks it done; returns how many records were shared with grantees.
    async fn complete_import(
        &self,
        identity: &Identity,
        import_id: &str,
        resumed: bool,
        progress: &ProgressSink,
    ) -> Result<u64, GatewayError> {
        let records = self.index.records_of_import(import_id).await?;
        let total = records.len() as u64;
        let signer = identity.signing_keypair();
        let owner = medigate_chain_client::account_id(&signer);

        // Anchor what is not anchored yet. A batch sent before a crash may
        // have landed: the chain says which.
        let mut to_anchor = Vec::new();
        for record in records
            .iter()
            .filter(|record| record.state == RecordState::Staged)
        {
            if resumed && self.anchor_exists(record).await? {
                self.index
                    .set_state(&[record.content_id], RecordState::Anchored)
                    .await?;
            } else {
                to_anchor.push(record);
            }
        }
        let mut anchored = total - to_anchor.len() as u64;
        for batches in to_anchor.chunks(ANCHOR_BATCH * 8) {
            let calls: Vec<_> = batches
                .chunks(ANCHOR_BATCH)
                .map(|batch| {
                    let requests = batch
                        .iter()
                        .map(|record| AnchorRequest {
                            content_id: H256(record.content_id),
                            category: chain_category(&record.category),
                            size: record.size,
                            previous: record.previous.map(H256),
                        })
                        .collect();
                    medigate::tx()
                        .records()
                        .anchor_batch(owner.clone(), BoundedVec(requests))
                })
                .collect();
            chain::submit_together(&self.chain, &calls, &signer).await?;
            let ids: Vec<[u8; 32]> = batches.iter().map(|record| record.content_id).collect();
            self.index.set_state(&ids, RecordState::Anchored).await?;
            anchored += ids.len() as u64;
            progress(Progress {
                phase: "anchoring",
                done: anchored,
                total,
            });
        }

        // Store envelopes and owner wraps in the vault.
        let to_store: Vec<OwnRecord> = records
            .iter()
            .filter(|record| record.state != RecordState::Stored)
            .cloned()
            .collect();
        let mut stored = total - to_store.len() as u64;
        let owner_bytes = owner.0;
        let mut uploads = futures::stream::iter(to_store)
            .map(|record| {
                let signer = &signer;
                async move {
                    let envelope = self.index.envelope(&record.content_id).await?;
                    self.vault
                        .put_blob(signer, &record.content_id, envelope)
                        .await?;
                    self.vault
                        .put_wrap(signer, &record.content_id, &owner_bytes, record.owner_wrap)
                        .await?;
                    Ok::<_, GatewayError>(record.content_id)
                }
            })
            .buffer_unordered(UPLOADS_IN_FLIGHT)
            .try_chunks(256);
        while let Some(done) = uploads.next().await {
            let done = done.map_err(|error| error.1)?;
            self.index.set_state(&done, RecordState::Stored).await?;
            stored += done.len() as u64;
            progress(Progress {
                phase: "storing",
                done: stored,
                total,
            });
        }

        let shared = self.share_with_current_grantees(identity, progress).await?;
        self.index.finish_import(import_id, crate::now_ms()).await?;
        Ok(shared)
    }

    async fn anchor_exists(&self, record: &OwnRecord) -> Result<bool, GatewayError> {
        Ok(anchor(&self.reads, H256(record.content_id))
            .await?
            .is_some())
    }
}
