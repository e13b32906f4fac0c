//! The gateway's management API (JSON), what the `medigate` CLI speaks:
//! unlock, registration, imports with progress, records, consent, audit.
//!
//! | request | what |
//! | --- | --- |
//! | `GET /health` | `{"unlocked": ..}`, no token needed |
//! | `POST /api/unlock` `{"passphrase"}` / `POST /api/lock` | open or close the keystore |
//! | `GET /api/whoami` | the account, whether it is registered |
//! | `POST /api/register` | registers the account and its encryption key on chain (fee-less once sponsored; `needs_sponsor` for a newcomer without funds or sponsor) |
//! | `POST /api/enrol` `{"account"}` | sponsors a newcomer for a day, by a hospital (attested organization) or an authority |
//! | `POST /api/import` (a Bundle) | imports it; answers progress lines (NDJSON), the last one the result |
//! | `GET /api/records[?type=]` | the user's own records |
//! | `POST /api/access/requests` `{"patient","categories","purpose","justification","write"}` | asks a patient for access (`write`: also to add records) |
//! | `POST /api/access/requests/{id}/approve` `{"categories","days"}` | approves, sharing the covered records |
//! | `POST /api/access/requests/{id}/deny`, `POST /api/access/grants/{id}/revoke` | denies, revokes |
//! | `POST /api/access/requests/{id}/withdraw` | withdraws the user's own request |
//! | `GET /api/access` | requests and grants |
//! | `GET /api/audit` | the audit trail |
//! | `GET /api/emergency` | the emergency policy, summary, custodians holding shares, break-glasses |
//! | `PUT /api/emergency/policy` `{"enabled","roles","guardians","window_minutes","full_access_after_seconds"}` | sets the policy (with a veto window, full-record access after it); when enabled, prepares the summary and hands out the key's shares |
//! | `POST /api/emergency/prepare` | makes the summary again and hands out missing shares |
//! | `GET /api/emergency/card` | the offline emergency card's text |
//! | `POST /api/emergency/new-key` | replaces the emergency key (the old card opens nothing newer) |
//! | `POST /api/emergency/break-glass` `{"patient","purpose","reason"}` | breaks the glass and answers the patient's emergency summary |
//! | `POST /api/emergency/card-read` `{"card","purpose","reason"}` | the same with the key from a patient's card |
//! | `POST /api/emergency/{id}/review` `{"review"}` | `justified` or `flagged` (which also vetoes), by the patient or a guardian |
//! | `POST /api/emergency/{id}/veto` | keeps a break-glass to the summary: no full-record access, by the patient or a guardian |
//!
//! Every request but `/health` carries `Authorization: Bearer <token>`, the
//! token in the gateway's `api-token` file. Failures answer
//! `{"error": code, "message": text}`.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    Gateway,
    consent::{parse_account, parse_categories},
    error::GatewayError,
    import::{Progress, ProgressSink},
};

/// The management routes.
pub fn router() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/api/unlock", post(unlock))
        .route("/api/lock", post(lock))
        .route("/api/whoami", get(whoami))
        .route("/api/register", post(register))
        .route("/api/enrol", post(enrol))
        .route("/api/import", post(import))
        .route("/api/records", get(records))
        .route("/api/access", get(access))
        .route("/api/access/requests", post(request_access))
        .route("/api/access/requests/{id}/approve", post(approve))
        .route("/api/access/requests/{id}/deny", post(deny))
        .route("/api/access/requests/{id}/withdraw", post(withdraw))
        .route("/api/access/grants/{id}/revoke", post(revoke))
        .route("/api/audit", get(audit))
        .route("/api/emergency", get(emergency_status))
        .route("/api/emergency/policy", put(emergency_policy))
        .route("/api/emergency/prepare", post(emergency_prepare))
        .route("/api/emergency/card", get(emergency_card))
        .route("/api/emergency/new-key", post(new_emergency_key))
        .route("/api/emergency/break-glass", post(break_glass))
        .route("/api/emergency/card-read", post(card_read))
        .route("/api/emergency/{id}/review", post(review))
        .route("/api/emergency/{id}/veto", post(veto))
}

/// How long `/health` waits for the chain.
const HEALTH_CHAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The health route (no token), truthfully: 200 and `ok` when the gateway
/// can serve, 503 and `degraded` with the problems when it cannot (its
/// chain does not answer); whether the keys are unlocked, and how many
/// requests' handlers panicked (each answered 500, the gateway serving on).
pub async fn health(State(gateway): State<Arc<Gateway>>) -> Response {
    let mut problems = Vec::new();
    let chain = medigate_chain_client::chain_time(&gateway.reads);
    match tokio::time::timeout(HEALTH_CHAIN_TIMEOUT, chain).await {
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
    let body = json!({
        "status": if problems.is_empty() { "ok" } else { "degraded" },
        "problems": problems,
        "unlocked": gateway.keyring.is_unlocked(),
        "panics": gateway.panics.load(std::sync::atomic::Ordering::Relaxed),
    });
    (status, Json(body)).into_response()
}

#[derive(Deserialize)]
struct UnlockBody {
    passphrase: String,
}

async fn unlock(
    State(gateway): State<Arc<Gateway>>,
    Json(body): Json<UnlockBody>,
) -> Result<Json<Value>, GatewayError> {
    let identity = gateway.unlock(body.passphrase).await?;
    Ok(Json(
        json!({"account": hex::encode(identity.signing_keypair().public_key().0)}),
    ))
}

async fn lock(State(gateway): State<Arc<Gateway>>) -> Json<Value> {
    gateway.keyring.lock();
    Json(json!({"locked": true}))
}

async fn whoami(State(gateway): State<Arc<Gateway>>) -> Result<Json<Value>, GatewayError> {
    let identity = gateway.keyring.identity()?;
    let account = medigate_chain_client::account_id(&identity.signing_keypair());
    let registered = medigate_chain_client::is_registered(&gateway.reads, &account).await?;
    Ok(Json(json!({
        "account": hex::encode(account.0),
        "encryption_key": hex::encode(identity.encryption_secret().public_key().0),
        "registered": registered,
        "vault": gateway.vault.base(),
    })))
}

async fn register(State(gateway): State<Arc<Gateway>>) -> Result<Json<Value>, GatewayError> {
    Ok(Json(json!(gateway.register().await?)))
}

/// The body of `POST /api/enrol`.
#[derive(Debug, Deserialize)]
struct EnrolBody {
    /// The newcomer's account (64 hex digits).
    account: String,
}

async fn enrol(
    State(gateway): State<Arc<Gateway>>,
    Json(body): Json<EnrolBody>,
) -> Result<Json<Value>, GatewayError> {
    let account = crate::consent::parse_account(&body.account)?;
    Ok(Json(json!(gateway.sponsor(account).await?)))
}

/// Imports the Bundle in the body, answering one JSON line per progress
/// step and a last line `{"result": report}` or `{"error", "message"}`.
async fn import(State(gateway): State<Arc<Gateway>>, body: Bytes) -> Response {
    import_stream(gateway, body)
}

/// Imports `body` in the background, answering its progress as NDJSON
/// lines, the last one `{"result": report}` or `{"error", "message"}`.
pub fn import_stream(gateway: Arc<Gateway>, body: Bytes) -> Response {
    let (lines, receiver) = tokio::sync::mpsc::unbounded_channel::<String>();
    let progress_lines = lines.clone();
    let progress: ProgressSink = Arc::new(move |progress: Progress| {
        let _ = progress_lines.send(format!("{}\n", json!({"progress": progress})));
    });
    // The import runs to its end even if the client goes away.
    tokio::spawn(async move {
        let last = match gateway.import_bundle(&body, progress).await {
            Ok(report) => json!({"result": report}),
            Err(error) => json!({"error": error.code(), "message": error.to_string()}),
        };
        let _ = lines.send(format!("{last}\n"));
    });
    let stream = tokio_stream_of(receiver);
    (
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn tokio_stream_of(
    mut receiver: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> impl futures::Stream<Item = Result<String, std::convert::Infallible>> {
    futures::stream::poll_fn(move |context| receiver.poll_recv(context).map(|line| line.map(Ok)))
}

#[derive(Deserialize)]
struct RecordsQuery {
    #[serde(rename = "type")]
    resource_type: Option<String>,
}

async fn records(
    State(gateway): State<Arc<Gateway>>,
    Query(query): Query<RecordsQuery>,
) -> Result<Json<Value>, GatewayError> {
    gateway.keyring.identity()?;
    let records = gateway
        .index
        .own_records(query.resource_type.as_deref())
        .await?;
    let listed: Vec<Value> = records
        .iter()
        .map(|record| {
            json!({
                "resource_type": record.resource_type,
                "id": record.resource_id,
                "category": record.category,
                "version": record.version,
                "content_id": hex::encode(record.content_id),
                "size": record.size,
            })
        })
        .collect();
    Ok(Json(json!({"records": listed})))
}

#[derive(Deserialize)]
struct RequestBody {
    patient: String,
    #[serde(default)]
    categories: Vec<String>,
    purpose: Option<String>,
    #[serde(default)]
    justification: String,
    /// Also ask to add records.
    #[serde(default)]
    write: bool,
}

async fn request_access(
    State(gateway): State<Arc<Gateway>>,
    Json(body): Json<RequestBody>,
) -> Result<Json<Value>, GatewayError> {
    let patient = parse_account(&body.patient)?;
    let categories = parse_categories(&body.categories)?;
    let purpose = body
        .purpose
        .unwrap_or_else(|| gateway.default_purpose.clone());
    let request = gateway
        .request_access(
            patient,
            &categories,
            &purpose,
            &body.justification,
            body.write,
        )
        .await?;
    Ok(Json(json!({"request": request})))
}

#[derive(Deserialize)]
struct ApproveBody {
    #[serde(default)]
    categories: Vec<String>,
    days: Option<u64>,
}

/// How long a grant lasts unless the patient says otherwise.
const DEFAULT_GRANT_DAYS: u64 = 30;

async fn approve(
    State(gateway): State<Arc<Gateway>>,
    Path(request): Path<u64>,
    Json(body): Json<ApproveBody>,
) -> Result<Json<Value>, GatewayError> {
    let categories = parse_categories(&body.categories)?;
    let days = body.days.unwrap_or(DEFAULT_GRANT_DAYS);
    if days == 0 || days > 3650 {
        return Err(GatewayError::BadRequest {
            what: format!("a validity of {days} days"),
            expected: "between 1 and 3650 days".into(),
        });
    }
    let (grant, shared) = gateway
        .approve_request(request, &categories, days * 86_400_000)
        .await?;
    Ok(Json(
        json!({"request": request, "grant": grant, "shared": shared}),
    ))
}

async fn deny(
    State(gateway): State<Arc<Gateway>>,
    Path(request): Path<u64>,
) -> Result<Json<Value>, GatewayError> {
    gateway.deny_request(request).await?;
    Ok(Json(json!({"request": request, "denied": true})))
}

async fn withdraw(
    State(gateway): State<Arc<Gateway>>,
    Path(request): Path<u64>,
) -> Result<Json<Value>, GatewayError> {
    gateway.withdraw_request(request).await?;
    Ok(Json(json!({"request": request, "withdrawn": true})))
}

async fn revoke(
    State(gateway): State<Arc<Gateway>>,
    Path(grant): Path<u64>,
) -> Result<Json<Value>, GatewayError> {
    gateway.revoke_grant(grant).await?;
    Ok(Json(json!({
        "grant": grant,
        "revoked": true,
        "note": "vaults refuse this grant's reads from now on; what was already read cannot be recalled"
    })))
}

async fn access(State(gateway): State<Arc<Gateway>>) -> Result<Json<Value>, GatewayError> {
    gateway.sync_index().await?;
    Ok(Json(
        serde_json::to_value(gateway.access_view().await?).expect("serializes"),
    ))
}

async fn audit(State(gateway): State<Arc<Gateway>>) -> Result<Json<Value>, GatewayError> {
    gateway.sync_index().await?;
    Ok(Json(json!({"accesses": gateway.audit_trail().await?})))
}

async fn emergency_status(
    State(gateway): State<Arc<Gateway>>,
) -> Result<Json<Value>, GatewayError> {
    gateway.sync_index().await?;
    Ok(Json(
        serde_json::to_value(gateway.emergency_status().await?).expect("serializes"),
    ))
}

async fn emergency_policy(
    State(gateway): State<Arc<Gateway>>,
    Json(settings): Json<crate::emergency::EmergencySettings>,
) -> Result<Json<Value>, GatewayError> {
    Ok(Json(
        serde_json::to_value(gateway.set_emergency_policy(&settings).await?).expect("serializes"),
    ))
}

async fn emergency_prepare(
    State(gateway): State<Arc<Gateway>>,
) -> Result<Json<Value>, GatewayError> {
    let remade = gateway.prepare_emergency(true).await?;
    Ok(Json(json!({"remade": remade})))
}

async fn emergency_card(State(gateway): State<Arc<Gateway>>) -> Result<Json<Value>, GatewayError> {
    let card = gateway.emergency_card().await?;
    Ok(Json(json!({"card": card.text().as_str()})))
}

#[derive(Deserialize)]
struct BreakGlassBody {
    #[serde(default)]
    patient: String,
    #[serde(default)]
    card: String,
    purpose: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn break_glass(
    State(gateway): State<Arc<Gateway>>,
    Json(body): Json<BreakGlassBody>,
) -> Result<Json<Value>, GatewayError> {
    let patient = parse_account(&body.patient)?;
    let purpose = body.purpose.unwrap_or_else(|| "ETREAT".into());
    let read = gateway.break_glass(patient, &purpose, &body.reason).await?;
    Ok(Json(serde_json::to_value(read).expect("serializes")))
}

async fn card_read(
    State(gateway): State<Arc<Gateway>>,
    Json(body): Json<BreakGlassBody>,
) -> Result<Json<Value>, GatewayError> {
    let purpose = body.purpose.unwrap_or_else(|| "ETREAT".into());
    let read = gateway
        .break_glass_with_card(&body.card, &purpose, &body.reason)
        .await?;
    Ok(Json(serde_json::to_value(read).expect("serializes")))
}

#[derive(Deserialize)]
struct ReviewBody {
    review: String,
}

async fn review(
    State(gateway): State<Arc<Gateway>>,
    Path(id): Path<u64>,
    Json(body): Json<ReviewBody>,
) -> Result<Json<Value>, GatewayError> {
    gateway.review_break_glass(id, &body.review).await?;
    Ok(Json(json!({"break_glass": id, "review": body.review})))
}

async fn veto(
    State(gateway): State<Arc<Gateway>>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, GatewayError> {
    gateway.veto_break_glass(id).await?;
    Ok(Json(json!({"break_glass": id, "full_access": "vetoed"})))
}

async fn new_emergency_key(
    State(gateway): State<Arc<Gateway>>,
) -> Result<Json<Value>, GatewayError> {
    let generation = gateway.new_emergency_key().await?;
    Ok(Json(json!({"generation": generation})))
}
