//! Running a gateway: open the index, connect to the chain and the vault,
//! unlock if a passphrase was given, serve until Ctrl-C.

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use medigate_chain_client::{AccessChecker, connect, connect_http};
use parking_lot::Mutex;
use rand_core::{OsRng, RngCore};
use tower_http::catch_panic::CatchPanicLayer;

use crate::{
    Gateway, GatewayConfig, api, error::GatewayError, fhir_api, index::Index, keyring::Keyring,
    vault_client::VaultClient, web,
};

/// Reads the API token at `path`, making one (owner-only) if there is none.
pub fn api_token(path: &Path) -> Result<String, GatewayError> {
    if let Ok(token) = std::fs::read_to_string(path) {
        return Ok(token.trim().to_string());
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let io = |error: std::io::Error| GatewayError::Keystore(format!("{}: {error}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path).map_err(io)?, token.as_bytes())
        .map_err(io)?;
    Ok(token)
}

/// Whether `presented` is `secret`, compared in constant time (a token or
/// CSRF token is a secret: timing must not tell how much of it matched).
pub fn same_secret(presented: &str, secret: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), secret.as_bytes()).into()
}

async fn require_token(State(token): State<Arc<String>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if presented.is_some_and(|presented| same_secret(presented, &token)) {
        next.run(request).await
    } else if request.uri().path().starts_with("/fhir") {
        crate::error::FhirFailure(GatewayError::Unauthorized).into_response()
    } else {
        GatewayError::Unauthorized.into_response()
    }
}

/// The gateway's whole HTTP interface: `/fhir` and `/api` (API token),
/// `/app` (web sessions), `/health`.
pub fn router(
    gateway: Arc<Gateway>,
    token: String,
    max_body: usize,
    web: web::WebSettings,
) -> Router {
    let protected = fhir_api::router()
        .merge(api::router())
        .layer(middleware::from_fn_with_state(
            Arc::new(token),
            require_token,
        ));
    Router::new()
        .route("/health", get(api::health))
        .route("/", get(|| async { Redirect::to("/app") }))
        .merge(protected)
        .merge(web::router(web))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_answer(
            gateway.panics.clone(),
        )))
        .with_state(gateway)
}

/// The answer to a request whose handler panicked: a 500 with the API's
/// error body, counted in `panics`, and the gateway goes on serving.
fn panic_answer(
    panics: Arc<AtomicU64>,
) -> impl Fn(Box<dyn std::any::Any + Send + 'static>) -> Response + Clone {
    move |_| {
        panics.fetch_add(1, Ordering::Relaxed);
        tracing::error!("a request's handler panicked; it was answered 500");
        let body = serde_json::json!({
            "error": "internal_error",
            "message": "the gateway failed on this request; other requests are served",
        });
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
}

/// Builds a gateway from `config`: connects to the chain, opens the index.
pub async fn build(config: &GatewayConfig) -> Result<Arc<Gateway>, GatewayError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|error| {
        GatewayError::Keystore(format!("{}: {error}", config.data_dir.display()))
    })?;
    if !config.keystore.exists() {
        return Err(GatewayError::Keystore(format!(
            "{} does not exist: make one with `medigate keys new`",
            config.keystore.display()
        )));
    }
    let unreachable =
        |error: medigate_chain_client::ConnectError| GatewayError::Chain(error.to_string());
    let chain = connect(&config.node).await.map_err(unreachable)?;
    let reads = connect_http(&config.node_http_url())
        .await
        .map_err(unreachable)?;
    let checker = AccessChecker::new(&config.node_http_url())
        .map_err(|error| GatewayError::Chain(error.to_string()))?;
    crate::chain::purpose_from_code(&config.purpose)?;
    let (granted, granted_receiver) = tokio::sync::mpsc::unbounded_channel();
    Ok(Arc::new(Gateway {
        keyring: Keyring::locked(&config.keystore),
        chain,
        reads,
        checker,
        vault: VaultClient::new(&config.vault),
        index: Index::open(&config.database_url()).await?,
        default_purpose: config.purpose.clone(),
        import_lock: tokio::sync::Mutex::new(()),
        anchors: Mutex::default(),
        seen: Mutex::default(),
        follower: Mutex::new(None),
        granted,
        granted_receiver: Mutex::new(Some(granted_receiver)),
        sharing_lock: tokio::sync::Mutex::new(()),
        left_out: Mutex::default(),
        collect_lock: tokio::sync::Mutex::default(),
        written_for: Mutex::default(),
        written_news: tokio::sync::Notify::new(),
        custodians: config
            .custodians
            .iter()
            .map(|url| url.trim_end_matches('/').to_string())
            .filter(|url| !url.is_empty())
            .collect(),
        custodian_ids: Mutex::default(),
        custodian_client: crate::custodian_client::CustodianClient::new(),
        webhook: config.webhook.clone(),
        webhook_client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("an HTTP client builds"),
        emergency_lock: tokio::sync::Mutex::new(()),
        emergency_refresh: tokio::sync::Notify::new(),
        signing: tokio::sync::Mutex::new(()),
        panics: Arc::default(),
    }))
}

/// Runs a gateway until Ctrl-C or SIGTERM.
pub async fn serve(config: GatewayConfig) -> Result<(), GatewayError> {
    let gateway = build(&config).await?;
    if let Some(passphrase) = &config.passphrase {
        gateway.unlock(passphrase.clone()).await?;
    }
    let token = api_token(&config.token_path())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| GatewayError::BadRequest {
            what: format!("the listen address {}", config.listen),
            expected: format!("a free local address ({error})"),
        })?;
    let address: SocketAddr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let hosts = web::hosts::WebHosts::new(address, &config.web_origins)?;
    println!(
        "medigate gateway {} listening on http://{address} (web app at http://{address}/app, FHIR at http://{address}/fhir; API token in {})",
        env!("CARGO_PKG_VERSION"),
        config.token_path().display()
    );
    let web = web::WebSettings {
        idle_minutes: config.web_idle_minutes,
        hosts,
        max_upload: config.max_bundle_bytes,
    };
    let app = router(gateway, token, config.max_bundle_bytes, web);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .map_err(|error| GatewayError::Vault(format!("serving failed: {error}")))?;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown() {
    let terminate = async {
        #[cfg(unix)]
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
