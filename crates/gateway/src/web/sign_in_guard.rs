//! What stands before the web app's sign-in, where anyone who reaches the
//! gateway may try passphrases: attempts are throttled per client address
//! and for the gateway as a whole (it holds one account's keystore, so the
//! whole is the account), the form is read only up to a small size, and one
//! passphrase is tried at a time (each try is an Argon2 run, made costly on
//! purpose).

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use governor::{
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use maud::html;

/// The largest sign-in form read, in bytes: a passphrase and where to go
/// next.
pub const SIGN_IN_BODY_LIMIT: usize = 4 << 10;

/// Sign-in attempts one client address may make at once, then one every
/// [`CLIENT_PERIOD`].
const CLIENT_BURST: u32 = 5;
/// How often a client address regains one attempt.
const CLIENT_PERIOD: Duration = Duration::from_secs(12);
/// Sign-in attempts from all clients together at once, then one every
/// [`OVERALL_PERIOD`].
const OVERALL_BURST: u32 = 20;
/// How often the gateway as a whole regains one attempt.
const OVERALL_PERIOD: Duration = Duration::from_secs(3);
/// Client addresses remembered before the idle ones are forgotten.
const CLIENTS_KEPT: usize = 10_000;

/// The throttles and the one-at-a-time rule of the sign-in.
pub struct SignInGuard {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    overall: DefaultDirectRateLimiter,
    clock: DefaultClock,
    unlocking: tokio::sync::Semaphore,
}

impl Default for SignInGuard {
    fn default() -> Self {
        let quota = |burst: u32, period: Duration| {
            Quota::with_period(period)
                .expect("the period is not zero")
                .allow_burst(NonZeroU32::new(burst).expect("the burst is not zero"))
        };
        Self {
            per_client: RateLimiter::keyed(quota(CLIENT_BURST, CLIENT_PERIOD)),
            overall: RateLimiter::direct(quota(OVERALL_BURST, OVERALL_PERIOD)),
            clock: DefaultClock::default(),
            unlocking: tokio::sync::Semaphore::new(1),
        }
    }
}

impl SignInGuard {
    /// Counts one attempt from `client`; `Err` holds how long until the
    /// next is allowed when it is one too many (for the client, or for the
    /// gateway as a whole).
    pub fn admit(&self, client: IpAddr) -> Result<(), Duration> {
        if self.per_client.len() > CLIENTS_KEPT {
            self.per_client.retain_recent();
        }
        let now = self.clock.now();
        self.per_client
            .check_key(&client)
            .map_err(|refused| refused.wait_time_from(now))?;
        self.overall
            .check()
            .map_err(|refused| refused.wait_time_from(now))
    }
}

/// Throttles posted sign-ins and tries their passphrases one at a time;
/// other requests pass.
pub async fn guard_sign_in(
    State(guard): State<Arc<SignInGuard>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if let Err(wait) = guard.admit(client) {
        tracing::warn!(%client, "sign-in attempts throttled");
        return too_many(wait);
    }
    // A form announced larger than a sign-in form is refused before any of
    // it is read (one sent without a length is cut off at the limit).
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > SIGN_IN_BODY_LIMIT as u64) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "a sign-in form is a passphrase: at most 4 KiB",
        )
            .into_response();
    }
    let _one_at_a_time = guard
        .unlocking
        .acquire()
        .await
        .expect("the semaphore is never closed");
    next.run(request).await
}

/// 429 with `Retry-After`, and a page that says when to try again.
fn too_many(wait: Duration) -> Response {
    let seconds = wait.as_secs() + 1;
    let page = super::layout::bare(
        "Too many sign-in attempts",
        html! {
            p { "Too many sign-in attempts. Wait " (seconds) " seconds, then try again." }
            p { a href="/app/login" { "Back to sign-in" } }
        },
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(page.into_string())).into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&seconds.to_string()).expect("digits are a header value"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_still_get_theirs() {
        let guard = SignInGuard::default();
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..CLIENT_BURST {
            guard.admit(attacker).unwrap();
        }
        let wait = guard.admit(attacker).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= CLIENT_PERIOD, "{wait:?}");
        guard.admit("198.51.100.1".parse().unwrap()).unwrap();
    }

    #[test]
    fn many_clients_together_hit_the_gateways_own_limit() {
        let guard = SignInGuard::default();
        let refused = (0..=OVERALL_BURST)
            .map(|n| guard.admit(IpAddr::V4(Ipv4Addr::new(10, 0, (n / 256) as u8, n as u8))))
            .filter(Result::is_err)
            .count();
        assert_eq!(refused, 1);
    }
}
