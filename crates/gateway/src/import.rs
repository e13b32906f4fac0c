//! Importing a patient's Bundle: every resource encrypted on its own,
//! staged in the index, anchored on chain in batches, then stored in the
//! vault with the owner's key wrap.
//!
//! Order matters for crash safety. The index holds each staged envelope
//! and key wrap before anything leaves the gateway, in one transaction.
//! All anchor batches are sent at once. While a batch is on its way, its
//! envelopes go to the vault; once it is final, the owner's key wraps
//! follow (the vault takes wraps of anchored records only) and the records
//! are marked stored. Until then they stay staged in the index, and an
//! import cut short (a crash, a lost node) is completed from it: anchors
//! the chain does not have are sent again, and storing (idempotent) is
//! repeated, so every envelope in the vault ends anchored. That happens on
//! the next start, or when the same Bundle is imported again.

use std::sync::Arc;

use futures::{FutureExt, StreamExt, TryStreamExt};
use medigate_chain_client::{
    anchors, medigate,
    medigate::runtime_types::{
        bounded_collections::bounded_vec::BoundedVec,
        medigate_access_policy::terms::Category as ChainCategory, pallet_records::AnchorRequest,
    },
    subxt::{ext::codec::Decode, utils::H256},
};
use medigate_crypto::{
    keys::Identity,
    record::{RecordBinding, RecordKey, encrypt},
    wrap::{OwnerSealer, WrapBinding},
};
use medigate_fhir::{
    person::{PersonMatch, match_person, with_links},
    raw::{ImportedBundle, ImportedResource, take_apart},
};
use medigate_vault::batch::BatchItem;
use serde::Serialize;

use crate::{
    Gateway,
    error::GatewayError,
    index::{OwnRecord, RecordState},
};

/// The most records one `anchor_batch` call carries (at most the
/// runtime's `MaxBatch`, 1,000). At about 100 µs of weight per first
/// version, six such calls fill a block's 375 ms for ordinary
/// transactions, where three calls of 1,000 would leave a quarter unused.
pub const ANCHOR_BATCH: usize = 600;
/// Records per vault batch that carries envelopes: a few hundred KiB for
/// small records.
const RECORDS_PER_BATCH: usize = 256;
/// Key wraps per vault batch that carries wraps alone (sharing, and an
/// import's owner wraps).
pub const WRAPS_PER_BATCH: usize = 1024;
/// Vault batches sent at once by one import step.
pub const BATCHES_IN_FLIGHT: usize = 2;

/// Where an import is, for progress bars.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The phase: `encrypting`, then `anchoring` and `storing` (each batch
    /// stored as soon as its anchors are final), `sharing`, `done`.
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
    /// What the Bundle's Patient is to the account (told when the Bundle
    /// is first taken in, not when an import is done again or completed).
    pub person: Option<PersonJoined>,
    /// Entries not imported: a searchset's `outcome` entries.
    pub left_out: u64,
}

/// What the Patient of an imported Bundle is to the account, which holds
/// one person's records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonJoined {
    /// The account's first Patient: its person.
    First,
    /// A Patient the account holds (same id): a new version of it.
    SameRecord,
    /// Another record of the account's person (same name, birth date and
    /// sex; another hospital's id), linked (`Patient.link`) to these
    /// Patients of the account.
    LinkedTo(Vec<String>),
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

/// How far storing has come, shared by the batches of one import.
#[derive(Clone, Copy)]
struct Stored<'a> {
    /// Records stored so far.
    count: &'a std::sync::atomic::AtomicU64,
    /// Records in the import.
    total: u64,
    /// Where progress is told.
    progress: &'a ProgressSink,
}

impl Stored<'_> {
    /// Counts `count` more records stored, and tells.
    fn add(&self, count: u64) {
        let now = self
            .count
            .fetch_add(count, std::sync::atomic::Ordering::Relaxed)
            + count;
        (self.progress)(Progress {
            phase: "storing",
            done: now,
            total: self.total,
        });
    }
}

/// Something told about progress; ignoring it is fine.
pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// The id of a record: stable across its versions, unlinkable to the FHIR id
/// without the owner's account.
fn record_id(owner: &[u8; 32], resource: &ImportedResource) -> [u8; 32] {
    crate::authoring::record_id(owner, &resource.resource_type, &resource.id)
}

pub(crate) fn chain_category(code: &str) -> ChainCategory {
    let category = medigate_access_policy::Category::from_code(code)
        .unwrap_or(medigate_access_policy::Category::Other);
    ChainCategory::decode(&mut &[category as u8][..])
        .expect("the chain's categories are the policy's")
}

/// Encrypts each resource for the identity's owner (a blocking, CPU-bound
/// step), on every core; the result keeps the Bundle's order.
fn encrypt_all(
    identity: &Identity,
    import_id: &str,
    resources: &[(ImportedResource, Option<OwnRecord>)],
    progress: &ProgressSink,
) -> Result<Vec<(OwnRecord, Vec<u8>)>, GatewayError> {
    let owner = identity.signing_keypair().public_key().0;
    let sealer = OwnerSealer::new(&identity.encryption_secret());
    let total = resources.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    crate::cores::map_on_every_core(resources, |(resource, previous)| {
        let encrypted = encrypt_one((&owner, &sealer), import_id, resource, previous.as_ref());
        let now = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if now % 256 == 0 {
            progress(Progress {
                phase: "encrypting",
                done: now,
                total,
            });
        }
        encrypted
    })
}

/// One resource encrypted under a new key, with that key sealed for its
/// owner (account and sealer).
fn encrypt_one(
    (owner, sealer): (&[u8; 32], &OwnerSealer),
    import_id: &str,
    resource: &ImportedResource,
    previous: Option<&OwnRecord>,
) -> Result<(OwnRecord, Vec<u8>), GatewayError> {
    let owner = *owner;
    let key = RecordKey::generate();
    let binding = RecordBinding {
        record_id: record_id(&owner, resource),
        // The chain counts versions from 0, and so do envelopes.
        version: previous.map_or(0, |previous| previous.version + 1),
        owner,
    };
    let mut envelope = Vec::with_capacity(resource.text.len() + 256);
    let encrypted = encrypt(&key, binding, resource.text.as_bytes(), &mut envelope)
        .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
    let owner_wrap = sealer
        .seal(
            &key,
            &WrapBinding {
                content_id: encrypted.content_id,
                grantee: owner,
                grant: None,
            },
        )
        .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
    Ok((
        OwnRecord {
            content_id: encrypted.content_id,
            record_id: binding.record_id,
            version: binding.version,
            resource_type: resource.resource_type.clone(),
            resource_id: resource.id.clone(),
            category: resource.category.code().into(),
            size: encrypted.envelope_len,
            owner_wrap: owner_wrap.to_vec(),
            previous: previous.map(|previous| previous.content_id),
            state: RecordState::Staged,
            import_id: import_id.into(),
        },
        envelope,
    ))
}

/// The owner's key wraps of `records`, as vault batch items.
fn owner_wraps(owner: [u8; 32], records: &[OwnRecord]) -> impl Iterator<Item = BatchItem<'_>> {
    records.iter().map(move |record| BatchItem::KeyWrap {
        content_id: record.content_id,
        grantee: owner,
        bytes: &record.owner_wrap,
    })
}

impl Gateway {
    /// Checks that the Bundle's Patient is the person whose records the
    /// account holds (see [`medigate_fhir::person`]), and links it to the
    /// account's other Patient resources when it is another record of that
    /// person. Returns the Bundle to import and what the Patient is to the
    /// account.
    async fn join_person(
        &self,
        identity: &Identity,
        mut bundle: ImportedBundle,
    ) -> Result<(ImportedBundle, PersonJoined), GatewayError> {
        let account: Vec<serde_json::Value> = self
            .own_visible(identity, Some("Patient"))
            .await?
            .iter()
            .map(crate::records::VisibleRecord::parsed)
            .collect();
        let patient = &mut bundle.resources[bundle.patient_index];
        let incoming: serde_json::Value =
            serde_json::from_str(&patient.text).expect("an imported resource is JSON");
        let joined = match match_person(&account, &incoming)? {
            PersonMatch::First => PersonJoined::First,
            PersonMatch::SameRecord => PersonJoined::SameRecord,
            PersonMatch::SamePerson(others) => {
                patient.text = with_links(&patient.text, &others);
                PersonJoined::LinkedTo(others)
            }
        };
        Ok((bundle, joined))
    }

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
        let started = std::time::Instant::now();
        let import_id = hex::encode(blake3::hash(bytes).as_bytes());
        let state = self.index.import_state(&import_id).await?;
        let resumed = state.as_deref() == Some("staged");
        // The records of a new import as staged; read from the index for
        // an import staged before.
        let mut fresh: Option<Vec<OwnRecord>> = None;
        let (mut person, mut left_out) = (None, 0);
        if state.is_none() {
            let bundle = take_apart(bytes, &import_id).map_err(GatewayError::from)?;
            let (bundle, joined) = self.join_person(&identity, bundle).await?;
            (person, left_out) = (Some(joined), bundle.left_out as u64);
            tracing::info!(
                import_id,
                resources = bundle.resources.len(),
                ms = started.elapsed().as_millis() as u64,
                "import: validated"
            );
            let named: Vec<(&str, &str)> = bundle
                .resources
                .iter()
                .map(|resource| (resource.resource_type.as_str(), resource.id.as_str()))
                .collect();
            let latest = self.index.latest_versions(&named).await?;
            let resources: Vec<_> = bundle
                .resources
                .into_iter()
                .map(|resource| {
                    let previous = latest
                        .get(&(resource.resource_type.clone(), resource.id.clone()))
                        .cloned();
                    (resource, previous)
                })
                .collect();
            tracing::debug!(
                import_id,
                ms = started.elapsed().as_millis() as u64,
                "import: previous versions found"
            );
            let staged = {
                let (identity, import_id, progress) =
                    (identity.clone(), import_id.clone(), progress.clone());
                tokio::task::spawn_blocking(move || {
                    encrypt_all(&identity, &import_id, &resources, &progress)
                })
                .await
                .expect("encryption does not panic")?
            };
            tracing::debug!(
                import_id,
                ms = started.elapsed().as_millis() as u64,
                "import: encrypted"
            );
            self.index
                .stage_import(&import_id, &staged, crate::now_ms())
                .await?;
            fresh = Some(staged.into_iter().map(|(record, _)| record).collect());
            tracing::info!(
                import_id,
                ms = started.elapsed().as_millis() as u64,
                "import: staged"
            );
        }
        let already_imported = state.as_deref() == Some("done");
        let shared = if already_imported {
            0
        } else {
            self.complete_import(&identity, &import_id, resumed, fresh.as_deref(), &progress)
                .await?
        };
        let records = match fresh {
            Some(records) => records,
            None => self.index.records_of_import(&import_id).await?,
        };
        tracing::info!(
            import_id,
            ms = started.elapsed().as_millis() as u64,
            "import: done"
        );
        // The emergency summary follows the records (when emergency access
        // is enabled).
        self.emergency_refresh.notify_one();
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
            person,
            left_out,
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
            self.complete_import(&identity, import_id, true, None, &quiet)
                .await?;
        }
        Ok(unfinished.len())
    }

    /// Anchors, stores and shares the staged records of an import (`fresh`:
    /// those just staged, or `None` to read them from the index), then
    /// marks it done; returns how many records were shared with grantees.
    async fn complete_import(
        &self,
        identity: &Identity,
        import_id: &str,
        resumed: bool,
        fresh: Option<&[OwnRecord]>,
        progress: &ProgressSink,
    ) -> Result<u64, GatewayError> {
        let read;
        let records = match fresh {
            Some(records) => records,
            None => {
                read = self.index.records_of_import(import_id).await?;
                &read[..]
            }
        };
        let total = records.len() as u64;
        let signer = identity.signing_keypair();
        let owner = medigate_chain_client::account_id(&signer);

        // Anchor what is not anchored yet. A batch sent before a crash may
        // have landed: the chain says which.
        let staged: Vec<&OwnRecord> = records
            .iter()
            .filter(|record| record.state == RecordState::Staged)
            .collect();
        let landed: Vec<bool> = if resumed {
            // Anchors sent before a crash may still be on their way.
            self.wait_for_pending(&owner).await?;
            let content_ids: Vec<H256> = staged
                .iter()
                .map(|record| H256(record.content_id))
                .collect();
            anchors(&self.reads, self.checker.rpc(), &owner, &content_ids)
                .await?
                .iter()
                .map(Option::is_some)
                .collect()
        } else {
            vec![false; staged.len()]
        };
        let (already, to_anchor): (Vec<(&OwnRecord, bool)>, Vec<(&OwnRecord, bool)>) = staged
            .into_iter()
            .zip(landed)
            .partition(|(_, landed)| *landed);
        let already: Vec<[u8; 32]> = already
            .iter()
            .map(|(record, _)| record.content_id)
            .collect();
        self.index
            .set_state(&already, RecordState::Anchored)
            .await?;
        let landed: std::collections::HashSet<[u8; 32]> = already.iter().copied().collect();
        let to_anchor: Vec<&OwnRecord> = to_anchor.into_iter().map(|(record, _)| record).collect();

        // Every anchor batch is sent at once; as each one is finalized, its
        // envelopes and the owner's key wraps go to the vault together
        // (the vault takes wraps of anchored records only), while later
        // batches are still on their way.
        let anchored_count = std::sync::atomic::AtomicU64::new(total - to_anchor.len() as u64);
        let stored_count = std::sync::atomic::AtomicU64::new(
            records
                .iter()
                .filter(|record| record.state == RecordState::Stored)
                .count() as u64,
        );
        let anchored_count = &anchored_count;
        let batches: Vec<Vec<OwnRecord>> = to_anchor
            .chunks(ANCHOR_BATCH)
            .map(|batch| batch.iter().map(|record| (*record).clone()).collect())
            .collect();
        let calls: Vec<_> = batches
            .iter()
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
        let submitted = if calls.is_empty() {
            Vec::new()
        } else {
            self.submit_calls(&calls, &signer).await?
        };
        tracing::debug!(import_id, calls = calls.len(), "import: anchors sent");
        // Records anchored before (an interrupted import: in the index, or
        // found on chain just now) are stored at once.
        let ready: Vec<OwnRecord> = records
            .iter()
            .filter(|record| {
                record.state == RecordState::Anchored || landed.contains(&record.content_id)
            })
            .cloned()
            .collect();
        let stored = Stored {
            count: &stored_count,
            total,
            progress,
        };
        let mut pipelines: futures::stream::FuturesUnordered<_> = batches
            .into_iter()
            .zip(submitted)
            .map(|(batch, submitted)| {
                let signer = &signer;
                async move {
                    // The envelopes go to the vault while the anchors are on
                    // their way; the key wraps, which the vault takes for
                    // anchored records only, once the anchors are in a best
                    // block. The records count as anchored, then stored,
                    // once the anchors are final.
                    let (uploaded, in_best_block) = futures::join!(
                        self.upload_envelopes(signer, &batch),
                        submitted.in_best_block
                    );
                    uploaded?;
                    let early_wraps = async {
                        match in_best_block {
                            Ok(()) => self.put_owner_wraps(signer, &batch).await.map_err(Some),
                            Err(_) => Err(None),
                        }
                    };
                    let (wrapped, finalized) = futures::join!(early_wraps, submitted.finality);
                    finalized?;
                    tracing::debug!(
                        import_id,
                        records = batch.len(),
                        "import: anchor batch finalized"
                    );
                    let ids: Vec<[u8; 32]> = batch.iter().map(|record| record.content_id).collect();
                    // Stored at once when the wraps are in the vault (a
                    // stored record is anchored); anchored, to be stored
                    // next, when not.
                    let state = if wrapped.is_ok() {
                        RecordState::Stored
                    } else {
                        RecordState::Anchored
                    };
                    self.index.set_state(&ids, state).await?;
                    let anchored = anchored_count
                        .fetch_add(ids.len() as u64, std::sync::atomic::Ordering::Relaxed)
                        + ids.len() as u64;
                    progress(Progress {
                        phase: "anchoring",
                        done: anchored,
                        total,
                    });
                    match wrapped {
                        Ok(()) => {
                            stored.add(ids.len() as u64);
                            Ok(())
                        }
                        Err(error) => {
                            if let Some(error) = error {
                                tracing::debug!(%error, "import: key wraps stored again now that their anchors are final");
                            }
                            self.store_records(signer, batch, false, stored).await
                        }
                    }
                }
                .boxed()
            })
            .collect();
        if !ready.is_empty() {
            pipelines.push(self.store_records(&signer, ready, true, stored).boxed());
        }
        while let Some(done) = pipelines.next().await {
            done?;
        }
        drop(pipelines);
        tracing::debug!(import_id, "import: anchored and stored");

        let shared = self.share_with_current_grantees(identity, progress).await?;
        self.index.finish_import(import_id, crate::now_ms()).await?;
        Ok(shared)
    }

    /// Stores records' envelopes in the vault (before their anchors are
    /// final: the index keeps the records staged until they are, and an
    /// import cut short is completed).
    async fn upload_envelopes(
        &self,
        signer: &medigate_crypto::keys::SigningKeypair,
        records: &[OwnRecord],
    ) -> Result<(), GatewayError> {
        let batches: Vec<Vec<[u8; 32]>> = records
            .chunks(RECORDS_PER_BATCH)
            .map(|batch| batch.iter().map(|record| record.content_id).collect())
            .collect();
        futures::stream::iter(batches)
            .map(|ids| async move {
                let envelopes = self.index.envelopes(&ids).await?;
                let items: Vec<BatchItem<'_>> = ids
                    .iter()
                    .zip(&envelopes)
                    .map(|(content_id, envelope)| BatchItem::Envelope {
                        content_id: *content_id,
                        bytes: envelope,
                    })
                    .collect();
                self.vault.put_batch(signer, &items).await?;
                Ok::<_, GatewayError>(())
            })
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .try_collect()
            .await
    }

    /// Stores anchored records in the vault, a few vault batches at a time:
    /// the owner's key wraps, with the envelopes unless they are there
    /// already; marks them stored.
    async fn store_records(
        &self,
        signer: &medigate_crypto::keys::SigningKeypair,
        records: Vec<OwnRecord>,
        with_envelopes: bool,
        stored: Stored<'_>,
    ) -> Result<(), GatewayError> {
        let owner = signer.public_key().0;
        let per_batch = if with_envelopes {
            RECORDS_PER_BATCH
        } else {
            WRAPS_PER_BATCH
        };
        let batches: Vec<Vec<OwnRecord>> = records
            .chunks(per_batch)
            .map(<[OwnRecord]>::to_vec)
            .collect();
        let mut sent = futures::stream::iter(batches)
            .map(|batch| async move {
                let ids: Vec<[u8; 32]> = batch.iter().map(|record| record.content_id).collect();
                let envelopes = if with_envelopes {
                    self.index.envelopes(&ids).await?
                } else {
                    Vec::new()
                };
                let mut items = Vec::with_capacity(batch.len() * 2);
                for (record, envelope) in batch.iter().zip(&envelopes) {
                    items.push(BatchItem::Envelope {
                        content_id: record.content_id,
                        bytes: envelope,
                    });
                }
                items.extend(owner_wraps(owner, &batch));
                self.vault.put_batch(signer, &items).await?;
                self.index.set_state(&ids, RecordState::Stored).await?;
                Ok::<_, GatewayError>(ids.len() as u64)
            })
            .buffer_unordered(BATCHES_IN_FLIGHT);
        while let Some(done) = sent.next().await {
            stored.add(done?);
        }
        Ok(())
    }

    /// Stores the owner's key wraps of `records` in the vault, a few vault
    /// batches at a time (the index is left as it is).
    async fn put_owner_wraps(
        &self,
        signer: &medigate_crypto::keys::SigningKeypair,
        records: &[OwnRecord],
    ) -> Result<(), GatewayError> {
        let owner = signer.public_key().0;
        let batches: Vec<Vec<OwnRecord>> = records
            .chunks(WRAPS_PER_BATCH)
            .map(<[OwnRecord]>::to_vec)
            .collect();
        futures::stream::iter(batches)
            .map(|batch| async move {
                let items: Vec<BatchItem<'_>> = owner_wraps(owner, &batch).collect();
                self.vault.put_batch(signer, &items).await?;
                Ok::<_, GatewayError>(())
            })
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .try_collect()
            .await
    }
}
