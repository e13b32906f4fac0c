//! The chain as the gateway uses it: transactions signed by its user, and an
//! index of the finalized events that concern them.

use std::time::Duration;

use futures::future::try_join_all;
use medigate_chain_client::{
    ChainError, Client, MediGateConfig, Receipt, account_id, medigate,
    medigate::runtime_types::medigate_access_policy::terms::{Action, Purpose},
    subxt::{extrinsics::ExtrinsicEvents, tx::Payload, utils::AccountId32},
};
use medigate_crypto::{keys::SigningKeypair, request::ReceiptedRead};

use crate::{
    error::GatewayError,
    index::{EmergencyEntry, Index, IndexedEvent},
};

/// The HL7 code of a purpose, as the chain's type.
pub fn purpose_code(purpose: &Purpose) -> &'static str {
    match purpose {
        Purpose::Treatment => "TREAT",
        Purpose::EmergencyTreatment => "ETREAT",
        Purpose::BreakTheGlass => "BTG",
        Purpose::Payment => "HPAYMT",
        Purpose::Operations => "HOPERAT",
        Purpose::Research => "HRESCH",
    }
}

/// The chain's purpose of an HL7 code.
pub fn purpose_from_code(code: &str) -> Result<Purpose, GatewayError> {
    Ok(match code {
        "TREAT" => Purpose::Treatment,
        "ETREAT" => Purpose::EmergencyTreatment,
        "BTG" => Purpose::BreakTheGlass,
        "HPAYMT" => Purpose::Payment,
        "HOPERAT" => Purpose::Operations,
        "HRESCH" => Purpose::Research,
        other => {
            return Err(GatewayError::BadRequest {
                what: format!("the purpose {other:?}"),
                expected:
                    "an HL7 purpose-of-use code: TREAT, ETREAT, BTG, HPAYMT, HOPERAT or HRESCH"
                        .into(),
            });
        }
    })
}

/// Whether the accessor an access receipt names signed the read it records,
/// as the vault that served it checked. The chain takes receipts without
/// this check (it makes it when a receipt is proven forged), so the gateway
/// makes it for every receipt it indexes: one that fails is indexed as
/// `forged`, a read the vault made up.
fn signed_by_accessor(receipt: &Receipt) -> bool {
    let Some(purpose) = medigate_access_policy::Purpose::from_code(purpose_code(&receipt.purpose))
    else {
        return false;
    };
    matches!(receipt.action, Action::Read)
        && ReceiptedRead {
            vault: receipt.vault.0,
            content_id: receipt.record.0,
            patient: receipt.patient.0,
            purpose,
            signed_at: receipt.request.signed_at,
            nonce: receipt.request.nonce,
        }
        .verify(&receipt.accessor.0, &receipt.request.signature.0)
        .is_ok()
}

fn action_code(action: &Action) -> &'static str {
    match action {
        Action::Read => "read",
        Action::Write => "write",
    }
}

/// Signs `calls` with consecutive nonces and submits them together; each
/// returned future ends when its call succeeds in a finalized block (or
/// fails), so that what follows one call need not wait for the others.
pub async fn submit_each<Call: Payload>(
    client: &Client,
    calls: &[Call],
    signer: &SigningKeypair,
) -> Result<Vec<futures::future::BoxFuture<'static, Result<(), GatewayError>>>, GatewayError> {
    use futures::FutureExt;
    Ok(medigate_chain_client::submit_many(client, calls, signer)
        .await?
        .into_iter()
        .map(|finality| {
            async move { finality.await.map(|_| ()).map_err(GatewayError::from) }.boxed()
        })
        .collect())
}

/// Signs `calls` with consecutive nonces, submits them together and waits
/// until every one succeeds in a finalized block.
pub async fn submit_together<Call: Payload>(
    client: &Client,
    calls: &[Call],
    signer: &SigningKeypair,
) -> Result<(), GatewayError> {
    try_join_all(submit_each(client, calls, signer).await?).await?;
    Ok(())
}

/// How the pool refuses a transaction whose account and nonce another
/// transaction in it already has.
pub const NONCE_TAKEN: &str = "priority of the transaction is too low";

/// How many times [`crate::Gateway::submit`] signs a call again after its
/// nonce was taken.
pub const NONCE_RETRIES: u32 = 3;

/// The longest [`crate::Gateway::wait_for_pending`] waits.
pub const PENDING_WAIT: Duration = Duration::from_secs(30);

impl crate::Gateway {
    /// Signs `calls` with `signer` at consecutive nonces from the pool's
    /// next one (`system_accountNextIndex`, which counts what is pending)
    /// and hands them to the node, one submission of this gateway at a
    /// time, so that no two of its transactions (an import's anchors, an
    /// approval, the emergency summary's refresh) take the same nonce.
    /// Returns, for each, when it is in a best block and its success in a
    /// finalized block, to wait for.
    pub async fn submit_calls<Call: Payload>(
        &self,
        calls: &[Call],
        signer: &SigningKeypair,
    ) -> Result<Vec<medigate_chain_client::Submitted>, GatewayError> {
        Ok(self.submit_calls_from(calls, signer, 0).await?.1)
    }

    /// [`Self::submit_calls`] at nonces from at least `lowest`; returns
    /// the first nonce taken, too.
    async fn submit_calls_from<Call: Payload>(
        &self,
        calls: &[Call],
        signer: &SigningKeypair,
        lowest: u64,
    ) -> Result<(u64, Vec<medigate_chain_client::Submitted>), GatewayError> {
        let _one_at_a_time = self.signing.lock().await;
        let first = medigate_chain_client::next_nonce(self.checker.rpc(), &account_id(signer))
            .await?
            .max(lowest);
        let submitted =
            medigate_chain_client::submit_many_followed(&self.chain, calls, signer, first).await?;
        Ok((first, submitted))
    }

    /// Waits until none of `account`'s transactions is pending: the pool's
    /// next nonce is the finalized one. A resumed import reads the chain
    /// after this, so that anchors sent before a restart are found rather
    /// than sent again. A transaction stuck in the pool stops the wait
    /// after [`PENDING_WAIT`].
    pub async fn wait_for_pending(&self, account: &AccountId32) -> Result<(), GatewayError> {
        let started = std::time::Instant::now();
        loop {
            let next = medigate_chain_client::next_nonce(self.checker.rpc(), account).await?;
            let last_final = medigate_chain_client::final_nonce(&self.reads, account).await?;
            if next <= last_final || started.elapsed() > PENDING_WAIT {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Signs and submits one call as [`Self::submit_calls`] does, waiting
    /// for it to succeed in a finalized block. The fork-aware pool's next
    /// nonce can miss a transaction of this gateway handed over just
    /// before (the pool's own race, as with [`medigate_chain_client::ALREADY_IMPORTED`]); the pool
    /// then refuses the call for its taken nonce ([`NONCE_TAKEN`]), and it
    /// is signed again at the next one, up to [`NONCE_RETRIES`] times.
    pub async fn submit<Call: Payload>(
        &self,
        call: &Call,
        signer: &SigningKeypair,
    ) -> Result<ExtrinsicEvents<MediGateConfig>, GatewayError> {
        let (mut lowest, mut retries) = (0, 0);
        loop {
            let (nonce, mut submitted) = self
                .submit_calls_from(std::slice::from_ref(call), signer, lowest)
                .await?;
            match submitted.remove(0).finality.await {
                Err(ChainError::Invalid(message))
                    if message.contains(NONCE_TAKEN) && retries < NONCE_RETRIES =>
                {
                    tracing::debug!(nonce, %message, "the nonce was taken; the call is signed again at the next one");
                    (lowest, retries) = (nonce + 1, retries + 1);
                }
                outcome => return Ok(outcome?),
            }
        }
    }
}

/// What one finalized block holds for the user.
#[derive(Debug, Default)]
struct BlockFindings {
    /// Consent and audit events.
    events: Vec<IndexedEvent>,
    /// Break-glasses on the user's records, on a patient's the user is a
    /// guardian of, or made by the user.
    glass_broken: Vec<EmergencyEntry>,
    /// Reviews of break-glasses already indexed: id, verdict, reviewer.
    reviews: Vec<(i64, &'static str, String)>,
    /// Break-glasses indexed whose full-record access was vetoed.
    vetoes: Vec<i64>,
    /// Whether governance named a new custodian set.
    custodians_changed: bool,
    /// Content ids someone else anchored to the user.
    written_for_me: Vec<[u8; 32]>,
    /// Receipts of the user's trail that their accessor did not sign, each
    /// with the proof of its forgery.
    forged: Vec<Forgery>,
}

/// An access receipt its accessor did not sign, where it is on chain, and
/// the Merkle path that proves it is in its batch: all that the audit
/// pallet's `report_forged_receipt` takes.
#[derive(Clone, Debug)]
pub struct Forgery {
    /// The batch holding it.
    pub batch: u64,
    /// Its position in the batch.
    pub index: u32,
    /// The receipt.
    pub receipt: Receipt,
    /// The Merkle path from it to the batch's root.
    pub path: Vec<[u8; 32]>,
}

impl BlockFindings {
    /// Whether break-glass `id` concerns the user: found in this block, or
    /// indexed before.
    async fn knows_break_glass(&self, index: &Index, id: u64) -> Result<bool, GatewayError> {
        Ok(self.glass_broken.iter().any(|entry| entry.id == id as i64)
            || index.knows_break_glass(id as i64).await?)
    }
}

/// The events of finalized block `number` that concern `me`.
async fn events_of_block(
    client: &Client,
    index: &Index,
    me: &str,
    number: u64,
) -> Result<BlockFindings, GatewayError> {
    use medigate::{
        audit::events as audit, consent::events as consent, emergency::events as emergency,
        records::events as records,
    };
    let chain = |error: String| GatewayError::Chain(format!("reading block {number}: {error}"));
    let events = client
        .at_block(number)
        .await
        .map_err(|error| chain(error.to_string()))?
        .events()
        .fetch()
        .await
        .map_err(|error| chain(error.to_string()))?;
    let hex = |bytes: &[u8; 32]| hex::encode(bytes);
    // The patients who made the user their delegate or guardian: their
    // consent events concern the user too.
    let wards = index.wards(me).await?;
    let mut findings = BlockFindings::default();
    for event in events.iter() {
        let event = event.map_err(|error| chain(error.to_string()))?;
        let mut indexed = IndexedEvent {
            block: number as i64,
            position: event.index() as i64,
            ..Default::default()
        };
        let concerns = |patient: &str, other: &str| {
            patient == me || other == me || wards.iter().any(|ward| ward == patient)
        };
        if let Some(Ok(requested)) = event.decode_fields_as::<consent::AccessRequested>() {
            indexed.kind = "requested".into();
            indexed.request_id = Some(requested.request as i64);
            indexed.patient = Some(hex(&requested.patient.0));
            indexed.counterparty = Some(hex(&requested.requester.0));
            indexed.purpose = Some(purpose_code(&requested.purpose).into());
        } else if let Some(Ok(granted)) = event.decode_fields_as::<consent::AccessGranted>() {
            indexed.kind = "granted".into();
            indexed.grant_id = Some(granted.grant as i64);
            indexed.patient = Some(hex(&granted.patient.0));
            indexed.counterparty = Some(hex(&granted.grantee.0));
            indexed.purpose = Some(purpose_code(&granted.purpose).into());
            indexed.expires_ms = Some(granted.expires_at as i64);
        } else if let Some(Ok(approved)) = event.decode_fields_as::<consent::RequestApproved>() {
            indexed.kind = "approved".into();
            indexed.request_id = Some(approved.request as i64);
            indexed.grant_id = Some(approved.grant as i64);
        } else if let Some(Ok(denied)) = event.decode_fields_as::<consent::RequestDenied>() {
            indexed.kind = "denied".into();
            indexed.request_id = Some(denied.request as i64);
        } else if let Some(Ok(withdrawn)) = event.decode_fields_as::<consent::RequestWithdrawn>() {
            indexed.kind = "withdrawn".into();
            indexed.request_id = Some(withdrawn.request as i64);
        } else if let Some(Ok(revoked)) = event.decode_fields_as::<consent::GrantRevoked>() {
            indexed.kind = "revoked".into();
            indexed.grant_id = Some(revoked.grant as i64);
        } else if let Some(Ok(added)) = event.decode_fields_as::<consent::DelegateAdded>() {
            indexed.kind = "delegated".into();
            indexed.patient = Some(hex(&added.patient.0));
            indexed.counterparty = Some(hex(&added.delegate.0));
        } else if let Some(Ok(removed)) = event.decode_fields_as::<consent::DelegateRemoved>() {
            indexed.kind = "undelegated".into();
            indexed.patient = Some(hex(&removed.patient.0));
            indexed.counterparty = Some(hex(&removed.delegate.0));
        } else if let Some(Ok(recorded)) = event.decode_fields_as::<audit::AccessRecorded>() {
            let receipt = recorded.receipt;
            // Only a receipt the user's trail shows is worth a signature check.
            if !concerns(&hex(&receipt.patient.0), &hex(&receipt.accessor.0)) {
                continue;
            }
            indexed.kind = if signed_by_accessor(&receipt) {
                "read"
            } else {
                // One proof ends the vault's attestation: a forged receipt
                // of each vault is enough.
                if !findings
                    .forged
                    .iter()
                    .any(|forgery| forgery.receipt.vault == receipt.vault)
                {
                    findings.forged.push(Forgery {
                        batch: recorded.batch,
                        index: recorded.index,
                        receipt: receipt.clone(),
                        path: Vec::new(),
                    });
                }
                "forged"
            }
            .into();
            indexed.patient = Some(hex(&receipt.patient.0));
            indexed.counterparty = Some(hex(&receipt.accessor.0));
            indexed.purpose = Some(purpose_code(&receipt.purpose).into());
            indexed.record = Some(hex(&receipt.record.0));
            indexed.action = Some(action_code(&receipt.action).into());
            indexed.grant_id = receipt.grant.map(|grant| grant as i64);
            indexed.vault = Some(hex(&receipt.vault.0));
            indexed.at_ms = Some(receipt.accessed_at as i64);
        } else if let Some(Ok(broken)) = event.decode_fields_as::<emergency::GlassBroken>() {
            let patient = hex(&broken.patient.0);
            let responder = hex(&broken.responder.0);
            let guardian = patient != me
                && responder != me
                && medigate_chain_client::emergency_policy(client, &broken.patient)
                    .await?
                    .is_some_and(|policy| policy.guardians.0.iter().any(|g| hex(&g.0) == me));
            if patient == me || responder == me || guardian {
                findings.glass_broken.push(EmergencyEntry {
                    id: broken.id as i64,
                    patient,
                    responder,
                    purpose: purpose_code(&broken.purpose).into(),
                    expires_ms: broken.expires_at as i64,
                    block: number as i64,
                    review: "pending".into(),
                    reviewer: None,
                    full_access_ms: broken.full_access_from.map(|ms| ms as i64),
                    full_access: broken.full_access_from.map(|_| "scheduled".into()),
                });
            }
            continue;
        } else if let Some(Ok(_)) = event.decode_fields_as::<emergency::CustodiansSet>() {
            findings.custodians_changed = true;
            continue;
        } else if let Some(Ok(anchored)) = event.decode_fields_as::<records::RecordsAnchored>() {
            if hex(&anchored.patient.0) == me && hex(&anchored.author.0) != me {
                findings
                    .written_for_me
                    .extend(anchored.records.0.iter().map(|record| record.content_id.0));
            }
            continue;
        } else if let Some(Ok(vetoed)) = event.decode_fields_as::<emergency::Vetoed>() {
            if findings.knows_break_glass(index, vetoed.id).await? {
                findings.vetoes.push(vetoed.id as i64);
            }
            continue;
        } else if let Some(Ok(reviewed)) = event.decode_fields_as::<emergency::Reviewed>() {
            if findings.knows_break_glass(index, reviewed.id).await? {
                use medigate::runtime_types::pallet_emergency::Review;
                let verdict = match reviewed.review {
                    Review::Flagged => "flagged",
                    Review::Justified => "justified",
                    Review::Pending => "pending",
                };
                findings
                    .reviews
                    .push((reviewed.id as i64, verdict, hex(&reviewed.reviewer.0)));
            }
            continue;
        } else {
            continue;
        }
        let relevant = match (&indexed.patient, &indexed.counterparty) {
            (Some(patient), Some(other)) => concerns(patient, other),
            // Events naming only an id concern the user when the id does.
            _ => {
                findings.events.iter().any(|earlier: &IndexedEvent| {
                    (indexed.request_id.is_some() && earlier.request_id == indexed.request_id)
                        || (indexed.grant_id.is_some() && earlier.grant_id == indexed.grant_id)
                }) || index.knows(indexed.request_id, indexed.grant_id).await?
            }
        };
        if relevant {
            findings.events.push(indexed);
        }
    }
    // Each forgery's Merkle path, from the receipts of its batch that this
    // block records (a batch is committed in one call, so all of them),
    // checked against the root the chain keeps. One that cannot be proven
    // is still indexed as forged.
    let forged = std::mem::take(&mut findings.forged);
    for mut forgery in forged {
        match batch_path(&events, forgery.batch, forgery.index) {
            Some(path) => {
                forgery.path = path;
                findings.forged.push(forgery);
            }
            None => tracing::warn!(
                batch = forgery.batch,
                "a forged access receipt's batch does not rebuild to its committed root; it is not proven"
            ),
        }
    }
    Ok(findings)
}

/// The Merkle path of receipt `index` of batch `batch`, from the receipts
/// `events` (one block's) record of that batch, if they rebuild to the root
/// its `BatchCommitted` event names. Events that do not decode are skipped,
/// as the follower skips them.
fn batch_path(
    events: &medigate_chain_client::subxt::events::Events<MediGateConfig>,
    batch: u64,
    index: u32,
) -> Option<Vec<[u8; 32]>> {
    use medigate::audit::events::{AccessRecorded, BatchCommitted};
    let mut leaves = Vec::new();
    let mut root = None;
    for event in events.iter().filter_map(Result::ok) {
        if let Some(Ok(recorded)) = event.decode_fields_as::<AccessRecorded>() {
            if recorded.batch == batch {
                // A leaf is the receipt's SCALE encoding, as the chain made it.
                leaves.push((recorded.index, codec::Encode::encode(&recorded.receipt)));
            }
        } else if let Some(Ok(committed)) = event.decode_fields_as::<BatchCommitted>()
            && committed.batch == batch
        {
            root = Some(committed.root.0);
        }
    }
    leaves.sort_by_key(|(index, _)| *index);
    let leaves: Vec<Vec<u8>> = leaves.into_iter().map(|(_, leaf)| leaf).collect();
    (root? == medigate_protocol::receipts::root(&leaves))
        .then(|| medigate_protocol::receipts::path(leaves, index))
}

/// The setting holding the next block to index.
const NEXT_BLOCK: &str = "next_block";

/// Indexes the finalized blocks from where the index stopped (the current
/// finalized block on a first start) up to the latest, then follows new
/// ones, until the task is dropped. Errors are logged and retried.
pub async fn follow(client: Client, index: Index, me: [u8; 32], granted: GrantSender) {
    let me = hex::encode(me);
    loop {
        if let Err(error) = follow_once(&client, &index, &me, &granted).await {
            tracing::warn!(%error, "indexing chain events failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// What the follower tells the gateway of as it indexes.
#[derive(Clone, Debug)]
pub enum FollowerNews {
    /// A new grant of the user's records (so that grants a delegate
    /// approved are shared by the patient's gateway).
    Granted(u64),
    /// A break-glass on the records of the user or of a patient the user is
    /// a guardian of (to notify them).
    GlassBroken(EmergencyEntry),
    /// Governance named a new custodian set (so that the emergency key's
    /// shares are dealt anew).
    CustodiansChanged,
    /// Someone else anchored these records (content ids) to the user (a
    /// clinician wrote into their record), to collect from the vault.
    WrittenFor(Vec<[u8; 32]>),
    /// Receipts in the user's trail that their accessor did not sign, to
    /// prove forged on chain.
    Forged(Vec<Forgery>),
}

/// Where the follower tells of what it indexed.
pub type GrantSender = tokio::sync::mpsc::UnboundedSender<FollowerNews>;

/// Indexes every finalized block not yet indexed, telling `granted` of each
/// new grant of `me`'s records.
pub async fn catch_up(
    client: &Client,
    index: &Index,
    me: &str,
    granted: &GrantSender,
) -> Result<u64, GatewayError> {
    let finalized = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?
        .block_number();
    let next = match index.setting(NEXT_BLOCK).await? {
        Some(next) => next.parse().unwrap_or(finalized),
        None => finalized,
    };
    for number in next..=finalized {
        let found = events_of_block(client, index, me, number).await?;
        index.insert_events(&found.events).await?;
        for event in &found.events {
            if event.kind == "granted" && event.patient.as_deref() == Some(me) {
                let _ = granted.send(FollowerNews::Granted(
                    event.grant_id.unwrap_or_default() as u64
                ));
            }
        }
        for entry in found.glass_broken {
            if index.keep_break_glass(&entry).await? && entry.responder != me {
                let _ = granted.send(FollowerNews::GlassBroken(entry));
            }
        }
        for (id, review, reviewer) in found.reviews {
            index.review_break_glass(id, review, &reviewer).await?;
        }
        for id in found.vetoes {
            index.set_full_access(id, "vetoed").await?;
        }
        if found.custodians_changed {
            let _ = granted.send(FollowerNews::CustodiansChanged);
        }
        if !found.written_for_me.is_empty() {
            let _ = granted.send(FollowerNews::WrittenFor(found.written_for_me));
        }
        if !found.forged.is_empty() {
            let _ = granted.send(FollowerNews::Forged(found.forged));
        }
        index
            .set_setting(NEXT_BLOCK, &(number + 1).to_string())
            .await?;
    }
    Ok(finalized)
}

async fn follow_once(
    client: &Client,
    index: &Index,
    me: &str,
    granted: &GrantSender,
) -> Result<(), GatewayError> {
    let mut blocks = client
        .stream_blocks()
        .await
        .map_err(|error| GatewayError::Chain(error.to_string()))?;
    catch_up(client, index, me, granted).await?;
    while let Some(block) = blocks.next().await {
        block.map_err(|error| GatewayError::Chain(error.to_string()))?;
        catch_up(client, index, me, granted).await?;
    }
    Err(GatewayError::Chain(
        "the finalized block stream ended".into(),
    ))
}

/// An event as a node gives it, to prove what the index says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEvent {
    /// The hash of the block holding it (hex).
    pub block_hash: String,
    /// Its pallet (`Audit`).
    pub pallet: String,
    /// Its name (`AccessRecorded`).
    pub variant: String,
    /// Its fields, SCALE-encoded (hex).
    pub data: String,
}

/// Event `position` of block `number`, read from the node again.
pub async fn event_at(
    gateway: &crate::Gateway,
    number: u64,
    position: u32,
) -> Result<ChainEvent, GatewayError> {
    let chain = |error: String| GatewayError::Chain(format!("reading block {number}: {error}"));
    let block = gateway
        .reads
        .at_block(number)
        .await
        .map_err(|error| chain(error.to_string()))?;
    let block_hash = hex::encode(block.block_hash().0);
    let events = block
        .events()
        .fetch()
        .await
        .map_err(|error| chain(error.to_string()))?;
    for event in events.iter() {
        let event = event.map_err(|error| chain(error.to_string()))?;
        if event.index() == position {
            return Ok(ChainEvent {
                block_hash,
                pallet: event.pallet_name().to_string(),
                variant: event.event_name().to_string(),
                data: hex::encode(event.field_bytes()),
            });
        }
    }
    Err(GatewayError::NotFound(format!(
        "event {position} of block {number}"
    )))
}
