//! The custodian's HTTP API.
//!
//! | route | who | what |
//! | --- | --- | --- |
//! | `GET /health` | anyone | `ok` |
//! | `GET /identity` | anyone | the custodian's account and X25519 key (hex) |
//! | `PUT /shares/{patient}` | the patient, signed | keeps the patient's share, sealed to this custodian, once it opens here and the patient's endorsement of it verifies |
//! | `POST /releases` | a responder, signed | releases the share of a break-glass's patient, sealed to the responder, with the patient's endorsement |
//!
//! Requests are signed as vault requests are (the `x-medigate-*` headers:
//! account, timestamp, nonce, audience, sr25519 signature over the audience,
//! method, path, body hash, timestamp and nonce); the audience must be this
//! custodian's account (`other_audience` otherwise), and each nonce is
//! accepted once within the freshness window, so a request cannot be
//! replayed here or to another service. A release also names this
//! custodian in its body. Errors are JSON `{"code", "message"}` with a
//! stable code.

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use medigate_chain_client::{
    Client, break_glass as chain_break_glass, chain_time, custodian_set, encryption_key,
    is_registered, subxt::utils::AccountId32,
};
use medigate_crypto::{
    keys::{EncryptionPublicKey, EncryptionSecret},
    shares::{ShareBinding, ShareStatement, open_share, seal_share},
};
use medigate_vault::{
    auth::{AuthError, RequestSigner, unix_ms},
    replay::ReplayGuard,
};
use serde::{Deserialize, Serialize};
use tower_http::catch_panic::CatchPanicLayer;

use crate::{
    releases::{Release, ReleaseLog},
    shares::{ShareStore, ShareStoreError, StoredShare},
    watch::{BreakGlassLog, SeenBreakGlass},
};

/// Why a request was refused. Each has a status, a stable code and a
/// message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CustodianError {
    /// The signature headers are missing, malformed, wrong, stale or replayed.
    #[error("{0}")]
    Auth(#[from] AuthError),
    /// The body is not the JSON this route takes.
    #[error("the request body is malformed: {0}")]
    BadBody(String),
    /// A path segment is not a 64-hex-digit account.
    #[error("{0} is not an account id (64 hex digits)")]
    BadAccount(String),
    /// A share was handed over by someone other than its patient.
    #[error("only the patient hands over the share of their own key")]
    NotThePatient,
    /// The patient is not a registered participant.
    #[error("the patient is not a registered participant")]
    UnknownPatient,
    /// The sealed share does not open for this custodian and binding.
    #[error(
        "the share does not open for this custodian, patient and generation; seal it to this custodian's key (GET /identity)"
    )]
    BadShare,
    /// The share's endorsement is not the patient's signature of this
    /// share, this custodian, the generation and the dealing.
    #[error(
        "the share's endorsement does not verify: the patient signs the share's digest, this custodian, the generation and the dealing"
    )]
    BadEndorsement,
    /// The share is of an older key generation than the one kept.
    #[error("this custodian keeps a share of generation {kept}; generation {offered} is older")]
    OlderGeneration {
        /// The generation kept.
        kept: u32,
        /// The one offered.
        offered: u32,
    },
    /// A release was addressed to another custodian.
    #[error("the release is addressed to another custodian")]
    WrongCustodian,
    /// No break-glass with this id is on the chain.
    #[error("no break-glass {0} is recorded on the chain; break the glass first, then ask")]
    NoBreakGlass(u64),
    /// The signer did not break this glass.
    #[error("break-glass {0} was made by another responder; only they receive shares for it")]
    NotTheResponder(u64),
    /// The break-glass's emergency grant has ended.
    #[error("the emergency grant of break-glass {0} has ended; no share is released for it")]
    Expired(u64),
    /// This custodian is not among the chain's custodians any more.
    #[error("this custodian is not among the chain's custodians, so it releases nothing")]
    NotACustodian,
    /// No share of the patient's key is kept here.
    #[error("this custodian holds no share of the patient's emergency key")]
    NoShare,
    /// The responder has no registered encryption key to seal to.
    #[error("the responder has no registered encryption key")]
    ResponderUnknown,
    /// The chain could not be read.
    #[error("the chain cannot be read, so nothing is released: {0}")]
    Chain(String),
    /// The share store failed.
    #[error(transparent)]
    Store(#[from] ShareStoreError),
    /// The release log could not be written, so nothing is released.
    #[error("the release cannot be logged, so it is not made: {0}")]
    Log(std::io::Error),
}

impl CustodianError {
    /// The HTTP status and the stable error code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use medigate_vault::replay::ReplayError;
        match self {
            CustodianError::Auth(AuthError::Replay(ReplayError::Replayed)) => {
                (StatusCode::CONFLICT, "replayed")
            }
            CustodianError::Auth(AuthError::Replay(_)) => (StatusCode::UNAUTHORIZED, "stale"),
            CustodianError::Auth(AuthError::BadSignature) => {
                (StatusCode::UNAUTHORIZED, "bad_signature")
            }
            CustodianError::Auth(AuthError::OtherAudience { .. }) => {
                (StatusCode::UNAUTHORIZED, "other_audience")
            }
            CustodianError::Auth(_) => (StatusCode::UNAUTHORIZED, "unsigned"),
            CustodianError::BadBody(_) => (StatusCode::BAD_REQUEST, "bad_body"),
            CustodianError::BadAccount(_) => (StatusCode::BAD_REQUEST, "bad_account"),
            CustodianError::NotThePatient => (StatusCode::FORBIDDEN, "not_the_patient"),
            CustodianError::UnknownPatient => (StatusCode::NOT_FOUND, "unknown_patient"),
            CustodianError::BadShare => (StatusCode::BAD_REQUEST, "bad_share"),
            CustodianError::BadEndorsement => (StatusCode::BAD_REQUEST, "bad_endorsement"),
            CustodianError::OlderGeneration { .. } => (StatusCode::CONFLICT, "older_generation"),
            CustodianError::WrongCustodian => (StatusCode::MISDIRECTED_REQUEST, "wrong_custodian"),
            CustodianError::NoBreakGlass(_) => (StatusCode::NOT_FOUND, "no_break_glass"),
            CustodianError::NotTheResponder(_) => (StatusCode::FORBIDDEN, "not_the_responder"),
            CustodianError::Expired(_) => (StatusCode::FORBIDDEN, "expired"),
            CustodianError::NotACustodian => (StatusCode::FORBIDDEN, "not_a_custodian"),
            CustodianError::NoShare => (StatusCode::NOT_FOUND, "no_share"),
            CustodianError::ResponderUnknown => (StatusCode::FORBIDDEN, "unknown_responder"),
            CustodianError::Chain(_) => (StatusCode::SERVICE_UNAVAILABLE, "chain_unavailable"),
            CustodianError::Store(_) | CustodianError::Log(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "storage")
            }
        }
    }
}

/// An error's JSON body.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The stable code.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

impl IntoResponse for CustodianError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            code: code.into(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

/// `GET /identity`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Identity {
    /// The custodian's account (hex).
    pub account: String,
    /// Its X25519 key, the one shares are sealed to (hex).
    pub encryption_key: String,
}

/// The body of `PUT /shares/{patient}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShareHandover {
    /// The generation of the patient's emergency key.
    pub generation: u32,
    /// The dealing the share is of (hex; `medigate_crypto::shares::dealing_id`).
    pub dealing: String,
    /// How many of the dealing's shares rebuild the key.
    pub threshold: u8,
    /// The patient's endorsement of the share (hex; a signature of a
    /// `medigate_crypto::shares::ShareStatement`).
    pub endorsement: String,
    /// The share sealed to this custodian, bound to the patient, this
    /// custodian and the generation (hex).
    pub sealed: String,
}

/// The body of `POST /releases`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReleaseRequest {
    /// The break-glass the responder made.
    pub break_glass: u64,
    /// The custodian asked (hex account): a request names one custodian.
    pub custodian: String,
}

/// The answer to `POST /releases`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReleasedShare {
    /// The patient (hex account).
    pub patient: String,
    /// The generation of the key it is a share of.
    pub generation: u32,
    /// The dealing it is of (hex).
    pub dealing: String,
    /// How many of the dealing's shares rebuild the key.
    pub threshold: u8,
    /// The patient's endorsement of it (hex): the responder checks the
    /// share against it and leaves it out if it does not verify.
    pub endorsement: String,
    /// The share, sealed to the responder and bound to the patient, the
    /// responder and the break-glass id (hex).
    pub sealed: String,
}

/// What the handlers share.
pub struct CustodianState {
    /// The custodian's account.
    pub account: [u8; 32],
    /// Its X25519 secret.
    pub secret: EncryptionSecret,
    /// The shares kept.
    pub shares: ShareStore,
    /// The releases made.
    pub releases: ReleaseLog,
    /// The break-glasses seen.
    pub seen: BreakGlassLog,
    /// Nonces accepted within the freshness window.
    pub replay: ReplayGuard,
    /// The chain, for reads.
    pub reads: Client,
    /// How long a release waits for its break-glass to appear.
    pub event_wait: Duration,
}

/// The routes.
pub fn router(state: Arc<CustodianState>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/identity", get(identity))
        .route("/shares/{patient}", put(hand_over))
        .route("/releases", post(release))
        // Bodies are a few hundred bytes.
        .layer(DefaultBodyLimit::max(4096))
        .layer(CatchPanicLayer::custom(panic_answer))
        .with_state(state)
}

/// The answer to a request whose handler panicked: a 500 with the API's
/// error body, and the custodian goes on serving.
fn panic_answer(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request's handler panicked; it was answered 500");
    let body = ErrorBody {
        code: "internal_error".into(),
        message: "the custodian failed on this request; other requests are served".into(),
    };
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

async fn identity(State(state): State<Arc<CustodianState>>) -> Json<Identity> {
    Json(Identity {
        account: hex::encode(state.account),
        encryption_key: hex::encode(state.secret.public_key().0),
    })
}

fn account(text: &str) -> Result<[u8; 32], CustodianError> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| CustodianError::BadAccount(text.chars().take(80).collect()))
}

async fn signer(
    state: &CustodianState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<[u8; 32], CustodianError> {
    let signer = RequestSigner::from_headers(headers)?;
    let body_hash = medigate_crypto::request::body_hash(body);
    Ok(signer.authenticate(
        state.account,
        method,
        path,
        body_hash,
        &state.replay,
        unix_ms,
    )?)
}

fn chain(error: medigate_chain_client::ChainError) -> CustodianError {
    CustodianError::Chain(error.to_string())
}

async fn hand_over(
    State(state): State<Arc<CustodianState>>,
    Path(patient_hex): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, CustodianError> {
    let path = format!("/shares/{patient_hex}");
    let signer = signer(&state, &headers, "PUT", &path, &body).await?;
    let patient = account(&patient_hex)?;
    if signer != patient {
        return Err(CustodianError::NotThePatient);
    }
    let handover: ShareHandover = serde_json::from_slice(&body)
        .map_err(|error| CustodianError::BadBody(error.to_string()))?;
    let sealed = hex::decode(&handover.sealed)
        .map_err(|_| CustodianError::BadBody("sealed is not hex".into()))?;
    let binding = ShareBinding {
        patient,
        holder: state.account,
        context: u64::from(handover.generation),
    };
    let dealing: [u8; 32] = hex::decode(&handover.dealing)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| CustodianError::BadBody("dealing is not 64 hex digits".into()))?;
    let endorsement: [u8; 64] = hex::decode(&handover.endorsement)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| CustodianError::BadBody("endorsement is not 128 hex digits".into()))?;
    // Kept sealed, but only once it is known to open here and to be the
    // share the patient endorsed for this custodian.
    let share =
        open_share(&sealed, &state.secret, &binding).map_err(|_| CustodianError::BadShare)?;
    ShareStatement::for_share(
        patient,
        state.account,
        handover.generation,
        dealing,
        handover.threshold,
        &share,
    )
    .verify(&endorsement)
    .map_err(|_| CustodianError::BadEndorsement)?;
    if !is_registered(&state.reads, &AccountId32(patient))
        .await
        .map_err(chain)?
    {
        return Err(CustodianError::UnknownPatient);
    }
    if let Some(kept) = state.shares.get(&patient)?
        && kept.generation > handover.generation
    {
        return Err(CustodianError::OlderGeneration {
            kept: kept.generation,
            offered: handover.generation,
        });
    }
    state.shares.put(
        &patient,
        &StoredShare {
            generation: handover.generation,
            dealing: hex::encode(dealing),
            threshold: handover.threshold,
            endorsement: hex::encode(endorsement),
            sealed: hex::encode(&sealed),
        },
    )?;
    tracing::info!(patient = %patient_hex, generation = handover.generation, "share kept");
    Ok(StatusCode::NO_CONTENT)
}

/// The break-glass `id` as the chain has it: from the events seen, else
/// from the chain's state (a break-glass made before this custodian
/// started), else waiting for a best block holding it.
async fn find_break_glass(
    state: &CustodianState,
    id: u64,
) -> Result<SeenBreakGlass, CustodianError> {
    if let Some(seen) = state.seen.get(id).await {
        return Ok(seen);
    }
    if let Some(stored) = chain_break_glass(&state.reads, id).await.map_err(chain)? {
        return Ok(SeenBreakGlass {
            patient: stored.patient.0,
            responder: stored.responder.0,
            expires_at: stored.expires_at,
            block: 0,
        });
    }
    state
        .seen
        .wait_for(id, state.event_wait)
        .await
        .ok_or(CustodianError::NoBreakGlass(id))
}

async fn release(
    State(state): State<Arc<CustodianState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ReleasedShare>, CustodianError> {
    let responder = signer(&state, &headers, "POST", "/releases", &body).await?;
    let request: ReleaseRequest = serde_json::from_slice(&body)
        .map_err(|error| CustodianError::BadBody(error.to_string()))?;
    if account(&request.custodian)? != state.account {
        return Err(CustodianError::WrongCustodian);
    }
    let id = request.break_glass;
    let seen = find_break_glass(&state, id).await?;
    if seen.responder != responder {
        return Err(CustodianError::NotTheResponder(id));
    }
    // The best block's time (the finalized one lags); before the first
    // best block is seen, the finalized one's.
    let now = match state.seen.best_time() {
        0 => chain_time(&state.reads).await.map_err(chain)?,
        time => time,
    };
    if now >= seen.expires_at {
        return Err(CustodianError::Expired(id));
    }
    let (custodians, _) = custodian_set(&state.reads).await.map_err(chain)?;
    if !custodians
        .iter()
        .any(|custodian| custodian.0 == state.account)
    {
        return Err(CustodianError::NotACustodian);
    }
    let kept = state
        .shares
        .get(&seen.patient)?
        .ok_or(CustodianError::NoShare)?;
    let responder_key = encryption_key(&state.reads, &AccountId32(responder))
        .await
        .map_err(chain)?
        .ok_or(CustodianError::ResponderUnknown)?;
    let share = open_share(
        &kept.sealed_bytes()?,
        &state.secret,
        &ShareBinding {
            patient: seen.patient,
            holder: state.account,
            context: u64::from(kept.generation),
        },
    )
    .map_err(|_| ShareStoreError::Corrupt)?;
    let sealed = seal_share(
        &share,
        &EncryptionPublicKey(responder_key),
        &ShareBinding {
            patient: seen.patient,
            holder: responder,
            context: id,
        },
    )
    .map_err(|_| CustodianError::ResponderUnknown)?;
    state
        .releases
        .append(&Release {
            break_glass: id,
            patient: hex::encode(seen.patient),
            responder: hex::encode(responder),
            block: seen.block,
            released_at_ms: unix_ms(),
        })
        .map_err(CustodianError::Log)?;
    tracing::info!(break_glass = id, "share released");
    Ok(Json(ReleasedShare {
        patient: hex::encode(seen.patient),
        generation: kept.generation,
        dealing: kept.dealing,
        threshold: kept.threshold,
        endorsement: kept.endorsement,
        sealed: hex::encode(sealed),
    }))
}
