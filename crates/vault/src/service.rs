//! The vault's HTTP API (axum): signed uploads, consent-gated reads with an
//! access receipt each, key wraps, erasure.
//!
//! | method and path | who | what |
//! | --- | --- | --- |
//! | `PUT /blobs/{content_id}` | a registered account | stores an envelope, streamed; its BLAKE3 hash must be the content id |
//! | `GET /blobs/{content_id}?patient=..&purpose=..` | whoever the chain allows | the envelope, with the requester's key wrap; one receipt, carrying the requester's signature of the read (signed at this one canonical path: ids in lower-case hex, the query in this order) |
//! | `DELETE /blobs/{content_id}` | the record's owner or delegate | erases the envelope and every wrap |
//! | `PUT /wraps/{content_id}/{grantee}` | the record's owner, delegate or author | stores a key wrap |
//! | `GET /wraps/{content_id}/{grantee}?patient=..&purpose=..` | the grantee, while the chain allows it to read the record | the wrap |
//! | `GET /grantees/{grantee}/wraps[?patient=..]` | the grantee | `{"records": [{"patient", "content_id"}, ..]}`: the records with a wrap for the grantee, sorted |
//! | `POST /batches` | a registered account (wraps: as for `PUT /wraps`) | stores many small envelopes and key wraps at once ([`crate::batch`]); all or nothing |
//! | `GET /health`, `GET /openapi.json` | anyone | the vault's account and queue; the API document |
//!
//! Every other request carries the signed-request headers of [`crate::auth`];
//! the body hash a blob upload signs is its content id. A record is the
//! patient's its envelope's header names: wraps and erasures are checked
//! against that patient's anchor of the content id, never against an anchor
//! of the same id to someone else's records.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine as _;
use bytes::Bytes;
use futures::{StreamExt as _, stream::BoxStream};
use medigate_chain_client::{
    AccessQuestion, Client, HttpRpc, anchor, best_anchors, chain_time, is_delegate, is_erased,
    is_registered,
    medigate::runtime_types::{
        medigate_access_policy::{
            decision::Reason,
            terms::{Action, Purpose},
        },
        pallet_audit::{RequestEvidence, Sr25519RequestSignature},
    },
    subxt::utils::{AccountId32, H256},
};
use medigate_crypto::record::HEADER_LEN;
use tower_http::catch_panic::CatchPanicLayer;

use crate::{
    access_gate::AccessGate,
    auth::{RequestSigner, unix_ms},
    batch::{BatchItem, MAX_BATCH_BYTES},
    error::ApiError,
    receipts::{Receipt, ReceiptQueue},
    replay::ReplayGuard,
    store::{BlobStore, Id, StoreError, Stored, WrapItem, envelope_owner_of, hex},
};

/// The header carrying the requester's key wrap (standard base64) on a read.
pub const KEY_WRAP_HEADER: &str = "x-medigate-key-wrap";
/// The header naming the grant that allowed a read (absent for the owner).
pub const GRANT_HEADER: &str = "x-medigate-grant";
/// The largest key wrap the vault stores, in bytes (a hybrid wrap is 1,174).
pub const MAX_WRAP_BYTES: usize = 4096;

/// The vault's OpenAPI document.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// What the handlers share.
pub struct VaultState {
    /// Blobs and wraps.
    pub store: BlobStore,
    /// The chain, for anchors and registrations (reads at the finalized
    /// block, over HTTP).
    pub chain: Client,
    /// The same node's JSON-RPC over HTTP, for reads of many anchors at once
    /// (those that wraps need, at the best block).
    pub chain_rpc: HttpRpc,
    /// The chain's `check_access`, concurrent reads asked together.
    pub gate: AccessGate,
    /// Nonces of accepted requests. A lock that a panic cannot poison: one
    /// failed request must not refuse all later ones.
    pub guard: ReplayGuard,
    /// Receipts waiting for the chain.
    pub receipts: ReceiptQueue,
    /// The vault's own account (named in its receipts).
    pub vault: AccountId32,
    /// How many requests' handlers panicked (each answered 500, the vault
    /// serving on).
    pub panics: Arc<AtomicU64>,
    /// Room for the batch bodies held in memory at once
    /// ([`BATCHES_IN_MEMORY`] of at most [`MAX_BATCH_BYTES`] each).
    pub batch_bodies: tokio::sync::Semaphore,
}

/// How many batch bodies the vault holds in memory at once; later batches
/// wait for room.
pub const BATCHES_IN_MEMORY: usize = 8;

/// The API's routes over `state`.
pub fn router(state: Arc<VaultState>) -> Router {
    Router::new()
        .route(
            "/blobs/{content_id}",
            get(get_blob).put(put_blob).delete(delete_blob),
        )
        .route("/wraps/{content_id}/{grantee}", get(get_wrap).put(put_wrap))
        .route("/grantees/{grantee}/wraps", get(list_wraps))
        .route("/batches", axum::routing::post(put_batch))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .layer(CatchPanicLayer::custom(panic_answer(state.panics.clone())))
        .with_state(state)
}

/// The answer to a request whose handler panicked: a 500 with the API's
/// error body, counted in `panics`, and the vault goes on serving.
fn panic_answer(
    panics: Arc<AtomicU64>,
) -> impl Fn(Box<dyn std::any::Any + Send + 'static>) -> Response + Clone {
    move |_| {
        panics.fetch_add(1, Ordering::Relaxed);
        tracing::error!("a request's handler panicked; it was answered 500");
        let body = serde_json::json!({
            "error": "internal_error",
            "message": "the vault failed on this request; other requests are served",
        });
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
}

/// Parses 64 hex digits.
fn parse_id(text: &str, what: &'static str) -> Result<Id, ApiError> {
    let malformed = ApiError::Malformed {
        what,
        expected: "64 hex digits",
    };
    let bytes = hex::decode(text).map_err(|_| malformed)?;
    bytes.try_into().map_err(|_| ApiError::Malformed {
        what,
        expected: "64 hex digits",
    })
}

impl VaultState {
    /// The account that signed the request, once signature, freshness and
    /// nonce are checked.
    fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body_hash: [u8; 32],
    ) -> Result<AccountId32, ApiError> {
        self.authenticate_signer(method, uri, headers, body_hash)
            .map(|signer| AccountId32(signer.account))
    }

    /// The request's signer, once signature, freshness and nonce are
    /// checked: its account and the signed fields a receipt keeps.
    fn authenticate_signer(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body_hash: [u8; 32],
    ) -> Result<RequestSigner, ApiError> {
        let signer = RequestSigner::from_headers(headers)?;
        let path = uri
            .path_and_query()
            .map_or(uri.path(), |path| path.as_str());
        signer.authenticate(
            self.vault.0,
            method.as_str(),
            path,
            body_hash,
            &self.guard,
            unix_ms,
        )?;
        Ok(signer)
    }

    /// Checks an upload before its body is read: a well-formed content id,
    /// a valid signature over it, a declared length within the limit, a
    /// registered uploader. Returns the content id.
    async fn admit_upload(
        &self,
        content_id: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        declared: Option<u64>,
    ) -> Result<Id, ApiError> {
        let content_id = parse_id(content_id, "the content id")?;
        let account = self.authenticate(method, uri, headers, content_id)?;
        let limit = self.store.max_blob_bytes();
        if declared.is_some_and(|length| length > limit) {
            return Err(StoreError::TooLarge { limit }.into());
        }
        self.require_registered(&account).await?;
        Ok(content_id)
    }

    async fn require_registered(&self, account: &AccountId32) -> Result<(), ApiError> {
        let registered = is_registered(&self.chain, account)
            .await
            .map_err(|error| ApiError::ChainUnavailable(error.to_string()))?;
        if registered {
            Ok(())
        } else {
            Err(ApiError::UnknownAccount(hex(&account.0)))
        }
    }

    /// Whether `account` is `owner` or manages `owner`'s consent.
    async fn speaks_for(
        &self,
        account: &AccountId32,
        owner: &AccountId32,
    ) -> Result<bool, ApiError> {
        if account == owner {
            return Ok(true);
        }
        is_delegate(&self.chain, owner, account)
            .await
            .map_err(|error| ApiError::ChainUnavailable(error.to_string()))
    }
}

fn chain_error(error: impl ToString) -> ApiError {
    ApiError::ChainUnavailable(error.to_string())
}

/// The largest body of a refused upload that is read (and discarded) before
/// the refusal is answered, so that a client still sending it gets the
/// answer rather than a broken connection. Longer bodies are cut off.
const DRAIN_BYTES: u64 = 16 << 20;

/// The body length a request declares (`Content-Length`), if it does.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
}

/// Reads and discards the body of a refused upload that declares at most
/// [`DRAIN_BYTES`], so that its client gets the refusal.
async fn drain(declared: Option<u64>, body: Body) {
    if declared.is_some_and(|length| length <= DRAIN_BYTES) {
        let mut discarded = body.into_data_stream();
        while let Some(Ok(_)) = discarded.next().await {}
    }
}

async fn put_blob(
    State(state): State<Arc<VaultState>>,
    Path(content_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let declared = declared_length(&headers);
    let content_id = match state
        .admit_upload(&content_id, &method, &uri, &headers, declared)
        .await
    {
        Ok(content_id) => content_id,
        Err(refusal) => {
            drain(declared, body).await;
            return Err(refusal);
        }
    };
    let stored = state
        .store
        .put_blob(&content_id, body.into_data_stream())
        .await?;
    let content_id = hex(&content_id);
    Ok(match stored {
        Stored::Created { size } => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "content_id": content_id, "size": size, "created": true })),
        )
            .into_response(),
        Stored::AlreadyStored => (
            StatusCode::OK,
            Json(serde_json::json!({ "content_id": content_id, "created": false })),
        )
            .into_response(),
    })
}

/// The query of a read.
#[derive(Debug, serde::Deserialize)]
struct ReadQuery {
    /// The patient the record belongs to (64 hex digits).
    patient: Option<String>,
    /// The HL7 purpose-of-use code.
    purpose: Option<String>,
}

/// The patient and purpose a read names in its query.
fn read_terms(
    query: &ReadQuery,
) -> Result<(AccountId32, medigate_access_policy::Purpose), ApiError> {
    let patient = query.patient.as_deref().ok_or(ApiError::Malformed {
        what: "the patient query parameter",
        expected: "the record owner's account, 64 hex digits (it is missing)",
    })?;
    let patient = AccountId32(parse_id(patient, "the patient query parameter")?);
    let purpose = query.purpose.as_deref().ok_or(ApiError::Malformed {
        what: "the purpose query parameter",
        expected: "an HL7 purpose-of-use code such as TREAT (it is missing)",
    })?;
    let purpose = medigate_access_policy::Purpose::from_code(purpose)
        .ok_or_else(|| ApiError::UnknownPurpose(purpose.into()))?;
    Ok((patient, purpose))
}

/// The chain client's twin of `purpose`.
fn purpose_of(purpose: medigate_access_policy::Purpose) -> Purpose {
    use medigate_access_policy::Purpose as Code;
    match purpose {
        Code::Treatment => Purpose::Treatment,
        Code::EmergencyTreatment => Purpose::EmergencyTreatment,
        Code::BreakTheGlass => Purpose::BreakTheGlass,
        Code::Payment => Purpose::Payment,
        Code::Operations => Purpose::Operations,
        Code::Research => Purpose::Research,
    }
}

async fn get_blob(
    State(state): State<Arc<VaultState>>,
    Path(content_id): Path<String>,
    Query(query): Query<ReadQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let content_id = parse_id(&content_id, "the content id")?;
    let (patient, code) = read_terms(&query)?;
    // A read is signed as a GET at its one canonical path, so that anyone
    // can rebuild what the accessor signed from the receipt alone (HTTP
    // lets a HEAD reach this handler too: its signature names HEAD, and its
    // receipt would look forged).
    if method != Method::GET {
        return Err(ApiError::Malformed {
            what: "the read's method",
            expected: "GET, the method a read's receipt proves its reader signed",
        });
    }
    let canonical = medigate_protocol::request::read_path(&content_id, &patient.0, code);
    if uri.path_and_query().map(|path| path.as_str()) != Some(canonical.as_str()) {
        return Err(ApiError::Malformed {
            what: "the read's path",
            expected: "/blobs/{content id}?patient={account}&purpose={code}, ids in lower-case hex, nothing else",
        });
    }
    let purpose = purpose_of(code);
    let signer = state.authenticate_signer(
        &method,
        &uri,
        &headers,
        medigate_protocol::request::EMPTY_BODY_HASH,
    )?;
    let accessor = AccountId32(signer.account);

    let decision = state
        .gate
        .check(AccessQuestion {
            accessor,
            patient,
            record: H256(content_id),
            purpose: purpose.clone(),
            action: Action::Read,
        })
        .await
        .map_err(chain_error)?;
    if !decision.allowed {
        return Err(ApiError::Denied(decision.reason));
    }
    let (size, blob) = state.store.get_blob(&content_id).await?;
    // The chain answered for `patient`'s record of this content id; the
    // envelope must be that patient's, or an anchor of the same id to the
    // accessor's own records would serve them another patient's envelope.
    let blob = owned_by(&patient, blob).await?;
    let wrap = match state.store.get_wrap(&content_id, &accessor.0).await {
        Ok(wrap) => Some(wrap),
        Err(StoreError::NotFound(_)) => None,
        Err(error) => return Err(error.into()),
    };
    // No receipt, no read.
    state.receipts.push(Receipt {
        accessor,
        patient,
        record: H256(content_id),
        purpose,
        action: Action::Read,
        grant: decision.grant,
        vault: state.vault.clone(),
        accessed_at: unix_ms(),
        request: RequestEvidence {
            signed_at: signer.timestamp_ms,
            nonce: signer.nonce,
            signature: Sr25519RequestSignature(signer.signature),
        },
    })?;

    let mut response = Response::new(Body::from_stream(blob));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Some(grant) = decision.grant {
        headers.insert(GRANT_HEADER, HeaderValue::from(grant));
    }
    if let Some(wrap) = wrap {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&wrap);
        headers.insert(
            KEY_WRAP_HEADER,
            HeaderValue::from_str(&encoded).expect("base64 is a valid header value"),
        );
    }
    Ok(response)
}

/// `blob`, given back whole once its envelope header is read and names
/// `patient` as its owner; [`Reason::UnknownRecord`] when it does not (or
/// the blob is no envelope).
async fn owned_by(
    patient: &AccountId32,
    mut blob: BoxStream<'static, Result<Bytes, StoreError>>,
) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, ApiError> {
    let mut head = bytes::BytesMut::new();
    while head.len() < HEADER_LEN {
        match blob.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(error)) => return Err(error.into()),
            None => break,
        }
    }
    if envelope_owner_of(&head) != Some(patient.0) {
        return Err(ApiError::Denied(Reason::UnknownRecord));
    }
    let head = head.freeze();
    Ok(futures::stream::once(async move { Ok(head) })
        .chain(blob)
        .boxed())
}

async fn delete_blob(
    State(state): State<Arc<VaultState>>,
    Path(content_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let content_id = parse_id(&content_id, "the content id")?;
    let account = state.authenticate(
        &method,
        &uri,
        &headers,
        medigate_crypto::request::body_hash(b""),
    )?;
    // The record is the patient's its envelope's header names: an anchor of
    // the same content id to anyone else's records says nothing about it.
    let Some(owner) = state.store.envelope_owner(&content_id).await? else {
        // Not an envelope: nobody's record, erased by any registered account.
        state.require_registered(&account).await?;
        state.store.delete_blob(None, &content_id).await?;
        return Ok(StatusCode::NO_CONTENT);
    };
    let owner_account = AccountId32(owner);
    match anchor(&state.chain, &owner_account, H256(content_id))
        .await
        .map_err(chain_error)?
    {
        Some(_) => {
            if !state.speaks_for(&account, &owner_account).await? {
                return Err(ApiError::NotPermitted {
                    allowed: "the record's owner or their delegate",
                    action: "erase record",
                    subject: hex(&content_id),
                });
            }
        }
        // Erased on chain: the ciphertext has no owner left to ask.
        None if is_erased(&state.chain, &owner_account, H256(content_id))
            .await
            .map_err(chain_error)? =>
        {
            state.require_registered(&account).await?
        }
        None => return Err(ApiError::not_anchored(&content_id)),
    }
    state.store.delete_blob(Some(&owner), &content_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_batch(
    State(state): State<Arc<VaultState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Who is asking is checked before any of the body is read: the
    // signature covers the body hash the request declares, and the body
    // must then hash to it.
    let declared = declared_length(&headers);
    let admitted = async {
        let body_hash = RequestSigner::declared_body_hash(&headers)?;
        if declared.is_some_and(|length| length > MAX_BATCH_BYTES as u64) {
            return Err(StoreError::TooLarge {
                limit: MAX_BATCH_BYTES as u64,
            }
            .into());
        }
        let account = state.authenticate(&method, &uri, &headers, body_hash)?;
        state.require_registered(&account).await?;
        Ok::<_, ApiError>((account, body_hash))
    };
    let (account, body_hash) = match admitted.await {
        Ok(admitted) => admitted,
        Err(refusal) => {
            drain(declared, body).await;
            return Err(refusal);
        }
    };
    // Batches are held in memory while they are checked and stored: only a
    // few at once.
    let _held = state
        .batch_bodies
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let body = axum::body::to_bytes(body, MAX_BATCH_BYTES)
        .await
        .map_err(|_| StoreError::TooLarge {
            limit: MAX_BATCH_BYTES as u64,
        })?;
    crate::auth::check_body(&body, body_hash)?;
    let items = crate::batch::parse(&body)?;
    let mut envelopes = Vec::new();
    let mut wraps = Vec::new();
    for item in &items {
        match item {
            BatchItem::Envelope { content_id, bytes } => envelopes.push((*content_id, *bytes)),
            BatchItem::KeyWrap {
                content_id,
                grantee,
                bytes,
            } => wraps.push((*content_id, *grantee, *bytes)),
        }
    }
    // Wraps are taken for anchored records only, whose signer is the
    // record's author, its owner or the owner's delegate. A record is the
    // patient's its envelope's header names (the envelope in the batch, or
    // the one stored): an anchor of the same content id to anyone else's
    // records says nothing about it. Anchors are read at the best block, so
    // that an author's wraps can be stored while the anchor is on its way
    // to finality: a wrap says nothing to anyone but its grantee, and reads
    // are gated by the chain.
    let started = std::time::Instant::now();
    let in_batch: std::collections::HashMap<Id, Option<Id>> = envelopes
        .iter()
        .map(|(content_id, bytes)| (*content_id, envelope_owner_of(bytes)))
        .collect();
    let mut owners: std::collections::BTreeMap<Id, Id> = std::collections::BTreeMap::new();
    for (content_id, _, _) in &wraps {
        if owners.contains_key(content_id) {
            continue;
        }
        let owner = match in_batch.get(content_id) {
            Some(owner) => *owner,
            None => state.store.envelope_owner(content_id).await?,
        };
        let owner = owner.ok_or_else(|| ApiError::not_anchored(content_id))?;
        owners.insert(*content_id, owner);
    }
    let mut by_owner: std::collections::BTreeMap<Id, Vec<Id>> = std::collections::BTreeMap::new();
    for (content_id, owner) in &owners {
        by_owner.entry(*owner).or_default().push(*content_id);
    }
    for (owner, content_ids) in &by_owner {
        let owner = AccountId32(*owner);
        let ids: Vec<H256> = content_ids.iter().copied().map(H256).collect();
        let found = best_anchors(&state.chain, &state.chain_rpc, &owner, &ids)
            .await
            .map_err(chain_error)?;
        let mut speaks_for_owner = None;
        for (content_id, found) in content_ids.iter().zip(found) {
            let found = found.ok_or_else(|| ApiError::not_anchored(content_id))?;
            if account == found.author {
                continue;
            }
            let speaks = match speaks_for_owner {
                Some(speaks) => speaks,
                None => *speaks_for_owner.insert(state.speaks_for(&account, &owner).await?),
            };
            if !speaks {
                return Err(ApiError::NotPermitted {
                    allowed: "the record's owner, their delegate or the record's author",
                    action: "add a key wrap to record",
                    subject: hex(content_id),
                });
            }
        }
    }
    let wraps: Vec<WrapItem<'_>> = wraps
        .iter()
        .map(|(content_id, grantee, bytes)| WrapItem {
            owner: owners[content_id],
            content_id: *content_id,
            grantee: *grantee,
            bytes,
        })
        .collect();
    let checked_ms = started.elapsed().as_millis() as u64;
    let stored = state.store.put_batch(&envelopes, &wraps).await?;
    tracing::debug!(
        envelopes = envelopes.len(),
        wraps = wraps.len(),
        checked_ms,
        ms = started.elapsed().as_millis() as u64,
        "batch stored"
    );
    Ok(Json(serde_json::json!({
        "created": stored.created,
        "present": stored.present,
        "wraps": stored.wraps,
    }))
    .into_response())
}

async fn put_wrap(
    State(state): State<Arc<VaultState>>,
    Path((content_id, grantee)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let content_id = parse_id(&content_id, "the content id")?;
    let grantee = parse_id(&grantee, "the grantee")?;
    let wrap = axum::body::to_bytes(body, MAX_WRAP_BYTES)
        .await
        .map_err(|_| StoreError::TooLarge {
            limit: MAX_WRAP_BYTES as u64,
        })?;
    let account = state.authenticate(
        &method,
        &uri,
        &headers,
        medigate_crypto::request::body_hash(&wrap),
    )?;
    // As for a batch: the record (of the patient its envelope names) is
    // anchored (in the best block), and the signer is its author, its owner
    // or the owner's delegate.
    let owner = state
        .store
        .envelope_owner(&content_id)
        .await?
        .ok_or_else(|| ApiError::not_anchored(&content_id))?;
    let anchor = best_anchors(
        &state.chain,
        &state.chain_rpc,
        &AccountId32(owner),
        &[H256(content_id)],
    )
    .await
    .map_err(chain_error)?
    .pop()
    .flatten()
    .ok_or_else(|| ApiError::not_anchored(&content_id))?;
    if account != anchor.author && !state.speaks_for(&account, &anchor.owner).await? {
        return Err(ApiError::NotPermitted {
            allowed: "the record's owner, their delegate or the record's author",
            action: "add a key wrap to record",
            subject: hex(&content_id),
        });
    }
    state
        .store
        .put_wrap(&owner, &content_id, &grantee, wrap)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A grantee's key wrap, served only while the chain allows the grantee to
/// read the record (`?patient=..&purpose=..`, as for a read): a revoked or
/// expired grantee gets no key.
async fn get_wrap(
    State(state): State<Arc<VaultState>>,
    Path((content_id, grantee)): Path<(String, String)>,
    Query(query): Query<ReadQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let content_id = parse_id(&content_id, "the content id")?;
    let grantee = parse_id(&grantee, "the grantee")?;
    let (patient, purpose) = read_terms(&query)?;
    let purpose = purpose_of(purpose);
    let account = state.authenticate(
        &method,
        &uri,
        &headers,
        medigate_protocol::request::EMPTY_BODY_HASH,
    )?;
    if account.0 != grantee {
        return Err(ApiError::NotPermitted {
            allowed: "the grantee",
            action: "fetch a key wrap of record",
            subject: hex(&content_id),
        });
    }
    let decision = state
        .gate
        .check(AccessQuestion {
            accessor: account,
            patient,
            record: H256(content_id),
            purpose,
            action: Action::Read,
        })
        .await
        .map_err(chain_error)?;
    if !decision.allowed {
        return Err(ApiError::Denied(decision.reason));
    }
    let wrap = state.store.get_wrap(&content_id, &grantee).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], wrap).into_response())
}

/// The answer of `GET /grantees/{grantee}/wraps`.
#[derive(Debug, serde::Serialize)]
struct WrapList {
    /// The records with a wrap for the grantee, sorted by patient, then
    /// content id.
    records: Vec<WrappedRecord>,
}

/// One record of a [`WrapList`].
#[derive(Debug, serde::Serialize)]
struct WrappedRecord {
    /// Whose record it is (hex): the owner its envelope's header names.
    patient: String,
    /// Its content id (hex).
    content_id: String,
}

/// The query of `GET /grantees/{grantee}/wraps`.
#[derive(Debug, serde::Deserialize)]
struct WrapListQuery {
    /// Only this patient's records (64 hex digits).
    patient: Option<String>,
}

async fn list_wraps(
    State(state): State<Arc<VaultState>>,
    Path(grantee): Path<String>,
    Query(query): Query<WrapListQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<WrapList>, ApiError> {
    let grantee = parse_id(&grantee, "the grantee")?;
    let patient = query
        .patient
        .as_deref()
        .map(|patient| parse_id(patient, "the patient query parameter"))
        .transpose()?;
    let account = state.authenticate(
        &method,
        &uri,
        &headers,
        medigate_crypto::request::body_hash(b""),
    )?;
    if account.0 != grantee {
        return Err(ApiError::NotPermitted {
            allowed: "the grantee",
            action: "list the key wraps of grantee",
            subject: hex(&grantee),
        });
    }
    let records = state
        .store
        .list_wraps_for(&grantee, patient.as_ref())
        .await?;
    Ok(Json(WrapList {
        records: records
            .iter()
            .map(|(patient, content_id)| WrappedRecord {
                patient: hex(patient),
                content_id: hex(content_id),
            })
            .collect(),
    }))
}

/// How long `/health` waits for the chain.
const HEALTH_CHAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The vault's state, truthfully: 200 when it can serve gated reads, 503
/// (`degraded`, with the problems) when it cannot, such as when its chain
/// does not answer.
async fn health(State(state): State<Arc<VaultState>>) -> Response {
    let mut problems = Vec::new();
    match tokio::time::timeout(HEALTH_CHAIN_TIMEOUT, chain_time(&state.chain)).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => problems.push(format!("the chain cannot be read: {error}")),
        Err(_) => problems.push(format!(
            "the chain did not answer within {} s",
            HEALTH_CHAIN_TIMEOUT.as_secs()
        )),
    }
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if problems.is_empty() { "ok" } else { "degraded" },
        "problems": problems,
        "vault": hex(&state.vault.0),
        "receipts_waiting": state.receipts.len(),
        "max_blob_bytes": state.store.max_blob_bytes(),
        "panics": state.panics.load(Ordering::Relaxed),
    });
    (status, Json(body)).into_response()
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
