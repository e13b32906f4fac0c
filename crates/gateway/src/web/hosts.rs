//! The names the web app answers to. A page of another site that gets its
//! own host name pointed at the gateway (DNS rebinding) would otherwise count
//! as the app's own origin: its requests would carry `Host: evil.example`
//! and a matching `Origin`. Every request to the app must name one of the
//! gateway's own hosts: its listen address (and, on loopback, `localhost`)
//! and the origins it is configured to be reached at.

use std::net::SocketAddr;

use axum::{
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use maud::html;

use crate::error::GatewayError;

/// The hosts (`name[:port]`, lower case) the web app answers to, and
/// whether it is reached over HTTPS (its cookies are then marked secure).
#[derive(Clone, Debug)]
pub struct WebHosts {
    hosts: Vec<String>,
    secure: bool,
}

impl WebHosts {
    /// The hosts of a gateway listening on `listen` and reached at
    /// `origins` too (`http://name[:port]` or `https://name[:port]`, as a
    /// browser writes an origin: no path). A gateway listening on every
    /// interface answers on loopback by itself; any other name it is
    /// reached by must be among `origins`.
    pub fn new(listen: SocketAddr, origins: &[String]) -> Result<Self, GatewayError> {
        let port = listen.port();
        let mut hosts = Vec::new();
        let ip = listen.ip();
        if ip.is_loopback() || ip.is_unspecified() {
            hosts.extend([
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
            ]);
        }
        if !ip.is_unspecified() {
            hosts.push(listen.to_string());
        }
        let mut secure = false;
        for origin in origins.iter().map(|origin| origin.trim()) {
            if origin.is_empty() {
                continue;
            }
            let (host, https) = origin_host(origin)?;
            secure |= https;
            let default_port = if https { ":443" } else { ":80" };
            // A browser leaves the default port out of `Host`; a client may
            // write it.
            match host.strip_suffix(default_port) {
                Some(bare) => hosts.extend([bare.to_string(), host.clone()]),
                None => hosts.extend([host.clone(), format!("{host}{default_port}")]),
            }
        }
        hosts.sort();
        hosts.dedup();
        Ok(Self { hosts, secure })
    }

    /// Whether a request naming `host` (its `Host` header) is for this app.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.iter().any(|allowed| *allowed == host)
    }

    /// Whether the app is reached over HTTPS somewhere.
    pub fn secure(&self) -> bool {
        self.secure
    }
}

/// The `host[:port]` of `origin`, lower case, and whether it is HTTPS.
fn origin_host(origin: &str) -> Result<(String, bool), GatewayError> {
    let malformed = || {
        GatewayError::BadRequest {
        what: format!("the web origin {origin:?}"),
        expected: "an origin as a browser writes it: http:// or https://, a host name and an optional port, no path (e.g. https://phr.example.org)".into(),
    }
    };
    let lower = origin.to_ascii_lowercase();
    let (rest, https) = if let Some(rest) = lower.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err(malformed());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let plain = |c: char| c.is_ascii_alphanumeric() || "-.:[]".contains(c);
    if rest.is_empty() || !rest.chars().all(plain) || rest.starts_with(':') {
        return Err(malformed());
    }
    Ok((rest.to_string(), https))
}

/// Refuses a request to the app whose `Host` is not one of `hosts`, with
/// 421 (the request reached a server that does not serve that name).
pub async fn require_own_host(
    State(hosts): State<std::sync::Arc<WebHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let named = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    match named {
        Some(host) if hosts.allows(host) => next.run(request).await,
        _ => {
            let page = super::layout::bare(
                "Not this gateway",
                html! {
                    p { "This gateway's web app is not served under the name this page was asked for. "
                        "Open it at the address the gateway was started with." }
                },
            );
            (StatusCode::MISDIRECTED_REQUEST, Html(page.into_string())).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_gateway_answers_to_its_own_names_only() {
        let hosts = WebHosts::new("127.0.0.1:7070".parse().unwrap(), &[]).unwrap();
        for own in [
            "127.0.0.1:7070",
            "localhost:7070",
            "LOCALHOST:7070",
            "[::1]:7070",
        ] {
            assert!(hosts.allows(own), "{own}");
        }
        for other in [
            "evil.example",
            "evil.example:7070",
            "127.0.0.1:7071",
            "localhost",
            "",
        ] {
            assert!(!hosts.allows(other), "{other}");
        }
        assert!(!hosts.secure());
    }

    #[test]
    fn configured_origins_are_answered_with_or_without_their_default_port() {
        let hosts = WebHosts::new(
            "0.0.0.0:7070".parse().unwrap(),
            &[
                "https://PHR.example.org".into(),
                "http://10.0.0.5:7070/".into(),
            ],
        )
        .unwrap();
        for own in [
            "phr.example.org",
            "phr.example.org:443",
            "10.0.0.5:7070",
            "localhost:7070",
        ] {
            assert!(hosts.allows(own), "{own}");
        }
        assert!(!hosts.allows("0.0.0.0:7070"));
        assert!(!hosts.allows("phr.example.org:80"));
        assert!(hosts.secure());
    }

    #[test]
    fn malformed_origins_are_refused_in_words() {
        for bad in [
            "phr.example.org",
            "ftp://phr.example.org",
            "https://",
            "https://phr.example.org/app",
            "https://user@phr.example.org",
            "https://:443",
        ] {
            let error = WebHosts::new("127.0.0.1:1".parse().unwrap(), &[bad.into()]).unwrap_err();
            assert!(
                matches!(error, GatewayError::BadRequest { .. }),
                "{bad}: {error}"
            );
        }
    }
}
