//! Emergency access from the gateway.
//!
//! **As a patient.** The emergency policy is set on chain (enabled, the
//! roles allowed to break the glass, guardians, the grant's window). While
//! it is enabled the gateway keeps an emergency summary current: an
//! International Patient Summary of the patient's records, encrypted under
//! the emergency key (derived from the patient's seed, by generation),
//! stored in the vault, anchored as a summary record and pointed to on
//! chain. The key is split among the chain's custodians (k of n, k the
//! chain's threshold), each share sealed to the custodian's registered key
//! and handed over. The key can also be printed on an offline card.
//!
//! **As a responder.** A break-glass goes on chain (waiting only for a best
//! block); the custodians are asked at once, in parallel, for their shares,
//! sealed to the responder; the first k rebuild the key; the summary is
//! read from the vault (an audited read, allowed by the running
//! break-glass) and decrypted here. With a card, the custodians are skipped.
//! When the patient's policy has a veto window, the rest of the records
//! follow after it (see [`crate::full_access`]).

use std::{sync::Arc, time::Instant};

use futures::{StreamExt, stream::FuturesUnordered};
use medigate_access_policy::Category;
use medigate_chain_client::{
    anchor, custodian_set, emergency_policy, emergency_summary, encryption_key, holds_role,
    is_registered, latest_break_glass, medigate,
    medigate::runtime_types::{
        bounded_collections::bounded_vec::BoundedVec,
        medigate_access_policy::terms::{Purpose, RoleSet},
        pallet_emergency::Review,
        pallet_records::AnchorRequest,
    },
    submit_in_best_block,
    subxt::utils::{AccountId32, H256},
};
use medigate_crypto::{
    CryptoError,
    card::EmergencyCard,
    keys::{EncryptionPublicKey, Identity},
    record::{Anchored, RecordBinding, RecordKey, decrypt, encrypt},
    shares::{
        ShareBinding, ShareCollector, ShareStatement, dealing_id, open_share, seal_share,
        split_key_for_dealing,
    },
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    Gateway, chain,
    custodian_client::DealtShare,
    error::GatewayError,
    index::EmergencyEntry,
    vault_client::{ReadOutcome, VaultClient},
};

/// The index settings emergency access keeps.
const GENERATION: &str = "emergency.generation";
const SUMMARY: &str = "emergency.summary";
const FINGERPRINT: &str = "emergency.fingerprint";
const PREPARED: &str = "emergency.prepared_ms";
const HOLDERS: &str = "emergency.holders";

/// How long after the last import the emergency summary is made again.
const SUMMARY_QUIET: std::time::Duration = std::time::Duration::from_secs(2);

/// The roles a policy may allow, by the codes the API and the web app use.
pub const RESPONDER_ROLES: [(&str, medigate_access_policy::Role); 2] = [
    (
        "responder",
        medigate_access_policy::Role::EmergencyResponder,
    ),
    ("provider", medigate_access_policy::Role::Provider),
];

/// The id of a patient's emergency summary record (stable across its
/// versions, unlinkable to the patient without their account).
pub fn summary_record_id(patient: &[u8; 32]) -> [u8; 32] {
    *blake3::Hasher::new_derive_key("medigate/v1/emergency-summary-record")
        .update(patient)
        .finalize()
        .as_bytes()
}

/// What a patient asks for their emergency policy.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EmergencySettings {
    /// Whether anyone may break the glass.
    pub enabled: bool,
    /// The role codes allowed (`responder`, `provider`); emergency
    /// responders when empty.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The guardians to notify, who may also review (hex accounts).
    #[serde(default)]
    pub guardians: Vec<String>,
    /// How long an emergency grant lasts, in minutes (60 when not given, at
    /// most a day).
    pub window_minutes: Option<u64>,
    /// The veto window, in seconds: when given, a break-glass opens every
    /// category of the patient's records this long after it, unless the
    /// patient or a guardian vetoes it first (shorter than the window).
    pub full_access_after_seconds: Option<u64>,
}

/// The custodians that took a share of one key generation's key (kept in
/// the index).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct HeldShares {
    /// The generation.
    generation: u32,
    /// Who took a share of it (hex accounts).
    holders: Vec<String>,
}

/// A custodian as the patient's gateway sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustodianHolding {
    /// Its account (hex).
    pub account: String,
    /// Where it listens, if this gateway is configured with it.
    pub url: Option<String>,
    /// Whether it holds a share of the current key.
    pub holds_share: bool,
}

/// The emergency summary as last prepared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SummaryState {
    /// Its content id (hex).
    pub content_id: String,
    /// When it was made (milliseconds since the Unix epoch).
    pub prepared_ms: i64,
    /// The generation of the key it is encrypted under.
    pub generation: u32,
}

/// The user's emergency access, as a patient and as a responder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmergencyStatus {
    /// Whether the user's policy is enabled.
    pub enabled: bool,
    /// The role codes it allows.
    pub roles: Vec<String>,
    /// Its guardians (hex accounts).
    pub guardians: Vec<String>,
    /// Its window, in minutes.
    pub window_minutes: u64,
    /// Its veto window, in seconds, if break-glasses open full-record
    /// access after one.
    pub full_access_after_seconds: Option<u64>,
    /// The summary, once prepared.
    pub summary: Option<SummaryState>,
    /// The chain's custodians.
    pub custodians: Vec<CustodianHolding>,
    /// How many must release their share.
    pub threshold: u8,
    /// Break-glasses on the user's records, on those of patients the user
    /// is a guardian of, and the user's own, newest first.
    pub break_glasses: Vec<EmergencyEntry>,
}

/// How long each step of an emergency read took, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReadTimings {
    /// From submitting the break-glass to its inclusion in a best block.
    pub inclusion_ms: u64,
    /// Rebuilding the key (custodians asked, shares opened and combined).
    pub key_ms: u64,
    /// Reading the summary from the vault and decrypting it.
    pub summary_ms: u64,
    /// From inclusion to the decrypted summary.
    pub after_inclusion_ms: u64,
}

/// What a responder gets.
#[derive(Clone, Debug, Serialize)]
pub struct EmergencyRead {
    /// The patient (hex account).
    pub patient: String,
    /// The break-glass that allowed the read.
    pub break_glass: u64,
    /// Its purpose (`ETREAT` or `BTG`).
    pub purpose: String,
    /// When its grant ends (milliseconds since the Unix epoch).
    pub expires_ms: u64,
    /// When its grant opens every category of the patient's records unless
    /// vetoed (milliseconds since the Unix epoch), if the policy says so.
    pub full_access_ms: Option<u64>,
    /// `custodians` or `card`.
    pub key_from: &'static str,
    /// How many shares rebuilt the key (0 with a card).
    pub shares_used: usize,
    /// The custodians that refused or failed, with why.
    pub refusals: Vec<String>,
    /// The International Patient Summary (a FHIR document Bundle).
    pub summary: Value,
    /// How long each step took.
    pub timings: ReadTimings,
}

/// The index setting that holds the sealed reason (and its salt) of the
/// user's break-glass `id` ([`medigate_crypto::note`]).
pub fn reason_note_name(id: u64) -> String {
    format!("emergency.reason.{id}")
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// A break-glass filed (or the user's running one found).
struct Opened {
    /// Its id.
    id: u64,
    /// When its grant ends (milliseconds since the Unix epoch).
    expires_ms: u64,
    /// When it opens every category, unless vetoed.
    full_access_ms: Option<u64>,
    /// How long inclusion in a best block took.
    inclusion_ms: u64,
    /// When it was included.
    included: Instant,
}

/// A readable error for a refused emergency call (the chain's error names).
pub(crate) fn emergency_refusal(error: GatewayError) -> GatewayError {
    let GatewayError::Chain(reason) = &error else {
        return error;
    };
    let known = [
        (
            "EmergencyDisabled",
            "the patient has not enabled emergency access, so no one can break the glass on their records",
        ),
        (
            "NotAllowedResponder",
            "you hold none of the attested roles the patient's emergency policy allows (a revoked attestation counts as none)",
        ),
        (
            "NoCustodians",
            "no custodians are named on chain, so no emergency key could be released",
        ),
        (
            "UnknownPatient",
            "the patient is not a registered participant",
        ),
        (
            "NotAnEmergencyPurpose",
            "the purpose must be ETREAT (emergency treatment) or BTG (break the glass)",
        ),
        (
            "BadWindow",
            "the emergency window must be longer than zero and at most a day",
        ),
        (
            "NotReviewer",
            "only the patient or one of the guardians of their emergency policy reviews a break-glass",
        ),
        ("AlreadyReviewed", "this break-glass was reviewed already"),
        ("UnknownBreakGlass", "no break-glass has this id"),
        (
            "BadVetoWindow",
            "the veto window must be longer than zero and shorter than the emergency window",
        ),
        (
            "NothingToVeto",
            "this break-glass opens no full-record access: the policy had no veto window, or it was vetoed already",
        ),
        (
            "Ended",
            "this break-glass's emergency grant has ended already",
        ),
    ];
    known
        .iter()
        .find(|(name, _)| reason.contains(name))
        .map(|(_, message)| GatewayError::Emergency((*message).into()))
        .unwrap_or(error)
}

fn role_set(codes: &[String]) -> Result<RoleSet, GatewayError> {
    let codes: Vec<String> = if codes.is_empty() {
        vec!["responder".into()]
    } else {
        codes.to_vec()
    };
    codes.iter().try_fold(RoleSet(0), |set, code| {
        let role = RESPONDER_ROLES
            .iter()
            .find(|(name, _)| name == code)
            .map(|(_, role)| *role)
            .ok_or_else(|| GatewayError::BadRequest {
                what: format!("the role {code:?}"),
                expected: "responder or provider".into(),
            })?;
        Ok(RoleSet(set.0 | 1 << role as u8))
    })
}

fn role_codes(set: &RoleSet) -> Vec<String> {
    RESPONDER_ROLES
        .iter()
        .filter(|(_, role)| set.0 & (1 << *role as u8) != 0)
        .map(|(name, _)| (*name).to_string())
        .collect()
}

impl Gateway {
    fn emergency_generation_of(setting: Option<String>) -> u32 {
        setting.and_then(|text| text.parse().ok()).unwrap_or(0)
    }

    /// The custodians this gateway is configured with, by account (their
    /// identities asked once, then remembered).
    async fn custodian_endpoints(&self) -> Vec<(String, [u8; 32])> {
        let mut known = Vec::with_capacity(self.custodians.len());
        for url in &self.custodians {
            let cached = self.custodian_ids.lock().get(url).copied();
            let account = match cached {
                Some(account) => Some(account),
                None => match self.custodian_client.identity(url).await {
                    Ok((account, _)) => {
                        self.custodian_ids.lock().insert(url.clone(), account);
                        Some(account)
                    }
                    Err(error) => {
                        tracing::warn!(%error, "a custodian does not answer");
                        None
                    }
                },
            };
            if let Some(account) = account {
                known.push((url.clone(), account));
            }
        }
        known
    }

    /// The user's emergency policy, summary, custodians and break-glasses.
    pub async fn emergency_status(&self) -> Result<EmergencyStatus, GatewayError> {
        let identity = self.keyring.identity()?;
        let me = medigate_chain_client::account_id(&identity.signing_keypair());
        let policy = emergency_policy(&self.reads, &me).await?;
        let (custodians, threshold) = custodian_set(&self.reads).await?;
        let holders = self.holders().await?;
        let endpoints = self.custodian_endpoints().await;
        let summary = match self.index.setting(SUMMARY).await? {
            Some(content_id) => Some(SummaryState {
                content_id,
                prepared_ms: self
                    .index
                    .setting(PREPARED)
                    .await?
                    .and_then(|text| text.parse().ok())
                    .unwrap_or_default(),
                generation: Self::emergency_generation_of(self.index.setting(GENERATION).await?),
            }),
            None => None,
        };
        Ok(EmergencyStatus {
            enabled: policy.as_ref().is_some_and(|policy| policy.enabled),
            roles: policy
                .as_ref()
                .map(|policy| role_codes(&policy.responder_roles))
                .unwrap_or_default(),
            guardians: policy
                .as_ref()
                .map(|policy| {
                    policy
                        .guardians
                        .0
                        .iter()
                        .map(|guardian| hex::encode(guardian.0))
                        .collect()
                })
                .unwrap_or_default(),
            window_minutes: policy
                .as_ref()
                .map(|policy| policy.window / 60_000)
                .unwrap_or(60),
            full_access_after_seconds: policy
                .as_ref()
                .and_then(|policy| policy.full_access_after)
                .map(|ms| ms / 1000),
            summary,
            custodians: custodians
                .iter()
                .map(|custodian| {
                    let account = hex::encode(custodian.0);
                    CustodianHolding {
                        url: endpoints
                            .iter()
                            .find(|(_, known)| *known == custodian.0)
                            .map(|(url, _)| url.clone()),
                        holds_share: holders.contains(&account),
                        account,
                    }
                })
                .collect(),
            threshold,
            break_glasses: self.index.break_glasses().await?,
        })
    }

    /// Sets the user's emergency policy on chain; when it is enabled,
    /// prepares the summary and hands the key's shares to the custodians.
    pub async fn set_emergency_policy(
        &self,
        settings: &EmergencySettings,
    ) -> Result<EmergencyStatus, GatewayError> {
        let identity = self.keyring.identity()?;
        self.require_registered(&identity).await?;
        let roles = role_set(&settings.roles)?;
        let guardians = settings
            .guardians
            .iter()
            .map(|text| crate::consent::parse_account(text).map(AccountId32))
            .collect::<Result<Vec<_>, _>>()?;
        for guardian in &guardians {
            if !is_registered(&self.reads, guardian).await? {
                return Err(GatewayError::NotRegistered(hex::encode(guardian.0)));
            }
        }
        let (window, full_access_after) =
            policy_windows(settings.window_minutes, settings.full_access_after_seconds)?;
        let call = medigate::tx().emergency().set_policy(
            settings.enabled,
            roles,
            BoundedVec(guardians),
            window,
            full_access_after,
        );
        self.submit(&call, &identity.signing_keypair())
            .await
            .map_err(emergency_refusal)?;
        if settings.enabled {
            self.prepare_emergency(true).await?;
        }
        self.emergency_status().await
    }

    /// Brings the emergency summary up to date with the user's records
    /// (always when `force`) and makes sure every reachable custodian holds
    /// its share. Returns whether the summary was made again.
    ///
    /// Shares are dealt anew whenever the chain's custodian set changed. When
    /// a custodian that held a share of the current key has left the set,
    /// the key itself is replaced by a new generation first, so that the
    /// shares it and the others kept open nothing newer (a printed card
    /// of the old generation then needs printing again).
    pub async fn prepare_emergency(&self, force: bool) -> Result<bool, GatewayError> {
        let identity = self.keyring.identity()?;
        let _one_at_a_time = self.emergency_lock.lock().await;
        // What clinicians wrote for the user belongs in the summary too
        // (attributed to them), once proven against its anchor; a vault that
        // cannot list them now does not hold the summary back.
        let collected = {
            let _one_at_a_time = self.collect_lock.lock().await;
            self.collect_authored(&identity).await
        };
        if let Err(error) = collected {
            tracing::warn!(%error, "records written for the user could not be collected");
        }
        let mut generation = Self::emergency_generation_of(self.index.setting(GENERATION).await?);
        let mut force = force;
        if self.index.setting(SUMMARY).await?.is_some() && self.a_holder_left().await? {
            generation += 1;
            force = true;
            tracing::info!(
                generation,
                "a custodian holding a share left the set: the emergency key is replaced"
            );
        }
        let remade = self.refresh_summary(&identity, generation, force).await?;
        self.hand_over_shares(&identity, generation).await?;
        Ok(remade)
    }

    /// The custodians that took a share of the key of the current
    /// generation, in any of its dealings (hex accounts).
    async fn holders(&self) -> Result<Vec<String>, GatewayError> {
        let generation = Self::emergency_generation_of(self.index.setting(GENERATION).await?);
        let holders = self.index.setting(HOLDERS).await?.unwrap_or_default();
        let held: HeldShares = serde_json::from_str(&holders).unwrap_or_default();
        Ok(if held.generation == generation {
            held.holders
        } else {
            Vec::new()
        })
    }

    /// Whether a custodian that took a share of the current key is no
    /// longer among the chain's custodians.
    async fn a_holder_left(&self) -> Result<bool, GatewayError> {
        let holders = self.holders().await?;
        let (custodians, _) = custodian_set(&self.reads).await?;
        Ok(holders.iter().any(|holder| {
            !custodians
                .iter()
                .any(|custodian| hex::encode(custodian.0) == *holder)
        }))
    }

    /// Replaces the emergency key with a new generation (a lost card, a
    /// custodian that leaked): the summary is encrypted again under it and
    /// its shares handed out; the old card and old shares open nothing
    /// newer. Returns the new generation.
    pub async fn new_emergency_key(&self) -> Result<u32, GatewayError> {
        let identity = self.keyring.identity()?;
        let _one_at_a_time = self.emergency_lock.lock().await;
        if self.index.setting(SUMMARY).await?.is_none() {
            return Err(GatewayError::Emergency(
                "enable emergency access first: there is no emergency key yet".into(),
            ));
        }
        let generation = Self::emergency_generation_of(self.index.setting(GENERATION).await?) + 1;
        self.refresh_summary(&identity, generation, true).await?;
        self.hand_over_shares(&identity, generation).await?;
        Ok(generation)
    }

    async fn refresh_summary(
        &self,
        identity: &Identity,
        generation: u32,
        force: bool,
    ) -> Result<bool, GatewayError> {
        let signer = identity.signing_keypair();
        let me = signer.public_key().0;
        let records = self.own_visible(identity, None).await?;
        let mut ids: Vec<[u8; 32]> = records.iter().map(|record| record.content_id).collect();
        ids.sort_unstable();
        let mut hasher = blake3::Hasher::new();
        hasher.update(&generation.to_le_bytes());
        for id in &ids {
            hasher.update(id);
        }
        let fingerprint = hasher.finalize().to_hex().to_string();
        let current = self.index.setting(SUMMARY).await?;
        if !force
            && current.is_some()
            && self.index.setting(FINGERPRINT).await?.as_deref() == Some(fingerprint.as_str())
        {
            return Ok(false);
        }
        let authored = self.authors_of(&records).await?;
        let document = crate::fhir_api::summary(identity, "", &records, &authored).map_err(|error| match error {
            GatewayError::NotFound(_) => GatewayError::Emergency(
                "import your Patient record first: the emergency summary is made from your records, starting with it".into(),
            ),
            other => other,
        })?;
        let text = serde_json::to_vec(&document).expect("a summary serializes");
        // The new version replaces the current one on chain.
        let previous = match current.as_deref().map(crate::consent::parse_account) {
            Some(Ok(id)) => anchor(&self.reads, &AccountId32(me), H256(id))
                .await?
                .filter(|found| found.superseded_by.is_none())
                .map(|found| (id, found.version)),
            _ => None,
        };
        let binding = RecordBinding {
            record_id: summary_record_id(&me),
            version: previous.map_or(0, |(_, version)| version + 1),
            owner: me,
        };
        let key = identity.emergency_key(generation);
        let mut envelope = Vec::with_capacity(text.len() + 256);
        let encrypted = encrypt(&key, binding, text.as_slice(), &mut envelope)
            .map_err(|error| GatewayError::Undecryptable(error.to_string()))?;
        self.vault
            .put_blob(&signer, &encrypted.content_id, envelope)
            .await?;
        let anchor_call = medigate::tx().records().anchor_batch(
            AccountId32(me),
            BoundedVec(vec![AnchorRequest {
                content_id: H256(encrypted.content_id),
                category: crate::import::chain_category(Category::Summary.code()),
                size: encrypted.envelope_len,
                previous: previous.map(|(id, _)| H256(id)),
            }]),
        );
        self.submit(&anchor_call, &signer).await?;
        let point_call = medigate::tx()
            .emergency()
            .set_summary(H256(encrypted.content_id));
        self.submit(&point_call, &signer)
            .await
            .map_err(emergency_refusal)?;
        self.index
            .set_setting(SUMMARY, &hex::encode(encrypted.content_id))
            .await?;
        self.index.set_setting(FINGERPRINT, &fingerprint).await?;
        self.index
            .set_setting(PREPARED, &crate::now_ms().to_string())
            .await?;
        self.index
            .set_setting(GENERATION, &generation.to_string())
            .await?;
        tracing::info!(records = records.len(), "emergency summary prepared");
        Ok(true)
    }

    async fn hand_over_shares(
        &self,
        identity: &Identity,
        generation: u32,
    ) -> Result<usize, GatewayError> {
        let (custodians, threshold) = custodian_set(&self.reads).await?;
        if threshold == 0 || custodians.is_empty() {
            return Err(GatewayError::Emergency(
                "no custodians are named on chain yet, so the emergency key cannot be split; the consortium names them".into(),
            ));
        }
        if threshold < 2 {
            return Err(GatewayError::Emergency(format!(
                "the chain asks for {threshold} custodian share: a key is split only among at least 2, so that no custodian alone holds it"
            )));
        }
        let signer = identity.signing_keypair();
        let me = signer.public_key().0;
        let key = identity.emergency_key(generation);
        let accounts: Vec<[u8; 32]> = custodians.iter().map(|custodian| custodian.0).collect();
        let dealing = dealing_id(generation, threshold, &accounts);
        let shares =
            split_key_for_dealing(key.as_bytes(), threshold, custodians.len() as u8, &dealing)
                .map_err(|error| GatewayError::Emergency(error.to_string()))?;
        let endpoints = self.custodian_endpoints().await;
        let mut holders = Vec::new();
        let mut failures = Vec::new();
        for (custodian, share) in custodians.iter().zip(&shares) {
            let account = hex::encode(custodian.0);
            let Some((url, _)) = endpoints.iter().find(|(_, known)| *known == custodian.0) else {
                failures.push(format!("{account}: no address configured"));
                continue;
            };
            let Some(chain_key) = encryption_key(&self.reads, custodian).await? else {
                failures.push(format!("{account}: not registered"));
                continue;
            };
            let sealed = seal_share(
                share,
                &EncryptionPublicKey(chain_key),
                &ShareBinding {
                    patient: me,
                    holder: custodian.0,
                    context: u64::from(generation),
                },
            )
            .map_err(|error| GatewayError::Emergency(error.to_string()))?;
            let endorsement =
                ShareStatement::for_share(me, custodian.0, generation, dealing, threshold, share)
                    .endorse(&signer);
            let dealt = DealtShare {
                generation,
                dealing: &dealing,
                threshold,
                endorsement: &endorsement,
                sealed: &sealed,
            };
            match self
                .custodian_client
                .hand_over(url, &custodian.0, &signer, &me, &dealt)
                .await
            {
                Ok(Ok(())) => holders.push(account),
                Ok(Err(refusal)) => failures.push(format!("{url}: {}", refusal.message)),
                Err(error) => failures.push(error.to_string()),
            }
        }
        // Everyone that ever took a share of this generation's key holds
        // one, whatever dealing it was of: each of them leaving replaces the
        // key.
        let mut held = self.holders().await?;
        for holder in &holders {
            if !held.contains(holder) {
                held.push(holder.clone());
            }
        }
        self.index
            .set_setting(
                HOLDERS,
                &serde_json::to_string(&HeldShares {
                    generation,
                    holders: held,
                })
                .expect("accounts serialize"),
            )
            .await?;
        if holders.len() < usize::from(threshold) {
            return Err(GatewayError::Emergency(format!(
                "only {} of the chain's {} custodians took a share of your emergency key, fewer than the {threshold} needed to rebuild it ({})",
                holders.len(),
                custodians.len(),
                failures.join("; ")
            )));
        }
        if !failures.is_empty() {
            tracing::warn!(failures = %failures.join("; "), "some custodians hold no share");
        }
        Ok(holders.len())
    }

    /// The user's offline emergency card (the key of the current
    /// generation, the vault holding the summary).
    pub async fn emergency_card(&self) -> Result<EmergencyCard, GatewayError> {
        let identity = self.keyring.identity()?;
        if self.index.setting(SUMMARY).await?.is_none() {
            return Err(GatewayError::Emergency(
                "enable emergency access first: the card opens your emergency summary".into(),
            ));
        }
        let generation = Self::emergency_generation_of(self.index.setting(GENERATION).await?);
        Ok(EmergencyCard {
            patient: identity.signing_keypair().public_key().0,
            key: zeroize::Zeroizing::new(*identity.emergency_key(generation).as_bytes()),
            vault: self.vault.base().to_string(),
        })
    }

    /// Reviews break-glass `id` as the patient or a guardian: `justified`
    /// or `flagged`.
    pub async fn review_break_glass(&self, id: u64, verdict: &str) -> Result<(), GatewayError> {
        let identity = self.keyring.identity()?;
        let review = match verdict {
            "justified" => Review::Justified,
            "flagged" => Review::Flagged,
            other => {
                return Err(GatewayError::BadRequest {
                    what: format!("the review {other:?}"),
                    expected: "justified or flagged".into(),
                });
            }
        };
        let call = medigate::tx().emergency().review(id, review);
        self.submit(&call, &identity.signing_keypair())
            .await
            .map_err(emergency_refusal)?;
        let me = hex::encode(identity.signing_keypair().public_key().0);
        self.index
            .review_break_glass(id as i64, verdict, &me)
            .await?;
        Ok(())
    }

    /// Tells of a break-glass on the records of the user or of a patient
    /// they are a guardian of: in the log, and to the configured webhook.
    pub fn notify_break_glass(&self, entry: EmergencyEntry) {
        tracing::warn!(
            id = entry.id,
            patient = %entry.patient,
            responder = %entry.responder,
            purpose = %entry.purpose,
            "emergency access: a responder broke the glass"
        );
        let Some(url) = self.webhook.clone() else {
            return;
        };
        let http = self.webhook_client.clone();
        tokio::spawn(async move {
            let mut body = serde_json::json!({
                "event": "break_glass",
                "break_glass": entry.id,
                "patient": entry.patient,
                "responder": entry.responder,
                "purpose": entry.purpose,
                "expires_at": crate::utc_instant(entry.expires_ms),
                "block": entry.block,
            });
            if let Some(opens_ms) = entry.full_access_ms {
                body["full_access_at"] = crate::utc_instant(opens_ms).into();
            }
            for attempt in 0..5u32 {
                match http.post(&url).json(&body).send().await {
                    Ok(response) if response.status().is_success() => return,
                    Ok(response) => {
                        tracing::warn!(status = %response.status(), "the webhook refused a notice")
                    }
                    Err(error) => tracing::warn!(%error, "the webhook cannot be reached"),
                }
                tokio::time::sleep(std::time::Duration::from_millis(500 << attempt)).await;
            }
            tracing::error!(id = entry.id, "a break-glass notice was not delivered");
        });
    }

    /// Breaks the glass on `patient`'s records for `purpose` (`ETREAT` or
    /// `BTG`) with `reason` (only its salted hash goes on chain), rebuilds
    /// the emergency key from the custodians' shares, and reads and
    /// decrypts the patient's emergency summary.
    pub async fn break_glass(
        &self,
        patient: [u8; 32],
        purpose: &str,
        reason: &str,
    ) -> Result<EmergencyRead, GatewayError> {
        let identity = self.keyring.identity()?;
        let opened = self
            .open_break_glass(&identity, patient, purpose, reason)
            .await?;
        let key_started = Instant::now();
        let (key, shares_used, refusals) = self.gather_key(&identity, patient, opened.id).await?;
        let key_ms = millis(key_started);
        let summary_started = Instant::now();
        let summary = self
            .read_summary(&identity, patient, &key, &self.vault, purpose)
            .await?;
        Ok(EmergencyRead {
            patient: hex::encode(patient),
            break_glass: opened.id,
            purpose: purpose.to_string(),
            expires_ms: opened.expires_ms,
            full_access_ms: opened.full_access_ms,
            key_from: "custodians",
            shares_used,
            refusals,
            summary,
            timings: ReadTimings {
                inclusion_ms: opened.inclusion_ms,
                key_ms,
                summary_ms: millis(summary_started),
                after_inclusion_ms: millis(opened.included),
            },
        })
    }

    /// Like [`Gateway::break_glass`], with the key from the patient's
    /// emergency card instead of the custodians.
    pub async fn break_glass_with_card(
        &self,
        card: &str,
        purpose: &str,
        reason: &str,
    ) -> Result<EmergencyRead, GatewayError> {
        let card = EmergencyCard::parse(card)?;
        let identity = self.keyring.identity()?;
        // The card's vault must be one the chain attests, before anything is
        // filed or asked of it.
        let vault = VaultClient::new(&card.vault);
        self.require_attested_vault(&vault).await?;
        let opened = self
            .open_break_glass(&identity, card.patient, purpose, reason)
            .await?;
        let summary_started = Instant::now();
        let key = RecordKey::from_bytes(*card.key);
        let summary = self
            .read_summary(&identity, card.patient, &key, &vault, purpose)
            .await?;
        Ok(EmergencyRead {
            patient: hex::encode(card.patient),
            break_glass: opened.id,
            purpose: purpose.to_string(),
            expires_ms: opened.expires_ms,
            full_access_ms: opened.full_access_ms,
            key_from: "card",
            shares_used: 0,
            refusals: Vec::new(),
            summary,
            timings: ReadTimings {
                inclusion_ms: opened.inclusion_ms,
                key_ms: 0,
                summary_ms: millis(summary_started),
                after_inclusion_ms: millis(opened.included),
            },
        })
    }

    /// Checks that `vault` is a vault the chain attests: the account its
    /// `/health` names (which every signed request to it then names as its
    /// audience) holds the organization attestation vaults hold. A card
    /// naming any other address is refused.
    async fn require_attested_vault(&self, vault: &VaultClient) -> Result<(), GatewayError> {
        let account = vault.account().await.map_err(|error| {
            GatewayError::Emergency(format!(
                "the emergency card's vault at {} does not answer as a MediGate vault: {error}",
                vault.base()
            ))
        })?;
        let attested = holds_role(
            &self.reads,
            &AccountId32(account),
            medigate_chain_client::chain_role(medigate_access_policy::RECEIPT_ROLE),
        )
        .await?;
        if attested {
            Ok(())
        } else {
            Err(GatewayError::Emergency(format!(
                "the emergency card names a vault ({}, account {}) that the chain does not attest: the card is forged or out of date",
                vault.base(),
                hex::encode(account)
            )))
        }
    }

    /// Files the break-glass (or finds the user's running one on the same
    /// patient).
    async fn open_break_glass(
        &self,
        identity: &Identity,
        patient: [u8; 32],
        purpose: &str,
        reason: &str,
    ) -> Result<Opened, GatewayError> {
        let purpose = match chain::purpose_from_code(purpose)? {
            purpose @ (Purpose::EmergencyTreatment | Purpose::BreakTheGlass) => purpose,
            _ => {
                return Err(GatewayError::BadRequest {
                    what: "the purpose".into(),
                    expected: "ETREAT (emergency treatment) or BTG (break the glass)".into(),
                });
            }
        };
        let reason = reason.trim();
        if reason.chars().count() < 3 {
            return Err(GatewayError::BadRequest {
                what: "the reason".into(),
                expected:
                    "a few words on why the glass is broken (kept by you; its hash goes on chain)"
                        .into(),
            });
        }
        if !is_registered(&self.reads, &AccountId32(patient)).await? {
            return Err(GatewayError::NotRegistered(hex::encode(patient)));
        }
        let signer = identity.signing_keypair();
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let reason_hash = *blake3::Hasher::new_derive_key("medigate/v1/break-glass-reason")
            .update(&salt)
            .update(reason.as_bytes())
            .finalize()
            .as_bytes();
        let call = medigate::tx().emergency().break_glass(
            AccountId32(patient),
            purpose,
            H256(reason_hash),
        );
        let started = Instant::now();
        let included = {
            let _one_at_a_time = self.signing.lock().await;
            submit_in_best_block(&self.chain, self.checker.rpc(), &call, &signer).await
        };
        let inclusion_ms = millis(started);
        let included_at = Instant::now();
        let (id, expires_ms, full_access_ms) = match included {
            Ok(events) => {
                let broken = events
                    .find_first::<medigate::emergency::events::GlassBroken>()
                    .and_then(Result::ok)
                    .ok_or_else(|| {
                        GatewayError::Chain("the break-glass left no GlassBroken event".into())
                    })?;
                (broken.id, broken.expires_at, broken.full_access_from)
            }
            Err(error) if error.to_string().contains("AlreadyOpen") => {
                // The responder's own running break-glass on this patient
                // (read once it is final).
                let mut running = None;
                for _ in 0..20 {
                    running = latest_break_glass(
                        &self.reads,
                        &AccountId32(patient),
                        &AccountId32(signer.public_key().0),
                    )
                    .await?;
                    if running.is_some() {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
                let running = running.ok_or_else(|| {
                    GatewayError::Emergency(
                        "you hold a running break-glass on this patient, but it cannot be read yet; try again in a few seconds".into(),
                    )
                })?;
                (running.id, running.expires_at, running.full_from)
            }
            Err(error) => return Err(emergency_refusal(error.into())),
        };
        // The reason stays with the responder, with the salt that proves it,
        // sealed under the responder's note key: the index holds no reason
        // in clear.
        let name = reason_note_name(id);
        let note = serde_json::json!({"salt": hex::encode(salt), "reason": reason}).to_string();
        let sealed = medigate_crypto::note::seal(&identity.note_key(), &name, note.as_bytes());
        self.index.set_setting(&name, &hex::encode(sealed)).await?;
        Ok(Opened {
            id,
            expires_ms,
            full_access_ms,
            inclusion_ms,
            included: included_at,
        })
    }

    /// Asks every configured custodian at once for its share under
    /// break-glass `id`, and rebuilds the key from the first threshold that
    /// open.
    async fn gather_key(
        &self,
        identity: &Identity,
        patient: [u8; 32],
        id: u64,
    ) -> Result<(RecordKey, usize, Vec<String>), GatewayError> {
        let (custodians, threshold) = custodian_set(&self.reads).await?;
        let signer = identity.signing_keypair();
        let me = signer.public_key().0;
        let secret = identity.encryption_secret();
        let endpoints: Vec<(String, [u8; 32])> = self
            .custodian_endpoints()
            .await
            .into_iter()
            .filter(|(_, account)| custodians.iter().any(|custodian| custodian.0 == *account))
            .collect();
        let mut asked: FuturesUnordered<_> = endpoints
            .iter()
            .map(|(url, account)| {
                let signer = &signer;
                async move {
                    (
                        url.clone(),
                        *account,
                        self.custodian_client
                            .release(url, signer, account, id)
                            .await,
                    )
                }
            })
            .collect();
        let binding = ShareBinding {
            patient,
            holder: me,
            context: id,
        };
        // Each share is checked against the patient's endorsement; one that
        // fails (a faulty or lying custodian) is left out and the others
        // still rebuild the key.
        let mut collector = ShareCollector::new(patient);
        let mut key = None;
        let mut refusals = Vec::new();
        while let Some((url, custodian, answer)) = asked.next().await {
            match answer {
                Ok(Ok(released)) => {
                    match Self::offer_share(&mut collector, &released, custodian, &secret, &binding)
                    {
                        Ok(rebuilt) => key = rebuilt,
                        Err(reason) => refusals.push(format!("{url}: {reason}")),
                    }
                }
                Ok(Err(refusal)) => refusals.push(format!("{url}: {}", refusal.message)),
                Err(error) => refusals.push(error.to_string()),
            }
            if key.is_some() {
                break;
            }
        }
        let used = collector.best();
        match key {
            Some(key) if threshold > 0 => Ok((RecordKey::from_bytes(*key), used, refusals)),
            _ => Err(GatewayError::Emergency(format!(
                "only {used} of the {threshold} key shares needed came back endorsed by the patient, so the emergency key cannot be rebuilt ({}); use the patient's emergency card if there is one",
                refusals.join("; ")
            ))),
        }
    }

    /// Opens a custodian's released share and offers it to `collector`;
    /// the key once enough endorsed shares of one dealing are in, or why
    /// this share was left out.
    fn offer_share(
        collector: &mut ShareCollector,
        released: &medigate_custodian::service::ReleasedShare,
        custodian: [u8; 32],
        secret: &medigate_crypto::keys::EncryptionSecret,
        binding: &ShareBinding,
    ) -> Result<Option<zeroize::Zeroizing<[u8; 32]>>, String> {
        let sealed = hex::decode(&released.sealed).map_err(|_| "a share that is not hex")?;
        let share =
            open_share(&sealed, secret, binding).map_err(|_| "a share that does not open")?;
        let dealing: [u8; 32] = hex::decode(&released.dealing)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("a share without its dealing")?;
        let endorsement: [u8; 64] = hex::decode(&released.endorsement)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("a share without the patient's endorsement")?;
        collector
            .offer(
                medigate_crypto::shares::ReleasedShare {
                    custodian,
                    generation: released.generation,
                    dealing,
                    threshold: released.threshold,
                    share,
                },
                &endorsement,
            )
            .map_err(|error| error.to_string())
    }

    /// Reads `patient`'s emergency summary from `vault` for `purpose` and
    /// decrypts it with `key`.
    async fn read_summary(
        &self,
        identity: &Identity,
        patient: [u8; 32],
        key: &RecordKey,
        vault: &VaultClient,
        purpose: &str,
    ) -> Result<Value, GatewayError> {
        let content_id = emergency_summary(&self.reads, &AccountId32(patient))
            .await?
            .ok_or_else(|| {
                GatewayError::Emergency("the patient has no emergency summary yet".into())
            })?;
        let found = anchor(&self.reads, &AccountId32(patient), content_id)
            .await?
            .ok_or_else(|| {
                GatewayError::Emergency(
                    "the patient's emergency summary is not anchored to them".into(),
                )
            })?;
        let fetched = match vault
            .get_blob(
                &identity.signing_keypair(),
                &content_id.0,
                &patient,
                purpose,
            )
            .await?
        {
            ReadOutcome::Served(fetched) => fetched,
            ReadOutcome::Denied { message, .. } => return Err(GatewayError::Denied(message)),
        };
        let anchored = Anchored {
            content_id: content_id.0,
            owner: patient,
            version: found.version,
            record_id: Some(summary_record_id(&patient)),
        };
        let mut text = Vec::with_capacity(fetched.envelope.len());
        decrypt(key, &anchored, fetched.envelope.as_slice(), &mut text).map_err(|error| match error {
            CryptoError::NotAnchored | CryptoError::OtherRecord => GatewayError::Unproven {
                record: hex::encode(content_id.0),
                reason: error,
            },
            _ => GatewayError::Emergency(
                "the emergency key does not open the summary (a stale card, or a custodian gave a wrong share)".into(),
            ),
        })?;
        serde_json::from_slice(&text)
            .map_err(|_| GatewayError::Undecryptable(hex::encode(content_id.0)))
    }

    /// Keeps the emergency summary current: after imports, if emergency
    /// access is enabled, makes it again when the records changed. It waits
    /// until no import runs and none has ended for [`SUMMARY_QUIET`], so
    /// that imports which follow one another (a directory of Bundles) are
    /// summarised once, and an import does not share the cores with the
    /// summary of the one before.
    pub async fn keep_emergency_current(self: Arc<Self>) {
        loop {
            self.emergency_refresh.notified().await;
            loop {
                drop(self.import_lock.lock().await);
                let ended =
                    tokio::time::timeout(SUMMARY_QUIET, self.emergency_refresh.notified()).await;
                if ended.is_err() && self.import_lock.try_lock().is_ok() {
                    break;
                }
            }
            let Ok(identity) = self.keyring.identity() else {
                continue;
            };
            let me = medigate_chain_client::account_id(&identity.signing_keypair());
            let enabled = matches!(
                emergency_policy(&self.reads, &me).await,
                Ok(Some(policy)) if policy.enabled
            );
            if enabled && let Err(error) = self.prepare_emergency(false).await {
                tracing::warn!(%error, "the emergency summary could not be brought up to date");
            }
        }
    }
}

/// The emergency window and the veto window before full-record access, in
/// milliseconds as the chain takes them, from a policy's minutes and
/// seconds: a window of 1 minute to a day (an hour when not given), a veto
/// window of at least a second and shorter than the emergency window. Any
/// other number, however large, is refused with what is expected.
fn policy_windows(
    window_minutes: Option<u64>,
    full_access_after_seconds: Option<u64>,
) -> Result<(Option<u64>, Option<u64>), GatewayError> {
    const DAY_MINUTES: u64 = 24 * 60;
    let window = match window_minutes {
        Some(minutes @ 1..=DAY_MINUTES) => Some(minutes * 60_000),
        Some(minutes) => {
            return Err(GatewayError::BadRequest {
                what: format!("the emergency window of {minutes} minutes"),
                expected: "between 1 minute and 1440 minutes (a day)".into(),
            });
        }
        None => None,
    };
    let window_ms = window.unwrap_or(60 * 60_000);
    let full_access_after = match full_access_after_seconds {
        None => None,
        Some(seconds) => match seconds.checked_mul(1000) {
            Some(ms) if seconds > 0 && ms < window_ms => Some(ms),
            _ => {
                return Err(GatewayError::BadRequest {
                    what: format!("the veto window of {seconds} seconds"),
                    expected: format!(
                        "between 1 second and less than the emergency window ({} seconds)",
                        window_ms / 1000
                    ),
                });
            }
        },
    };
    Ok((window, full_access_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_windows_take_sane_numbers_and_refuse_any_other() {
        assert_eq!(policy_windows(None, None).unwrap(), (None, None));
        assert_eq!(
            policy_windows(Some(30), Some(600)).unwrap(),
            (Some(1_800_000), Some(600_000))
        );
        assert_eq!(
            policy_windows(None, Some(3_599)).unwrap(),
            (None, Some(3_599_000)),
            "the default window is an hour"
        );
        for (window, veto) in [
            (Some(0), None),
            (Some(1_441), None),
            (Some(u64::MAX), None),
            (None, Some(0)),
            (None, Some(3_600)),
            (Some(30), Some(1_800)),
            // Numbers whose milliseconds do not fit in 64 bits.
            (None, Some(u64::MAX)),
            (None, Some(u64::MAX / 1000 + 1)),
            (Some(u64::MAX / 60_000 + 1), Some(1)),
        ] {
            assert!(
                matches!(
                    policy_windows(window, veto),
                    Err(GatewayError::BadRequest { .. })
                ),
                "{window:?} minutes, {veto:?} seconds"
            );
        }
    }

    #[test]
    fn roles_round_trip_and_default_to_responders() {
        let both = role_set(&["responder".into(), "provider".into()]).unwrap();
        assert_eq!(role_codes(&both), ["responder", "provider"]);
        assert_eq!(role_codes(&role_set(&[]).unwrap()), ["responder"]);
        assert!(matches!(
            role_set(&["insurer".into()]),
            Err(GatewayError::BadRequest { .. })
        ));
    }

    #[test]
    fn chain_refusals_are_told_in_words() {
        let told = emergency_refusal(GatewayError::Chain(
            "the transaction did not succeed: Emergency::NotAllowedResponder".into(),
        ));
        assert!(told.to_string().contains("none of the attested roles"));
        let other = emergency_refusal(GatewayError::Chain("the node is away".into()));
        assert!(matches!(other, GatewayError::Chain(_)));
    }

    #[test]
    fn summary_record_ids_differ_per_patient() {
        assert_ne!(summary_record_id(&[1; 32]), summary_record_id(&[2; 32]));
        assert_eq!(summary_record_id(&[1; 32]), summary_record_id(&[1; 32]));
    }
}
