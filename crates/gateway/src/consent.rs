//! Consent from the gateway: asking a patient for access, answering
//! requests, revoking grants, and what the index says about them (the
//! user's requests, grants and audit trail).

use medigate_access_policy::Category;
use medigate_chain_client::{
    medigate,
    medigate::runtime_types::{
        bounded_collections::bounded_vec::BoundedVec,
        medigate_access_policy::terms::{ActionSet, CategorySet, Scope},
    },
    pending_request,
    subxt::utils::{AccountId32, H256},
};
use rand_core::{OsRng, RngCore};
use serde::Serialize;

use crate::{Gateway, chain, chain::Forgery, error::GatewayError, index::IndexedEvent};

/// A request as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestView {
    /// The request's id.
    pub request: i64,
    /// The patient asked.
    pub patient: String,
    /// Who asks.
    pub requester: String,
    /// For what purpose.
    pub purpose: String,
    /// `pending`, `approved` (with its grant) or `denied`.
    pub status: String,
    /// The grant an approval made.
    pub grant: Option<i64>,
    /// The categories asked for (`all` for every record), while pending.
    pub categories: Vec<String>,
    /// Whether it also asks to add records, while pending.
    pub writes: bool,
}

/// A grant as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GrantView {
    /// The grant's id.
    pub grant: i64,
    /// The patient.
    pub patient: String,
    /// The grantee.
    pub grantee: String,
    /// For what purpose.
    pub purpose: String,
    /// When it ends (milliseconds since the Unix epoch).
    pub expires_ms: i64,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

/// The user's requests and grants, as given and as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessView {
    /// Requests the user made or was asked.
    pub requests: Vec<RequestView>,
    /// Grants the user gave or holds.
    pub grants: Vec<GrantView>,
}

/// The chain's scope for `categories` (every record when empty).
fn scope_of(categories: &[Category]) -> Scope<BoundedVec<H256>> {
    if categories.is_empty() {
        Scope::All
    } else {
        let bits = categories
            .iter()
            .fold(0u16, |bits, category| bits | 1 << *category as u16);
        Scope::Categories(CategorySet(bits))
    }
}

fn category_codes(scope: &Scope<BoundedVec<H256>>) -> Vec<String> {
    match scope {
        Scope::All => vec!["all".into()],
        Scope::Categories(set) => Category::ALL
            .iter()
            .filter(|category| set.0 & (1 << **category as u16) != 0)
            .map(|category| category.code().to_string())
            .collect(),
        Scope::Records(ids) => ids
            .0
            .iter()
            .map(|id| format!("record {}", hex::encode(id.0)))
            .collect(),
    }
}

/// Parses a list of category codes.
pub fn parse_categories(codes: &[String]) -> Result<Vec<Category>, GatewayError> {
    codes
        .iter()
        .filter(|code| code.as_str() != "all")
        .map(|code| {
            Category::from_code(code).ok_or_else(|| GatewayError::BadRequest {
                what: format!("the category {code:?}"),
                expected: format!(
                    "one of {}",
                    Category::ALL.map(|category| category.code()).join(", ")
                ),
            })
        })
        .collect()
}

/// Parses a 64-hex-digit account id (`0x` optional, spaces around it
/// ignored): the one textual form of an account the API, the web app and
/// the QR codes use.
pub fn parse_account(text: &str) -> Result<[u8; 32], GatewayError> {
    hex::decode(text.trim().trim_start_matches("0x"))
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| GatewayError::BadRequest {
            what: format!("the account {text:?}"),
            expected: "an account id of 64 hex digits".into(),
        })
}

impl Gateway {
    /// Asks `patient` for read access (and, with `write`, leave to add
    /// records) to `categories` (all records when empty) for `purpose`, with
    /// a justification whose salted hash goes on chain; returns the
    /// request's id.
    pub async fn request_access(
        &self,
        patient: [u8; 32],
        categories: &[Category],
        purpose: &str,
        justification: &str,
        write: bool,
    ) -> Result<u64, GatewayError> {
        let identity = self.keyring.identity()?;
        self.require_registered(&identity).await?;
        if !medigate_chain_client::is_registered(&self.reads, &AccountId32(patient)).await? {
            return Err(GatewayError::NotRegistered(hex::encode(patient)));
        }
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let mut hasher = blake3::Hasher::new_derive_key("medigate/v1/justification");
        hasher.update(&salt);
        hasher.update(justification.as_bytes());
        let call = medigate::tx().consent().request_access(
            AccountId32(patient),
            scope_of(categories),
            chain::purpose_from_code(purpose)?,
            ActionSet(
                1 << medigate_access_policy::Action::Read as u8
                    | u8::from(write) << medigate_access_policy::Action::Write as u8,
            ),
            H256(*hasher.finalize().as_bytes()),
        );
        let events = self.submit(&call, &identity.signing_keypair()).await?;
        let requested = events
            .find_first::<medigate::consent::events::AccessRequested>()
            .and_then(Result::ok)
            .ok_or_else(|| {
                GatewayError::Chain("the request left no AccessRequested event".into())
            })?;
        Ok(requested.request)
    }

    /// Approves request `request` for the user's records, narrowed to
    /// `categories` when given, valid for `valid_for_ms`; wraps the covered
    /// record keys for the requester. Returns the grant id and how many
    /// records were shared.
    pub async fn approve_request(
        &self,
        request: u64,
        categories: &[Category],
        valid_for_ms: u64,
    ) -> Result<(u64, u64), GatewayError> {
        let identity = self.keyring.identity()?;
        let _one_sharing = self.sharing_lock.lock().await;
        let Some(pending) = pending_request(&self.reads, request).await? else {
            return Err(GatewayError::NotFound(format!(
                "pending access request {request}"
            )));
        };
        let me = medigate_chain_client::account_id(&identity.signing_keypair());
        let now = medigate_chain_client::chain_time(&self.reads).await?;
        let narrowed = (!categories.is_empty()).then(|| scope_of(categories));
        let call = medigate::tx()
            .consent()
            .approve_request(request, narrowed, now + valid_for_ms);
        let events = self.submit(&call, &identity.signing_keypair()).await?;
        let approved = events
            .find_first::<medigate::consent::events::RequestApproved>()
            .and_then(Result::ok)
            .ok_or_else(|| {
                GatewayError::Chain("the approval left no RequestApproved event".into())
            })?;
        // A delegate's approval is shared by the patient's own gateway when
        // it sees the grant: only the patient holds the record keys.
        let shared = if pending.patient == me {
            self.share_under_grant(&identity, approved.grant).await?
        } else {
            0
        };
        Ok((approved.grant, shared))
    }

    /// Shares the user's records under `grant`, made by the user's delegate
    /// or guardian (or by the user, when nothing was shared under it yet).
    pub async fn share_new_grant(&self, grant: u64) -> Result<u64, GatewayError> {
        let identity = self.keyring.identity()?;
        let _one_sharing = self.sharing_lock.lock().await;
        if !self.index.shared_under(grant).await?.is_empty() {
            return Ok(0);
        }
        let shared = self.share_under_grant(&identity, grant).await?;
        if shared > 0 {
            tracing::info!(grant, shared, "shared under a grant a delegate made");
        }
        Ok(shared)
    }

    /// Makes `delegate` a manager of the user's consent: they may approve,
    /// deny and revoke for the user (the user's gateway still shares).
    pub async fn add_delegate(&self, delegate: [u8; 32]) -> Result<(), GatewayError> {
        let identity = self.keyring.identity()?;
        self.require_registered(&identity).await?;
        if !medigate_chain_client::is_registered(&self.reads, &AccountId32(delegate)).await? {
            return Err(GatewayError::NotRegistered(hex::encode(delegate)));
        }
        let call = medigate::tx().consent().add_delegate(AccountId32(delegate));
        self.submit(&call, &identity.signing_keypair()).await?;
        Ok(())
    }

    /// Dismisses `delegate` of the user's consent.
    pub async fn remove_delegate(&self, delegate: [u8; 32]) -> Result<(), GatewayError> {
        let identity = self.keyring.identity()?;
        let me = medigate_chain_client::account_id(&identity.signing_keypair());
        let call = medigate::tx()
            .consent()
            .remove_delegate(me, AccountId32(delegate));
        self.submit(&call, &identity.signing_keypair()).await?;
        Ok(())
    }

    /// Denies request `request`.
    pub async fn deny_request(&self, request: u64) -> Result<(), GatewayError> {
        let identity = self.keyring.identity()?;
        if pending_request(&self.reads, request).await?.is_none() {
            return Err(GatewayError::NotFound(format!(
                "pending access request {request}"
            )));
        }
        let call = medigate::tx().consent().deny_request(request);
        self.submit(&call, &identity.signing_keypair()).await?;
        Ok(())
    }

    /// Withdraws the user's own request `request`, which waits for an
    /// answer: a requester has only so many waiting at once.
    pub async fn withdraw_request(&self, request: u64) -> Result<(), GatewayError> {
        let identity = self.keyring.identity()?;
        let me = medigate_chain_client::account_id(&identity.signing_keypair());
        match pending_request(&self.reads, request).await? {
            Some(pending) if pending.requester == me => {}
            _ => {
                return Err(GatewayError::NotFound(format!(
                    "pending access request {request} of yours"
                )));
            }
        }
        let call = medigate::tx().consent().withdraw_request(request);
        self.submit(&call, &identity.signing_keypair()).await?;
        Ok(())
    }

    /// Revokes grant `grant`: from the next block on, vaults refuse its
    /// reads. What the grantee already read cannot be recalled.
    pub async fn revoke_grant(&self, grant: u64) -> Result<(), GatewayError> {
        let identity = self.keyring.identity()?;
        match medigate_chain_client::grant(&self.reads, grant).await? {
            None => return Err(GatewayError::NotFound(format!("grant {grant}"))),
            Some(terms) if terms.revoked => {
                return Err(GatewayError::BadRequest {
                    what: format!("grant {grant}"),
                    expected: "a grant that is not revoked already".into(),
                });
            }
            Some(_) => {}
        }
        let call = medigate::tx().consent().revoke_grant(grant);
        self.submit(&call, &identity.signing_keypair()).await?;
        Ok(())
    }

    /// The user's requests and grants, from the index (pending requests'
    /// categories from the chain).
    pub async fn access_view(&self) -> Result<AccessView, GatewayError> {
        let events = self
            .index
            .events(&[
                "requested",
                "approved",
                "denied",
                "withdrawn",
                "granted",
                "revoked",
            ])
            .await?;
        let now = medigate_chain_client::chain_time(&self.reads).await? as i64;
        let mut requests = Vec::new();
        for event in events.iter().filter(|event| event.kind == "requested") {
            let request = event.request_id.unwrap_or_default();
            let answer = events.iter().find(|later| {
                later.request_id == Some(request)
                    && matches!(later.kind.as_str(), "approved" | "denied" | "withdrawn")
            });
            let (status, grant) = match answer {
                Some(answer) if answer.kind == "approved" => ("approved", answer.grant_id),
                Some(answer) if answer.kind == "withdrawn" => ("withdrawn", None),
                Some(_) => ("denied", None),
                None => ("pending", None),
            };
            let (categories, writes) = if status == "pending" {
                pending_request(&self.reads, request as u64)
                    .await?
                    .map(|pending| {
                        let writes = pending.actions.0
                            & 1 << medigate_access_policy::Action::Write as u8
                            != 0;
                        (category_codes(&pending.scope), writes)
                    })
                    .unwrap_or_default()
            } else {
                (Vec::new(), false)
            };
            requests.push(RequestView {
                request,
                patient: event.patient.clone().unwrap_or_default(),
                requester: event.counterparty.clone().unwrap_or_default(),
                purpose: event.purpose.clone().unwrap_or_default(),
                status: status.into(),
                grant,
                categories,
                writes,
            });
        }
        let grants = events
            .iter()
            .filter(|event| event.kind == "granted")
            .map(|event| {
                let grant = event.grant_id.unwrap_or_default();
                let revoked = events
                    .iter()
                    .any(|later| later.kind == "revoked" && later.grant_id == Some(grant));
                let expires_ms = event.expires_ms.unwrap_or_default();
                let status = if revoked {
                    "revoked"
                } else if expires_ms <= now {
                    "expired"
                } else {
                    "active"
                };
                GrantView {
                    grant,
                    patient: event.patient.clone().unwrap_or_default(),
                    grantee: event.counterparty.clone().unwrap_or_default(),
                    purpose: event.purpose.clone().unwrap_or_default(),
                    expires_ms,
                    status: status.into(),
                }
            })
            .collect();
        Ok(AccessView { requests, grants })
    }

    /// The audit trail: every receipted access to the user's records, and
    /// every access the user made, in chain order. A receipt whose accessor
    /// did not sign the read it records is there too, as kind `forged`.
    pub async fn audit_trail(&self) -> Result<Vec<IndexedEvent>, GatewayError> {
        self.index.events(&["read", "forged"]).await
    }

    /// Proves `forgery`, a receipt in the user's trail that its accessor did
    /// not sign, forged on chain (which ends the attestation of the vault
    /// that committed it), unless it is proven already or the vault has
    /// lost its attestation anyway.
    pub async fn prove_forged_receipt(&self, forgery: Forgery) -> Result<(), GatewayError> {
        let vault_attested = medigate_chain_client::holds_role(
            &self.chain,
            &forgery.receipt.vault,
            medigate_chain_client::chain_role(medigate_access_policy::RECEIPT_ROLE),
        )
        .await?;
        if !vault_attested
            || medigate_chain_client::is_proven_forged(&self.chain, forgery.batch, forgery.index)
                .await?
        {
            return Ok(());
        }
        let identity = self.keyring.identity()?;
        let call = medigate::tx().audit().report_forged_receipt(
            forgery.batch,
            forgery.index,
            forgery.receipt,
            BoundedVec(forgery.path.into_iter().map(H256).collect()),
        );
        let events = self.submit(&call, &identity.signing_keypair()).await?;
        let ended = events
            .find_first::<medigate::audit::events::ReceiptProvenForged>()
            .and_then(Result::ok)
            .is_some_and(|proven| proven.vault_attestation_ended);
        tracing::warn!(
            batch = forgery.batch,
            index = forgery.index,
            vault_attestation_ended = ended,
            "proved on chain an access receipt its reader did not sign"
        );
        Ok(())
    }

    /// Waits until the index has followed the chain up to its current
    /// finalized block (so that a listing includes what just happened).
    pub async fn sync_index(&self) -> Result<(), GatewayError> {
        let identity = self.keyring.identity()?;
        let me = hex::encode(identity.signing_keypair().public_key().0);
        chain::catch_up(&self.chain, &self.index, &me, &self.granted).await?;
        Ok(())
    }
}
