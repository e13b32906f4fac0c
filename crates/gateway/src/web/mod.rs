//! The web app each gateway serves its user at `/app`: HTML rendered by the
//! gateway (keys and plaintext never leave it; the browser gets pages), one
//! style sheet and one small script, no request to any other site.
//!
//! - [`session`]: sign-in with the keystore's passphrase, cookies, CSRF;
//! - [`layout`]: the page frame and navigation;
//! - [`readable`]: FHIR resources as people read them;
//! - [`patient`]: the timeline, a record, uploads, access, the audit trail,
//!   the patient's card;
//! - [`clinician`]: finding a patient, asking for access, reading what was
//!   shared, the grants held;
//! - [`emergency`]: emergency settings, the emergency card and the review
//!   queue for patients; breaking the glass for responders;
//! - [`qr`]: QR codes shown and read;
//! - [`hosts`]: the host names the app answers to;
//! - [`sign_in_guard`]: throttled, one-at-a-time sign-in.

pub mod clinician;
pub mod emergency;
pub mod hosts;
pub mod layout;
pub mod patient;
pub mod qr;
pub mod readable;
pub mod session;
pub mod sign_in_guard;

use std::sync::Arc;

use axum::{
    Form, Router,
    extract::{DefaultBodyLimit, Query, Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::html;
use serde::Deserialize;
use tower_sessions::Session;

use crate::{Gateway, error::GatewayError};

/// Why a page could not be shown, in words for the person using it.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A gateway operation failed.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// A form came without this session's token (another site, or a page
    /// older than the session).
    #[error("this form is out of date or came from another site: reload the page and try again")]
    Csrf,
    /// The session store failed.
    #[error("your session could not be kept: sign in again")]
    Session,
    /// A form field is missing or malformed.
    #[error("{0}")]
    BadInput(String),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::Gateway(error) => error.status(),
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::Session => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::BadInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The failure in plain language.
    pub fn plain(&self) -> String {
        match self {
            WebError::Gateway(GatewayError::Locked) => {
                "The keystore is locked. Sign in again with your passphrase.".into()
            }
            WebError::Gateway(GatewayError::NotRegistered(account)) => {
                format!("The account {account} is not registered on the MediGate chain.")
            }
            WebError::Gateway(GatewayError::Denied(reason)) => {
                format!("The patient's consent does not allow this. The chain's answer: {reason}.")
            }
            WebError::Gateway(GatewayError::Fhir(error)) => {
                format!("This is not valid FHIR R4: {error}.")
            }
            WebError::Gateway(GatewayError::TooLarge(limit)) => format!(
                "The file is too large: this gateway accepts up to {} MiB.",
                limit >> 20
            ),
            other => sentence(&other.to_string()),
        }
    }
}

/// `text` as a sentence: a capital first letter, a full stop at the end.
pub fn sentence(text: &str) -> String {
    let mut characters = text.chars();
    let Some(first) = characters.next() else {
        return String::new();
    };
    let mut sentence: String = first.to_uppercase().chain(characters).collect();
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = layout::bare(
            "Something went wrong",
            html! {
                p.error role="alert" { (self.plain()) }
                p { a href="/app" { "Back to the start page" } }
            },
        );
        (self.status(), Html(body.into_string())).into_response()
    }
}

/// The style sheet.
const CSS: &str = include_str!("assets/app.css");
/// The script: upload progress, confirmations.
const JS: &str = include_str!("assets/app.js");

/// How long browsers keep the style sheet and the script (they hold no
/// health data and change only with the gateway).
const ASSET_CACHE: &str = "public, max-age=3600";

async fn css() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (header::CACHE_CONTROL, ASSET_CACHE),
    ];
    (headers, CSS).into_response()
}

async fn js() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, ASSET_CACHE),
    ];
    (headers, JS).into_response()
}

/// Headers every page carries: nothing loads from elsewhere, nothing frames
/// it, nothing but the style sheet and script is cached (pages hold health
/// data).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // No other site's window keeps a handle on the app's, and no other
    // site may embed what it serves.
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Refuses a form posted from a page of another origin (the browser says
/// where a POST comes from in `Origin`; the pages' `Referrer-Policy:
/// same-origin` keeps it from being `null` for the app's own forms).
async fn same_origin(request: Request, next: Next) -> Response {
    if request.method() == Method::POST {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|value| value.to_str().ok());
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok());
        if let (Some(host), Some(origin)) = (host, origin) {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            if origin_host != Some(host) {
                return WebError::Csrf.into_response();
            }
        }
    }
    next.run(request).await
}

/// The largest form body the app reads, in bytes (uploads and forms with a
/// photo excepted).
pub const FORM_BODY_LIMIT: usize = 64 << 10;

/// How the app is served.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Minutes without a request after which a session ends.
    pub idle_minutes: u64,
    /// The host names the app answers to.
    pub hosts: hosts::WebHosts,
    /// The largest upload (a Bundle or a document), in bytes.
    pub max_upload: usize,
}

/// The app's routes.
pub fn router(settings: WebSettings) -> Router<Arc<Gateway>> {
    let sign_in = Arc::new(sign_in_guard::SignInGuard::default());
    let secure_cookies = settings.hosts.secure();
    Router::new()
        .route("/app", get(patient::timeline))
        .route(
            "/app/login",
            get(login_form)
                .post(login)
                .layer(DefaultBodyLimit::max(sign_in_guard::SIGN_IN_BODY_LIMIT))
                .layer(middleware::from_fn_with_state(
                    sign_in,
                    sign_in_guard::guard_sign_in,
                )),
        )
        .route("/app/logout", post(logout))
        .route("/app/records/{resource_type}/{id}", get(patient::record))
        .route(
            "/app/records/{resource_type}/{id}/attachment",
            get(patient::attachment),
        )
        .route(
            "/app/upload",
            get(patient::upload_form)
                .post(patient::upload)
                .layer(DefaultBodyLimit::max(settings.max_upload)),
        )
        .route("/app/access", get(patient::access))
        .route("/app/access/requests/{id}/approve", post(patient::approve))
        .route("/app/access/requests/{id}/deny", post(patient::deny))
        .route(
            "/app/access/requests/{id}/withdraw",
            post(clinician::withdraw),
        )
        .route("/app/access/grants/{id}/revoke", post(patient::revoke))
        .route("/app/access/delegates", post(patient::add_delegate))
        .route(
            "/app/access/delegates/{account}/remove",
            post(patient::remove_delegate),
        )
        .route("/app/audit", get(patient::audit))
        .route("/app/audit/{block}/{position}", get(patient::proof))
        .route("/app/card", get(patient::card))
        .route("/app/card/qr.svg", get(patient::qr_code))
        .route(
            "/app/patients",
            get(clinician::patients)
                .post(clinician::find)
                .layer(DefaultBodyLimit::max(qr::PHOTO_FORM_LIMIT)),
        )
        .route("/app/patients/enrol", post(clinician::enrol))
        .route("/app/register", post(patient::register))
        .route("/app/patients/{account}", get(clinician::patient))
        .route("/app/patients/{account}/request", post(clinician::request))
        .route(
            "/app/patients/{account}/records",
            post(clinician::add_record),
        )
        .route(
            "/app/patients/{account}/records/{content_id}",
            get(clinician::record),
        )
        .route("/app/emergency", get(emergency::overview))
        .route("/app/emergency/policy", post(emergency::set_policy))
        .route("/app/emergency/card", get(emergency::card))
        .route("/app/emergency/new-key", post(emergency::new_key))
        .route("/app/emergency/{id}/veto", post(emergency::veto))
        .route(
            "/app/emergency/break-glass",
            post(emergency::break_glass).layer(DefaultBodyLimit::max(qr::PHOTO_FORM_LIMIT)),
        )
        .route(
            "/app/emergency/{id}/review/{verdict}",
            post(emergency::review),
        )
        .route("/app/static/app.css", get(css))
        .route("/app/static/app.js", get(js))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(middleware::from_fn(same_origin))
        .layer(middleware::from_fn(security_headers))
        .layer(session::layer(settings.idle_minutes, secure_cookies))
        .layer(middleware::from_fn_with_state(
            Arc::new(settings.hosts),
            hosts::require_own_host,
        ))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(Query(query): Query<NextQuery>) -> Html<String> {
    Html(layout::login(session::safe_next(query.next.as_deref()), None).into_string())
}

#[derive(Deserialize)]
struct LoginForm {
    passphrase: String,
    next: Option<String>,
}

async fn login(
    State(gateway): State<Arc<Gateway>>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let next = session::safe_next(form.next.as_deref()).to_string();
    let identity = match gateway.unlock(form.passphrase).await {
        Ok(identity) => identity,
        Err(GatewayError::WrongPassphrase(_)) => {
            let page = layout::login(
                &next,
                Some("That passphrase does not open this gateway's keystore."),
            );
            return Ok((StatusCode::UNAUTHORIZED, Html(page.into_string())).into_response());
        }
        Err(error) => return Err(error.into()),
    };
    let account = medigate_chain_client::account_id(&identity.signing_keypair());
    let mut clinician = false;
    for role in [
        medigate_chain_client::medigate::runtime_types::medigate_access_policy::terms::Role::Provider,
        medigate_chain_client::medigate::runtime_types::medigate_access_policy::terms::Role::Organization,
    ] {
        clinician |= medigate_chain_client::holds_role(&gateway.reads, &account, role)
            .await
            .map_err(GatewayError::from)?;
    }
    session::sign_in(&session, account.0, clinician).await?;
    Ok(Redirect::to(&next).into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(user: session::SignedIn, Form(form): Form<CsrfForm>) -> Result<Response, WebError> {
    user.check(&form.csrf)?;
    session::sign_out(&user.session).await?;
    Ok(Redirect::to("/app/login").into_response())
}
