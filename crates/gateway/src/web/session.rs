//! Web sessions: opened by the keystore's passphrase, kept in an HttpOnly,
//! SameSite=Strict cookie that ends after a while idle, and a CSRF token
//! that every form sends back.

use std::sync::Arc;

use axum::{
    extract::{FromRequestParts, OriginalUri},
    http::request::Parts,
    response::{IntoResponse, Redirect, Response},
};
use medigate_crypto::keys::Identity;
use rand_core::{OsRng, RngCore};
use tower_sessions::{
    Expiry, MemoryStore, Session, SessionManagerLayer,
    cookie::{SameSite, time::Duration},
};

use crate::{Gateway, web::WebError};

/// The session cookie's name.
pub const COOKIE: &str = "medigate_session";
/// Where the signed-in account is kept in the session.
const ACCOUNT: &str = "account";
/// Where the session's CSRF token is kept.
const CSRF: &str = "csrf";
/// Where whether the user is an attested clinician is kept.
const CLINICIAN: &str = "clinician";

/// The session layer: sessions in memory (a restart signs everyone out),
/// cookies scoped to `/app`, ended after `idle_minutes` without a request,
/// sent over HTTPS only when `secure` (the app is reached over HTTPS; a
/// browser keeps such cookies for `http://localhost` too).
pub fn layer(idle_minutes: u64, secure: bool) -> SessionManagerLayer<MemoryStore> {
    SessionManagerLayer::new(MemoryStore::default())
        .with_name(COOKIE)
        .with_path("/app")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(Duration::minutes(idle_minutes as i64)))
}

/// A fresh CSRF token.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Opens a signed-in session for `account` (a new session id, so that an
/// id planted before sign-in is worth nothing).
pub async fn sign_in(
    session: &Session,
    account: [u8; 32],
    clinician: bool,
) -> Result<(), WebError> {
    let failed = |_| WebError::Session;
    session.cycle_id().await.map_err(failed)?;
    session
        .insert(ACCOUNT, hex::encode(account))
        .await
        .map_err(failed)?;
    session.insert(CSRF, new_token()).await.map_err(failed)?;
    session.insert(CLINICIAN, clinician).await.map_err(failed)?;
    Ok(())
}

/// Ends the session.
pub async fn sign_out(session: &Session) -> Result<(), WebError> {
    session.flush().await.map_err(|_| WebError::Session)
}

/// A request from a signed-in user whose keystore is unlocked.
pub struct SignedIn {
    /// The user's keys.
    pub identity: Arc<Identity>,
    /// The user's account.
    pub account: [u8; 32],
    /// The session's CSRF token, for the forms a page shows.
    pub csrf: String,
    /// Whether the user is an attested clinician or organization.
    pub clinician: bool,
    /// The session.
    pub session: Session,
}

impl SignedIn {
    /// Fails unless `presented` is the session's CSRF token.
    pub fn check(&self, presented: &str) -> Result<(), WebError> {
        if crate::server::same_secret(presented, &self.csrf) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

impl FromRequestParts<Arc<Gateway>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        gateway: &Arc<Gateway>,
    ) -> Result<Self, Self::Rejection> {
        let to_sign_in = |parts: &Parts| {
            let here = parts
                .extensions
                .get::<OriginalUri>()
                .map(|uri| uri.0.to_string())
                .unwrap_or_else(|| parts.uri.to_string());
            let next: String = url_escape(&here);
            Redirect::to(&format!("/app/login?next={next}")).into_response()
        };
        let session = Session::from_request_parts(parts, gateway)
            .await
            .map_err(IntoResponse::into_response)?;
        let account: Option<String> = session.get(ACCOUNT).await.ok().flatten();
        let csrf: Option<String> = session.get(CSRF).await.ok().flatten();
        let clinician: bool = session.get(CLINICIAN).await.ok().flatten().unwrap_or(false);
        // A keystore locked since sign-in (`medigate lock`) ends the session.
        let Ok(identity) = gateway.keyring.identity() else {
            return Err(to_sign_in(parts));
        };
        let me = identity.signing_keypair().public_key().0;
        match (account, csrf) {
            (Some(account), Some(csrf)) if account == hex::encode(me) => Ok(SignedIn {
                identity,
                account: me,
                csrf,
                clinician,
                session,
            }),
            _ => Err(to_sign_in(parts)),
        }
    }
}

/// What a path keeps unescaped in a query value: unreserved characters and
/// slashes.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// `text` percent-escaped for a query value (slashes kept).
pub fn url_escape(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// Where to go after signing in: a path inside the app, never elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with("/app") && !next.starts_with("//") => next,
        _ => "/app",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_only_returns_inside_the_app() {
        assert_eq!(safe_next(Some("/app/access")), "/app/access");
        assert_eq!(safe_next(Some("https://elsewhere.example/")), "/app");
        assert_eq!(safe_next(Some("//elsewhere.example/app")), "/app");
        assert_eq!(safe_next(None), "/app");
    }

    #[test]
    fn escaped_paths_keep_their_slashes() {
        assert_eq!(url_escape("/app/x?a=b c"), "/app/x%3Fa%3Db%20c");
    }
}
