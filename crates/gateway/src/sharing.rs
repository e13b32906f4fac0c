//! Sharing records under a grant: each record key the grant covers, wrapped
//! to the grantee's encryption key and stored in the vault beside the
//! envelope. The chain's grant decides what the vault serves; the wrap is
//! what lets the grantee decrypt it.

use futures::{StreamExt, TryStreamExt};
use medigate_chain_client::{
    encryption_key, grant,
    medigate::runtime_types::medigate_access_policy::terms::Scope,
    subxt::utils::{AccountId32, H256},
};
use medigate_crypto::{
    keys::{EncryptionPublicKey, Identity},
    wrap::{WrapBinding, unwrap, wrap},
};
use medigate_vault::batch::BatchItem;

use crate::{
    Gateway,
    error::GatewayError,
    import::{BATCHES_IN_FLIGHT, Progress, ProgressSink, WRAPS_PER_BATCH},
    index::{IndexedEvent, OwnRecord},
};

/// Whether a grant's `scope` covers `record`.
fn covers(
    scope: &Scope<medigate_chain_client::medigate::runtime_types::bounded_collections::bounded_vec::BoundedVec<H256>>,
    record: &OwnRecord,
) -> bool {
    match scope {
        Scope::All => true,
        Scope::Categories(set) => medigate_access_policy::Category::from_code(&record.category)
            .is_some_and(|category| set.0 & (1 << category as u16) != 0),
        Scope::Records(ids) => ids.0.contains(&H256(record.content_id)),
    }
}

impl Gateway {
    /// Wraps the keys of the user's records that grant `grant_id` covers
    /// for its grantee (those not wrapped yet); returns how many were
    /// wrapped. A revoked, expired or unknown grant, or one of another
    /// patient, shares nothing.
    pub async fn share_under_grant(
        &self,
        identity: &Identity,
        grant_id: u64,
    ) -> Result<u64, GatewayError> {
        let signer = identity.signing_keypair();
        let me = medigate_chain_client::account_id(&signer);
        let Some(terms) = grant(&self.reads, grant_id).await? else {
            return Ok(0);
        };
        let now = medigate_chain_client::chain_time(&self.reads).await?;
        if terms.patient != me || terms.revoked || terms.expires_at <= now {
            return Ok(0);
        }
        let grantee_key = encryption_key(&self.reads, &terms.grantee)
            .await?
            .ok_or_else(|| GatewayError::NotRegistered(hex::encode(terms.grantee.0)))?;
        let already: std::collections::HashSet<[u8; 32]> = self
            .index
            .shared_under(grant_id)
            .await?
            .into_iter()
            .collect();
        let records: Vec<OwnRecord> = self
            .index
            .own_records(None)
            .await?
            .into_iter()
            .filter(|record| covers(&terms.scope, record) && !already.contains(&record.content_id))
            .collect();
        let shared = self
            .wrap_for(
                identity,
                &records,
                &terms.grantee,
                grantee_key,
                Some(grant_id),
            )
            .await?;
        self.index.mark_shared(&shared, grant_id).await?;
        Ok(shared.len() as u64)
    }

    /// Wraps the keys of `records` (the user's own) to `grantee`'s
    /// encryption key `grantee_key`, bound to `grant` (the grant that will
    /// allow the reads; `None` for a break-glass), and stores the wraps in
    /// the vault. Returns the content ids wrapped.
    pub(crate) async fn wrap_for(
        &self,
        identity: &Identity,
        records: &[OwnRecord],
        grantee: &AccountId32,
        grantee_key: [u8; 32],
        grant: Option<u64>,
    ) -> Result<Vec<[u8; 32]>, GatewayError> {
        let signer = identity.signing_keypair();
        let me = medigate_chain_client::account_id(&signer);
        let secret = identity.encryption_secret();
        let keyed: Vec<([u8; 32], Vec<u8>)> = records
            .iter()
            .map(|record| (record.content_id, record.owner_wrap.clone()))
            .collect();
        let grantee_id = grantee.0;
        let maker = signer.clone();
        // Unwrapping and wrapping again is CPU work: on every core, off the
        // async runtime.
        let wrapped = tokio::task::spawn_blocking(move || {
            crate::cores::map_on_every_core(&keyed, |(content_id, owner_wrap)| {
                let key = unwrap(
                    owner_wrap,
                    &secret,
                    &WrapBinding {
                        content_id: *content_id,
                        grantee: me.0,
                        grant: None,
                    },
                    &[me.0],
                )
                .map_err(|_| GatewayError::Undecryptable(hex::encode(content_id)))?;
                let wrap = wrap(
                    &key,
                    &EncryptionPublicKey(grantee_key),
                    &WrapBinding {
                        content_id: *content_id,
                        grantee: grantee_id,
                        grant,
                    },
                    &maker,
                )
                .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
                Ok::<_, GatewayError>((*content_id, wrap))
            })
        })
        .await
        .expect("wrapping does not panic")?;
        let batches: Vec<Vec<([u8; 32], [u8; medigate_crypto::wrap::WRAP_LEN])>> =
            wrapped.chunks(WRAPS_PER_BATCH).map(<[_]>::to_vec).collect();
        let shared: Vec<Vec<[u8; 32]>> = futures::stream::iter(batches)
            .map(|batch| {
                let (signer, grantee) = (&signer, &grantee);
                async move {
                    let items: Vec<BatchItem<'_>> = batch
                        .iter()
                        .map(|(content_id, wrap)| BatchItem::KeyWrap {
                            content_id: *content_id,
                            grantee: grantee.0,
                            bytes: wrap,
                        })
                        .collect();
                    self.vault.put_batch(signer, &items).await?;
                    Ok::<_, GatewayError>(batch.iter().map(|(content_id, _)| *content_id).collect())
                }
            })
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(shared.into_iter().flatten().collect())
    }

    /// The grants the index knows of (`granted` events) that were not
    /// revoked since.
    pub(crate) async fn unrevoked_grants(&self) -> Result<Vec<IndexedEvent>, GatewayError> {
        let events = self.index.events(&["granted", "revoked"]).await?;
        let revoked: std::collections::HashSet<i64> = events
            .iter()
            .filter(|event| event.kind == "revoked")
            .filter_map(|event| event.grant_id)
            .collect();
        Ok(events
            .into_iter()
            .filter(|event| {
                event.kind == "granted"
                    && event
                        .grant_id
                        .is_some_and(|grant| !revoked.contains(&grant))
            })
            .collect())
    }

    /// Shares newly imported records under every current grant of the
    /// user's (as the index knows them); returns how many wraps were made.
    pub async fn share_with_current_grantees(
        &self,
        identity: &Identity,
        progress: &ProgressSink,
    ) -> Result<u64, GatewayError> {
        let me = hex::encode(identity.signing_keypair().public_key().0);
        let grants: Vec<u64> = self
            .unrevoked_grants()
            .await?
            .iter()
            .filter(|granted| granted.patient.as_deref() == Some(&me))
            .filter_map(|granted| granted.grant_id)
            .map(|grant| grant as u64)
            .collect();
        let mut shared = 0;
        for (done, grant_id) in grants.iter().enumerate() {
            shared += self.share_under_grant(identity, *grant_id).await?;
            progress(Progress {
                phase: "sharing",
                done: done as u64 + 1,
                total: grants.len() as u64,
            });
        }
        Ok(shared)
    }
}
