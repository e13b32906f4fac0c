//! Records written into another patient's record: a clinician holding a
//! write grant adds a note or a result, encrypted to the patient, anchored
//! under the patient's account (the chain checks the grant), stored in the
//! vault. The patient's gateway then finds it among the wraps made for the
//! patient and keeps it with the patient's own records.

use std::{collections::HashSet, sync::Arc, time::Duration};

use medigate_access_policy::Category;
use medigate_chain_client::{
    anchor, encryption_key, medigate,
    medigate::runtime_types::{
        bounded_collections::bounded_vec::BoundedVec, pallet_records::AnchorRequest,
    },
    subxt::utils::{AccountId32, H256},
};
use medigate_crypto::{
    keys::{EncryptionPublicKey, Identity},
    record::{Anchored, RecordBinding, RecordKey, encrypt},
    wrap::{OwnerSealer, WrapBinding, wrap},
};
use serde_json::Value;

use crate::{
    Gateway, chain,
    error::GatewayError,
    index::{OwnRecord, RecordState},
    records::{OpenedFetched, open_fetched},
    vault_client::ReadOutcome,
};

/// A record the user wrote into a patient's record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuthoredRecord {
    /// Its content id (hex).
    pub content_id: String,
    /// Its type and id (`Observation/…`).
    pub reference: String,
    /// Its category code.
    pub category: String,
}

/// The id of a record of `owner`, as imports derive it (stable across
/// versions).
pub fn record_id(owner: &[u8; 32], resource_type: &str, id: &str) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("medigate/v1/record-id");
    hasher.update(owner);
    hasher.update(resource_type.as_bytes());
    hasher.update(b"/");
    hasher.update(id.as_bytes());
    *hasher.finalize().as_bytes()
}

/// Whether an authored `resource` is what its anchor (in `category`) says:
/// a clinical resource of that category, never a `Patient` (whose
/// demographics only the patient's own records give) nor a `Bundle`.
fn authored_as_anchored(resource: &Value, category: Category) -> bool {
    let Some(resource_type) = resource["resourceType"].as_str() else {
        return false;
    };
    !matches!(resource_type, "Patient" | "Bundle")
        && medigate_fhir::category_of(resource) == category
}

/// The waits before each collection of records written for the user, after
/// the follower told of them: about half a minute in all.
const COLLECT_DELAYS: [Duration; 7] = [
    Duration::ZERO,
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

impl Gateway {
    /// Writes `resource` (FHIR R4 JSON with an `id`) into `patient`'s
    /// record as the user, who needs a current write grant from the patient
    /// for its category: the chain refuses the anchor otherwise, and then
    /// nothing is stored.
    pub async fn author_record(
        &self,
        patient: [u8; 32],
        resource_text: &str,
    ) -> Result<AuthoredRecord, GatewayError> {
        let identity = self.keyring.identity()?;
        self.require_registered(&identity).await?;
        let resource = medigate_fhir::validate::parse(resource_text.as_bytes())?;
        medigate_fhir::validate::validate(&resource)?;
        let resource_type = resource["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let id = resource["id"]
            .as_str()
            .ok_or_else(|| GatewayError::BadRequest {
                what: "the resource".into(),
                expected: "an `id`".into(),
            })?
            .to_string();
        if matches!(resource_type.as_str(), "Patient" | "Bundle") {
            return Err(GatewayError::BadRequest {
                what: format!("a {resource_type}"),
                expected: "a clinical resource (a note, an observation, ...)".into(),
            });
        }
        let patient_key = encryption_key(&self.reads, &AccountId32(patient))
            .await?
            .ok_or_else(|| GatewayError::NotRegistered(hex::encode(patient)))?;
        let category = medigate_fhir::category_of(&resource);
        let key = RecordKey::generate();
        let binding = RecordBinding {
            record_id: record_id(&patient, &resource_type, &id),
            version: 0,
            owner: patient,
        };
        let mut envelope = Vec::with_capacity(resource_text.len() + 256);
        let encrypted = encrypt(&key, binding, resource_text.as_bytes(), &mut envelope)
            .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
        let signer = identity.signing_keypair();
        let patient_wrap = wrap(
            &key,
            &EncryptionPublicKey(patient_key),
            &WrapBinding {
                content_id: encrypted.content_id,
                grantee: patient,
                grant: None,
            },
            &signer,
        )
        .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
        let call = medigate::tx().records().anchor_batch(
            AccountId32(patient),
            BoundedVec(vec![AnchorRequest {
                content_id: H256(encrypted.content_id),
                category: crate::import::chain_category(category.code()),
                size: encrypted.envelope_len,
                previous: None,
            }]),
        );
        self.submit(&call, &signer)
            .await
            .map_err(|error| match error {
                GatewayError::Chain(reason) if reason.contains("NotPermitted") => {
                    GatewayError::Denied(format!(
                        "no current grant from the patient lets you add {} records",
                        category.code()
                    ))
                }
                other => other,
            })?;
        self.vault
            .put_blob(&signer, &encrypted.content_id, envelope)
            .await?;
        self.vault
            .put_wrap(
                &signer,
                &encrypted.content_id,
                &patient,
                patient_wrap.to_vec(),
            )
            .await?;
        Ok(AuthoredRecord {
            content_id: hex::encode(encrypted.content_id),
            reference: format!("{resource_type}/{id}"),
            category: category.code().into(),
        })
    }

    /// Collects the records others write into the user's record, until the
    /// gateway stops: once at the start (records written while it was
    /// away), then whenever the follower tells of some anchored
    /// ([`Gateway::written_for`]). Their authors upload them after the
    /// anchor, so collection is tried again after each of
    /// [`COLLECT_DELAYS`] while any told of is neither collected nor left
    /// out; those still missing then wait for the next news. Errors are
    /// logged.
    pub async fn collect_written_for_user(self: Arc<Self>) {
        self.collect_written_once().await;
        loop {
            self.written_news.notified().await;
            for delay in COLLECT_DELAYS {
                tokio::time::sleep(delay).await;
                self.collect_written_once().await;
                match self.index.known_content_ids().await {
                    Ok(known) => {
                        let left_out = self.left_out.lock().clone();
                        let mut waiting = self.written_for.lock();
                        waiting.retain(|id| !known.contains(id) && !left_out.contains(id));
                        if waiting.is_empty() {
                            break;
                        }
                    }
                    Err(error) => tracing::warn!(%error, "the index cannot be read"),
                }
            }
        }
    }

    /// One collection of records written for the user (see
    /// [`Gateway::collect_authored`]), logged.
    async fn collect_written_once(&self) {
        let Ok(identity) = self.keyring.identity() else {
            return;
        };
        let _one_at_a_time = self.collect_lock.lock().await;
        match self.collect_authored(&identity).await {
            Ok(0) => {}
            Ok(added) => tracing::info!(added, "records written for the user were collected"),
            Err(error) => {
                tracing::warn!(%error, "records written for the user could not be collected");
            }
        }
    }

    /// Keeps in the index the records others wrote into the user's record
    /// since the last time: found among the vault's wraps for the user,
    /// anchored to the user by someone else, read from the vault (an audited
    /// read), proven against the anchor (the envelope is the anchored one,
    /// the wrap is signed by the anchor's author) and of a type and category
    /// that match the anchor (never a `Patient`); those that are not are
    /// left out. The key is sealed again as the user's own, so that the
    /// index holds owner-sealed wraps only. Returns how many were added.
    pub async fn collect_authored(&self, identity: &Identity) -> Result<usize, GatewayError> {
        let signer = identity.signing_keypair();
        let me = signer.public_key().0;
        let listed = self.vault.wrapped_for(&signer, &me).await?;
        let mut known: HashSet<[u8; 32]> = self.index.known_content_ids().await?;
        known.extend(self.left_out.lock().iter().copied());
        let mut added = 0;
        // Records of the user's, wrapped for the user by someone else: the
        // anchor read is the one to the user's own records.
        let mine = listed
            .into_iter()
            .filter(|(owner, content_id)| *owner == me && !known.contains(content_id));
        for (_, content_id) in mine {
            let Some(found) = anchor(&self.reads, &AccountId32(me), H256(content_id)).await? else {
                continue;
            };
            if found.author.0 == me {
                continue;
            }
            let purpose = chain::purpose_code(&chain::purpose_from_code(&self.default_purpose)?);
            let fetched = match self
                .vault
                .get_blob(&signer, &content_id, &me, purpose)
                .await?
            {
                ReadOutcome::Served(fetched) => fetched,
                ReadOutcome::Denied { .. } => continue,
            };
            // A record that does not open as the patient's is left out (and
            // told in the log), so that no author can break the patient's
            // listing.
            let anchored = Anchored {
                content_id,
                owner: me,
                version: found.version,
                record_id: None,
            };
            let category = Category::ALL
                .get(found.category as usize)
                .copied()
                .unwrap_or(Category::Other);
            let opened = open_fetched(
                &identity.encryption_secret(),
                me,
                &anchored,
                &[found.author.0],
                &fetched,
            )
            .and_then(|OpenedFetched { binding, text, key }| {
                let resource: Value = serde_json::from_str(&text)
                    .map_err(|_| GatewayError::Undecryptable(hex::encode(content_id)))?;
                if fetched.grant.is_none() && authored_as_anchored(&resource, category) {
                    Ok((binding, resource, key))
                } else {
                    Err(GatewayError::Undecryptable(hex::encode(content_id)))
                }
            });
            let (binding, resource, key) = match opened {
                Ok(opened) => opened,
                Err(error) => {
                    tracing::warn!(%error, author = %hex::encode(found.author.0), "a record written for the user does not open; left out");
                    self.left_out.lock().insert(content_id);
                    continue;
                }
            };
            // A record that takes the type and id of one the user has would
            // pass for it (or be passed off as its author's): left out.
            let resource_type = resource["resourceType"].as_str().unwrap_or_default();
            let resource_id = resource["id"].as_str().unwrap_or_default();
            if !self
                .index
                .latest_versions(&[(resource_type, resource_id)])
                .await?
                .is_empty()
            {
                tracing::warn!(author = %hex::encode(found.author.0), "a record written for the user reuses the id of one of theirs; left out");
                self.left_out.lock().insert(content_id);
                continue;
            }
            let owner_wrap = OwnerSealer::new(&identity.encryption_secret())
                .seal(
                    &key,
                    &WrapBinding {
                        content_id,
                        grantee: me,
                        grant: None,
                    },
                )
                .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
            let record = OwnRecord {
                content_id,
                record_id: binding.record_id,
                version: binding.version,
                resource_type: resource["resourceType"].as_str().unwrap_or_default().into(),
                resource_id: resource["id"].as_str().unwrap_or_default().into(),
                category: category.code().into(),
                size: found.size,
                owner_wrap: owner_wrap.to_vec(),
                previous: None,
                state: RecordState::Stored,
                import_id: format!("authored-{}", hex::encode(content_id)),
            };
            self.index
                .keep_authored(&record, &fetched.envelope, crate::now_ms())
                .await?;
            added += 1;
        }
        Ok(added)
    }
}
