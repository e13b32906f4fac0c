//! The records the gateway's user may see, decrypted: their own (from the
//! index) and those patients shared with them (from the vault, each read
//! asked of the chain and receipted by the vault).

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use medigate_access_policy::Category;
use medigate_chain_client::{
    AccessQuestion, anchors,
    medigate::runtime_types::medigate_access_policy::terms::{Action, Purpose},
    subxt::utils::{AccountId32, H256},
};
use medigate_crypto::{
    CryptoError,
    keys::{EncryptionSecret, Identity},
    record::{Anchored, RecordBinding, RecordKey, decrypt},
    wrap::{WrapBinding, unwrap},
};
use serde_json::Value;

use crate::{
    Gateway,
    error::GatewayError,
    index::OwnRecord,
    vault_client::{Fetched, ReadOutcome},
};

/// Shared records read from the vault at once: enough that the vault asks
/// the chain about many of them in each `check_access_many` call.
const READS_IN_FLIGHT: usize = 64;

/// A record, decrypted.
#[derive(Clone, Debug, PartialEq)]
pub struct VisibleRecord {
    /// Its owner (the patient).
    pub patient: [u8; 32],
    /// The content id of its envelope.
    pub content_id: [u8; 32],
    /// Its category.
    pub category: Category,
    /// Its resource type.
    pub resource_type: String,
    /// Its logical id.
    pub id: String,
    /// Its JSON text, as imported.
    pub text: String,
}

impl VisibleRecord {
    /// The resource, parsed (for filtering; numbers may lose their exact
    /// spelling: answer with [`VisibleRecord::text`]).
    pub fn parsed(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// What an anchor says about a shared record (anchors do not change).
#[derive(Clone, Copy, Debug)]
pub struct SharedAnchor {
    owner: [u8; 32],
    author: [u8; 32],
    category: Category,
    version: u32,
}

impl SharedAnchor {
    /// Who may make a key wrap of the record: its owner, and its author
    /// (who wrote it into the owner's record).
    fn makers(&self) -> [[u8; 32]; 2] {
        [self.owner, self.author]
    }
}

/// The categories a resource of `resource_type` can be in.
pub fn categories_of_type(resource_type: &str) -> Vec<Category> {
    match resource_type {
        "Observation" => vec![
            Category::Vitals,
            Category::Labs,
            Category::Imaging,
            Category::Other,
        ],
        "DiagnosticReport" => vec![Category::Labs, Category::Imaging, Category::Notes],
        "Composition" => vec![Category::Summary, Category::Notes],
        // A document, which is what its Composition is.
        "Bundle" => vec![Category::Summary, Category::Notes, Category::Other],
        other => {
            let probe = serde_json::json!({"resourceType": other});
            vec![medigate_fhir::category_of(&probe)]
        }
    }
}

/// Why a record is not shown: a key or an envelope that is not the one
/// its anchor proves (a vault's or a network's doing) is
/// [`GatewayError::Unproven`]; anything else is
/// [`GatewayError::Undecryptable`].
fn refusal(content_id: &[u8; 32], error: CryptoError) -> GatewayError {
    match error {
        CryptoError::NotAnchored
        | CryptoError::OtherRecord
        | CryptoError::WrapMakerNotAllowed
        | CryptoError::WrapForged
        | CryptoError::MalformedWrap(_)
        | CryptoError::MalformedEnvelope(_)
        | CryptoError::Tampered => GatewayError::Unproven {
            record: hex::encode(content_id),
            reason: error,
        },
        _ => GatewayError::Undecryptable(hex::encode(content_id)),
    }
}

/// Decrypts `envelope` with `key`, proven against `anchored`: its binding
/// and its text.
fn decrypt_text(
    key: &RecordKey,
    anchored: &Anchored,
    envelope: &[u8],
) -> Result<(RecordBinding, String), GatewayError> {
    let mut plaintext = Vec::with_capacity(envelope.len());
    let opened = decrypt(key, anchored, envelope, &mut plaintext)
        .map_err(|error| refusal(&anchored.content_id, error))?;
    let text = String::from_utf8(plaintext)
        .map_err(|_| GatewayError::Undecryptable(hex::encode(anchored.content_id)))?;
    Ok((opened.binding, text))
}

/// The chain's question: may `me` read `content_id` (anchored as `anchor`)
/// for `purpose` now?
fn read_question(
    me: [u8; 32],
    content_id: [u8; 32],
    anchor: &SharedAnchor,
    purpose: &Purpose,
) -> AccessQuestion {
    AccessQuestion {
        accessor: AccountId32(me),
        patient: AccountId32(anchor.owner),
        record: H256(content_id),
        purpose: purpose.clone(),
        action: Action::Read,
    }
}

/// A record read from the vault and opened.
pub(crate) struct OpenedFetched {
    /// The record it is (its envelope's header).
    pub binding: RecordBinding,
    /// Its text.
    pub text: String,
    /// Its key.
    pub key: RecordKey,
}

/// Opens a record read from the vault with the key wrapped for `me`,
/// proven against its anchor: the envelope must be the one `anchored`
/// names, and the wrap must be made by one of `makers` (the accounts the
/// anchor allows to share the record).
pub(crate) fn open_fetched(
    secret: &EncryptionSecret,
    me: [u8; 32],
    anchored: &Anchored,
    makers: &[[u8; 32]],
    fetched: &Fetched,
) -> Result<OpenedFetched, GatewayError> {
    let content_id = anchored.content_id;
    let wrap = fetched
        .wrap
        .as_ref()
        .ok_or_else(|| GatewayError::Undecryptable(hex::encode(content_id)))?;
    let unwrap_for = |grant| {
        unwrap(
            wrap,
            secret,
            &WrapBinding {
                content_id,
                grantee: me,
                grant,
            },
            makers,
        )
    };
    // A wrap is bound to the grant it was made under, or to none when it
    // was made for a break-glass: a read the vault allowed under a grant
    // may meet the latter.
    let key = unwrap_for(fetched.grant)
        .or_else(|error| match fetched.grant {
            Some(_) => unwrap_for(None),
            None => Err(error),
        })
        .map_err(|error| refusal(&content_id, error))?;
    let (binding, text) = decrypt_text(&key, anchored, &fetched.envelope)?;
    Ok(OpenedFetched { binding, text, key })
}

/// A shared record as the vault served it, with its anchor.
struct FetchedShared {
    content_id: [u8; 32],
    anchor: SharedAnchor,
    fetched: Fetched,
}

/// Decrypts a shared record `me` read, and checks it against its anchor.
fn open_shared(
    secret: &EncryptionSecret,
    me: [u8; 32],
    shared: &FetchedShared,
) -> Result<VisibleRecord, GatewayError> {
    let FetchedShared {
        content_id,
        anchor,
        fetched,
    } = shared;
    let anchored = Anchored {
        content_id: *content_id,
        owner: anchor.owner,
        version: anchor.version,
        record_id: None,
    };
    let OpenedFetched { text, .. } =
        open_fetched(secret, me, &anchored, &anchor.makers(), fetched)?;
    let parsed: Value = serde_json::from_str(&text)
        .map_err(|_| GatewayError::Undecryptable(hex::encode(content_id)))?;
    Ok(VisibleRecord {
        patient: anchor.owner,
        content_id: *content_id,
        category: anchor.category,
        resource_type: parsed["resourceType"].as_str().unwrap_or_default().into(),
        id: parsed["id"].as_str().unwrap_or_default().into(),
        text,
    })
}

/// Decrypts `envelope`, the envelope of `owner`'s own `record`, with
/// `owner`'s encryption secret.
fn open_sealed(
    owner: [u8; 32],
    secret: &EncryptionSecret,
    record: &OwnRecord,
    envelope: &[u8],
) -> Result<VisibleRecord, GatewayError> {
    let content_id = record.content_id;
    let key = unwrap(
        &record.owner_wrap,
        secret,
        &WrapBinding {
            content_id,
            grantee: owner,
            grant: None,
        },
        &[owner],
    )
    .map_err(|error| refusal(&content_id, error))?;
    let anchored = Anchored {
        content_id,
        owner,
        version: record.version,
        record_id: Some(record.record_id),
    };
    let (_, text) = decrypt_text(&key, &anchored, envelope)?;
    Ok(VisibleRecord {
        patient: owner,
        content_id: record.content_id,
        category: Category::from_code(&record.category).unwrap_or(Category::Other),
        resource_type: record.resource_type.clone(),
        id: record.resource_id.clone(),
        text,
    })
}

impl Gateway {
    /// Decrypts one of the user's own records from the index.
    pub async fn open_own(
        &self,
        identity: &Identity,
        record: &OwnRecord,
    ) -> Result<VisibleRecord, GatewayError> {
        let envelope = self.index.envelope(&record.content_id).await?;
        let owner = identity.signing_keypair().public_key().0;
        open_sealed(owner, &identity.encryption_secret(), record, &envelope)
    }

    /// The user's own current records, of `resource_type` if given,
    /// decrypted on every core.
    pub async fn own_visible(
        &self,
        identity: &Identity,
        resource_type: Option<&str>,
    ) -> Result<Vec<VisibleRecord>, GatewayError> {
        let sealed = self.index.own_records_sealed(resource_type).await?;
        let owner = identity.signing_keypair().public_key().0;
        let secret = identity.encryption_secret();
        tokio::task::spawn_blocking(move || {
            crate::cores::map_on_every_core(&sealed, |(record, envelope)| {
                open_sealed(owner, &secret, record, envelope)
            })
        })
        .await
        .expect("decryption does not panic")
    }

    async fn shared_anchor(
        &self,
        patient: [u8; 32],
        content_id: [u8; 32],
    ) -> Result<Option<SharedAnchor>, GatewayError> {
        Ok(self
            .shared_anchors(&[(patient, content_id)])
            .await?
            .remove(0))
    }

    /// What the chain anchors of `records` (`(patient, content id)`; `None`
    /// for those it does not anchor to that patient), in the order asked:
    /// remembered ones from memory, the others read together at one block,
    /// one request per patient.
    async fn shared_anchors(
        &self,
        records: &[([u8; 32], [u8; 32])],
    ) -> Result<Vec<Option<SharedAnchor>>, GatewayError> {
        let mut unknown: HashMap<[u8; 32], Vec<H256>> = HashMap::new();
        {
            let known = self.anchors.lock();
            for record in records.iter().filter(|record| !known.contains_key(*record)) {
                unknown.entry(record.0).or_default().push(H256(record.1));
            }
        }
        for (patient, content_ids) in unknown {
            let read = anchors(
                &self.reads,
                self.checker.rpc(),
                &AccountId32(patient),
                &content_ids,
            )
            .await?;
            let mut known = self.anchors.lock();
            for (content_id, found) in content_ids.iter().zip(read) {
                let Some(found) = found else {
                    continue;
                };
                known.insert(
                    (patient, content_id.0),
                    SharedAnchor {
                        owner: found.owner.0,
                        author: found.author.0,
                        category: Category::ALL
                            .get(found.category as usize)
                            .copied()
                            .unwrap_or(Category::Other),
                        version: found.version,
                    },
                );
            }
        }
        let known = self.anchors.lock();
        Ok(records
            .iter()
            .map(|record| known.get(record).copied())
            .collect())
    }

    /// Who wrote which of `records`, when not their patient: the authors
    /// their anchors name, by resource type and id (so that a summary
    /// attributes a clinician's entry to the clinician).
    pub async fn authors_of(
        &self,
        records: &[VisibleRecord],
    ) -> Result<medigate_fhir::Authored, GatewayError> {
        let keys: Vec<([u8; 32], [u8; 32])> = records
            .iter()
            .map(|record| (record.patient, record.content_id))
            .collect();
        let anchors = self.shared_anchors(&keys).await?;
        Ok(records
            .iter()
            .zip(anchors)
            .filter_map(|(record, anchor)| {
                let anchor = anchor?;
                (anchor.author != anchor.owner).then(|| {
                    (
                        (record.resource_type.clone(), record.id.clone()),
                        hex::encode(anchor.author),
                    )
                })
            })
            .collect())
    }

    /// Records shared with the user: of `patient` if given, in a category
    /// `resource_type` can be in if given, that the chain allows the user to
    /// read for `purpose` now. Each one is read from the vault (one access
    /// receipt each) and decrypted. When candidates exist but the chain
    /// allows none, the answer is [`GatewayError::Denied`] with its reason.
    pub async fn shared_visible(
        &self,
        identity: &Identity,
        patient: Option<[u8; 32]>,
        resource_type: Option<&str>,
        purpose: &Purpose,
    ) -> Result<Vec<VisibleRecord>, GatewayError> {
        let signer = identity.signing_keypair();
        let me = signer.public_key().0;
        let categories = resource_type.map(categories_of_type);
        let listed: Vec<([u8; 32], [u8; 32])> = self
            .vault
            .wrapped_for(&signer, &me)
            .await?
            .into_iter()
            .filter(|(owner, _)| patient.is_none_or(|patient| *owner == patient))
            .collect();
        let anchors = self.shared_anchors(&listed).await?;
        let candidates: Vec<([u8; 32], SharedAnchor)> = listed
            .iter()
            .zip(anchors)
            .filter_map(|((_, content_id), anchor)| anchor.map(|anchor| (*content_id, anchor)))
            .filter(|(_, anchor)| anchor.owner != me)
            .filter(|(_, anchor)| patient.is_none_or(|patient| anchor.owner == patient))
            .filter(|(_, anchor)| {
                categories
                    .as_ref()
                    .is_none_or(|categories| categories.contains(&anchor.category))
            })
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut allowed = Vec::new();
        let mut refusal = None;
        for chunk in candidates.chunks(medigate_chain_client::MAX_ACCESS_QUESTIONS) {
            let questions: Vec<AccessQuestion> = chunk
                .iter()
                .map(|(content_id, anchor)| read_question(me, *content_id, anchor, purpose))
                .collect();
            let decisions = self
                .checker
                .check_access_many(&questions)
                .await
                .map_err(|error| GatewayError::Chain(error.to_string()))?;
            for (candidate, decision) in chunk.iter().zip(decisions) {
                if decision.allowed {
                    allowed.push(*candidate);
                } else {
                    refusal.get_or_insert(format!("{:?}", decision.reason));
                }
            }
        }
        if allowed.is_empty() {
            return Err(GatewayError::Denied(refusal.unwrap_or_default()));
        }
        let fetched: Vec<Option<FetchedShared>> = futures::stream::iter(allowed)
            .map(|(content_id, anchor)| self.fetch_shared(identity, content_id, anchor, purpose))
            .buffered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        let fetched: Vec<FetchedShared> = fetched.into_iter().flatten().collect();
        let secret = identity.encryption_secret();
        let records = tokio::task::spawn_blocking(move || {
            crate::cores::map_on_every_core(&fetched, |shared| open_shared(&secret, me, shared))
        })
        .await
        .expect("decryption does not panic")?;
        let mut seen = self.seen.lock();
        for record in &records {
            seen.insert(
                (record.resource_type.clone(), record.id.clone()),
                (record.content_id, record.patient),
            );
        }
        Ok(records)
    }

    /// `patient`'s shared record `content_id`, if the chain allows the user
    /// to read it for `purpose` now: read from the vault (one access
    /// receipt) and decrypted.
    pub async fn shared_record(
        &self,
        identity: &Identity,
        patient: [u8; 32],
        content_id: [u8; 32],
        purpose: &Purpose,
    ) -> Result<VisibleRecord, GatewayError> {
        let me = identity.signing_keypair().public_key().0;
        let not_found = || GatewayError::NotFound(format!("record {}", hex::encode(content_id)));
        let anchor = self
            .shared_anchor(patient, content_id)
            .await?
            .ok_or_else(not_found)?;
        let question = read_question(me, content_id, &anchor, purpose);
        let decision = self
            .checker
            .check_access_many(std::slice::from_ref(&question))
            .await
            .map_err(|error| GatewayError::Chain(error.to_string()))?
            .pop()
            .ok_or_else(not_found)?;
        if !decision.allowed {
            return Err(GatewayError::Denied(format!("{:?}", decision.reason)));
        }
        let fetched = self
            .fetch_shared(identity, content_id, anchor, purpose)
            .await?
            .ok_or_else(|| {
                GatewayError::Denied("the vault refused the read under current consent".into())
            })?;
        let record = open_shared(&identity.encryption_secret(), me, &fetched)?;
        self.seen.lock().insert(
            (record.resource_type.clone(), record.id.clone()),
            (record.content_id, record.patient),
        );
        Ok(record)
    }

    /// Reads one shared record from the vault (one access receipt); `None`
    /// when the vault refuses (consent changed since the chain was asked).
    async fn fetch_shared(
        &self,
        identity: &Identity,
        content_id: [u8; 32],
        anchor: SharedAnchor,
        purpose: &Purpose,
    ) -> Result<Option<FetchedShared>, GatewayError> {
        let signer = identity.signing_keypair();
        let outcome = self
            .vault
            .get_blob(
                &signer,
                &content_id,
                &anchor.owner,
                crate::chain::purpose_code(purpose),
            )
            .await?;
        match outcome {
            ReadOutcome::Served(fetched) => Ok(Some(FetchedShared {
                content_id,
                anchor,
                fetched,
            })),
            ReadOutcome::Denied { code, message } => {
                tracing::info!(code, message, "the vault refused a read");
                Ok(None)
            }
        }
    }

    /// Where a shared record read before was: `(content id, patient)`.
    pub fn seen_shared(&self, resource_type: &str, id: &str) -> Option<([u8; 32], [u8; 32])> {
        self.seen
            .lock()
            .get(&(resource_type.to_string(), id.to_string()))
            .copied()
    }
}

/// What the gateway remembers of shared records it read: where each
/// `(type, id)` is.
pub type SeenRecords = HashMap<(String, String), ([u8; 32], [u8; 32])>;
