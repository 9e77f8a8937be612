//! Only this machine drives the local stack. The listeners of `make dev` that we own — this
//! sandbox and the devkit gateway (which serves the playground) — put [`LocalOnly`] in
//! front of every path, so that a web page open in the developer's browser can neither
//! rebind its own DNS name to 127.0.0.1 and then read or drive them as its own origin (the
//! `Host` check), nor send them a cross-site request that changes something (the `Origin`
//! and `Sec-Fetch-Site` checks; and, for the sandbox, JSON-only bodies: a cross-site form or
//! a `text/plain` fetch cannot label its body `application/json` without a CORS preflight,
//! which nothing here answers).
//!
//! - `Host` must name this machine — `localhost`, `127.0.0.1` or `[::1]`, any port — or a
//!   name added with [`LocalOnly::with_host`] or `DEV_ALLOWED_HOSTS`; anything else is 421
//!   `host_not_allowed`, whatever the method.
//! - A request that may change something (any method but `GET`, `HEAD` and `OPTIONS`) that
//!   carries an `Origin` must come from a page of this machine (`http://` or `https://`
//!   `localhost`, `127.0.0.1` or `[::1]`, any port), from WeChat's mini-program pages
//!   (`https://servicewechat.com`) or from an origin of `DEV_ALLOWED_ORIGINS`; anything else,
//!   `null` included, is 403 `origin_not_allowed`. Without an `Origin`, `Sec-Fetch-Site:
//!   cross-site` is 403 `cross_site`. Clients that send neither (curl, the functions, Node,
//!   WeChat DevTools' `wx.request`) are not affected.
//! - With [`LocalOnly::json_bodies`] (the sandbox), such a request must be labelled
//!   `content-type: application/json`; anything else is 415 `unsupported_media_type`.
//!
//! Refusals are JSON, `{"error", "message"}`, the message naming the variable that widens
//! the rule. `GET`s are not checked for `Origin`: they change nothing here, and a page of
//! another origin cannot read the answer (no listener here sends CORS headers).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Extra `Host` names to answer, comma-separated (`my-tunnel.example,192.168.1.5`).
pub const ALLOWED_HOSTS_ENV: &str = "DEV_ALLOWED_HOSTS";
/// Extra origins allowed to change things, comma-separated (`https://my-tunnel.example`).
pub const ALLOWED_ORIGINS_ENV: &str = "DEV_ALLOWED_ORIGINS";
/// The names of this machine every listener answers.
const LOCAL_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];
/// The origin of WeChat's mini-program pages (their `Referer` is
/// `https://servicewechat.com/<appid>/…`): no other site can send it.
pub const WECHAT_ORIGIN: &str = "https://servicewechat.com";

/// Who may reach a local listener; see the module's documentation.
#[derive(Clone, Debug, Default)]
pub struct LocalOnly {
    hosts: Vec<String>,
    origins: Vec<String>,
    json_bodies: bool,
}

/// Why a request was refused: its status, code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 421, 403 or 415.
    pub status: StatusCode,
    /// `host_not_allowed`, `origin_not_allowed`, `cross_site` or `unsupported_media_type`.
    pub error: &'static str,
    /// What was refused and how to allow it.
    pub message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": self.error, "message": self.message })),
        )
            .into_response()
    }
}

impl LocalOnly {
    /// This machine's names and origins only (and WeChat's mini-program pages' origin).
    pub fn new() -> Self {
        Self::default()
    }

    /// The same rules widened by `DEV_ALLOWED_HOSTS` and `DEV_ALLOWED_ORIGINS`.
    #[must_use]
    pub fn widened_by_env(self) -> Self {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        self.widened(&var(ALLOWED_HOSTS_ENV), &var(ALLOWED_ORIGINS_ENV))
    }

    /// The same rules plus the comma-separated `hosts` (names, any port) and `origins`.
    #[must_use]
    pub fn widened(self, hosts: &str, origins: &str) -> Self {
        let list = |text: &str| {
            text.split([',', ' '])
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let with_hosts = list(hosts)
            .into_iter()
            .fold(self, |policy, host| policy.with_host(&host));
        list(origins)
            .into_iter()
            .fold(with_hosts, |policy, origin| policy.with_origin(&origin))
    }

    /// The same rules, answering `name` (any port) too: `host.docker.internal`, say.
    #[must_use]
    pub fn with_host(mut self, name: &str) -> Self {
        let name = name.trim().trim_start_matches('[').trim_end_matches(']');
        self.hosts.push(name.to_ascii_lowercase());
        self
    }

    /// The same rules, letting pages of `origin` (`https://dev.example:8443`) change things.
    #[must_use]
    pub fn with_origin(mut self, origin: &str) -> Self {
        self.origins
            .push(origin.trim().trim_end_matches('/').to_ascii_lowercase());
        self
    }

    /// The same rules, with every request that may change something labelled
    /// `application/json`.
    #[must_use]
    pub fn json_bodies(mut self) -> Self {
        self.json_bodies = true;
        self
    }

    /// Whether a request of `method` with `headers` may pass.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = header_text(headers, header::HOST.as_str());
        if !self.host_allowed(host) {
            return Err(Refusal {
                status: StatusCode::MISDIRECTED_REQUEST,
                error: "host_not_allowed",
                message: format!(
                    "this local stack answers only to localhost, 127.0.0.1 and [::1] (any port), not to Host {host:?}: a web page that rebinds its DNS name here must not reach it; to allow another name, set {ALLOWED_HOSTS_ENV}=<name> (comma-separated)"
                ),
            });
        }
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        match headers.get(header::ORIGIN) {
            Some(origin) => {
                let origin = origin.to_str().unwrap_or_default();
                if !self.origin_allowed(origin) {
                    return Err(Refusal {
                        status: StatusCode::FORBIDDEN,
                        error: "origin_not_allowed",
                        message: format!(
                            "a {method} from a page of {origin:?} is refused: only pages of this machine (http://localhost, 127.0.0.1 or [::1], any port) and WeChat's ({WECHAT_ORIGIN}) may change the local stack; to allow another origin, set {ALLOWED_ORIGINS_ENV}=<origin> (comma-separated)"
                        ),
                    });
                }
            }
            None if header_text(headers, "sec-fetch-site").eq_ignore_ascii_case("cross-site") => {
                return Err(Refusal {
                    status: StatusCode::FORBIDDEN,
                    error: "cross_site",
                    message: format!(
                        "a cross-site {method} (Sec-Fetch-Site: cross-site) is refused: a page of another site must not change the local stack; send an Origin listed in {ALLOWED_ORIGINS_ENV} to allow one"
                    ),
                });
            }
            None => {}
        }
        if self.json_bodies && !is_json(header_text(headers, header::CONTENT_TYPE.as_str())) {
            return Err(Refusal {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                error: "unsupported_media_type",
                message: format!(
                    "a {method} here takes a JSON body labelled content-type: application/json (got {:?}): a cross-site form or text/plain request must not reach the sandbox",
                    header_text(headers, header::CONTENT_TYPE.as_str())
                ),
            });
        }
        Ok(())
    }

    /// `router` behind these rules, on every path (its fallback included).
    pub fn protect(self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(Arc::new(self), guard))
    }

    fn host_allowed(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        let name = name.to_ascii_lowercase();
        LOCAL_NAMES.contains(&name.as_str()) || self.hosts.contains(&name)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        if origin == WECHAT_ORIGIN || self.origins.contains(&origin) {
            return true;
        }
        let Some(authority) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        host_name(authority).is_some_and(|name| LOCAL_NAMES.contains(&name))
    }
}

async fn guard(State(policy): State<Arc<LocalOnly>>, request: Request, next: Next) -> Response {
    match policy.check(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(
                method = %request.method(),
                path = request.uri().path(),
                error = refusal.error,
                "refused a request from outside this machine"
            );
            refusal.into_response()
        }
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// The name in `host[:port]` or `[v6][:port]`; `None` when it is not of that shape (a
/// path, user info, an empty name, a port that is not a number).
fn host_name(authority: &str) -> Option<&str> {
    let (name, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (name, rest) = bracketed.split_once(']')?;
            match rest.strip_prefix(':') {
                Some(port) => (name, Some(port)),
                None if rest.is_empty() => (name, None),
                None => return None,
            }
        }
        None => match authority.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        },
    };
    let port_ok =
        port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = !name.is_empty() && !name.contains(['/', '@', '?', '#', ' ']);
    (port_ok && name_ok).then_some(name)
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn refusal(policy: &LocalOnly, method: Method, pairs: &[(&str, &str)]) -> Option<&'static str> {
        policy
            .check(&method, &headers(pairs))
            .err()
            .map(|refusal| refusal.error)
    }

    #[test]
    fn only_this_machines_names_are_answered() {
        let policy = LocalOnly::new();
        for local in [
            "127.0.0.1:9200",
            "localhost:9100",
            "localhost",
            "LOCALHOST:1",
            "[::1]:9200",
            "[::1]",
        ] {
            assert_eq!(
                refusal(&policy, Method::GET, &[("host", local)]),
                None,
                "{local}"
            );
        }
        for foreign in [
            "evil.example:9200",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example:9100",
            "",
            "[::2]:1",
            "[::1]x",
            "localhost:",
            "localhost:9x",
            "user@localhost",
            "host.docker.internal:9100",
            "0.0.0.0:9100",
        ] {
            assert_eq!(
                refusal(&policy, Method::GET, &[("host", foreign)]),
                Some("host_not_allowed"),
                "{foreign}"
            );
        }
        assert_eq!(refusal(&policy, Method::GET, &[]), Some("host_not_allowed"));
    }

    #[test]
    fn more_names_can_be_allowed() {
        let policy = LocalOnly::new()
            .with_host("host.docker.internal")
            .widened("tunnel.example, 192.168.1.5", "");
        for allowed in [
            "host.docker.internal:9100",
            "Tunnel.Example",
            "192.168.1.5:9200",
        ] {
            assert_eq!(
                refusal(&policy, Method::GET, &[("host", allowed)]),
                None,
                "{allowed}"
            );
        }
        assert_eq!(
            refusal(&policy, Method::GET, &[("host", "evil.example")]),
            Some("host_not_allowed")
        );
    }

    #[test]
    fn mutations_from_other_origins_are_refused() {
        let policy = LocalOnly::new();
        let host = ("host", "127.0.0.1:9200");
        for local in [
            "http://127.0.0.1:9200",
            "http://localhost:8080",
            "http://[::1]:3000",
            "http://localhost",
            "https://localhost:8443",
            "https://servicewechat.com",
        ] {
            assert_eq!(
                refusal(&policy, Method::POST, &[host, ("origin", local)]),
                None,
                "{local}"
            );
        }
        for foreign in [
            "http://evil.example",
            "http://evil.example:9200",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example",
            "null",
            "",
            "file://",
            "ftp://localhost",
            "http://localhost/path",
            "https://servicewechat.com.evil.example",
        ] {
            for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
                assert_eq!(
                    refusal(&policy, method.clone(), &[host, ("origin", foreign)]),
                    Some("origin_not_allowed"),
                    "{method} {foreign}"
                );
            }
            for read in [Method::GET, Method::HEAD, Method::OPTIONS] {
                assert_eq!(refusal(&policy, read, &[host, ("origin", foreign)]), None);
            }
        }
    }

    #[test]
    fn cross_site_mutations_without_an_origin_are_refused() {
        let policy = LocalOnly::new();
        let host = ("host", "localhost:9100");
        assert_eq!(
            refusal(
                &policy,
                Method::POST,
                &[host, ("sec-fetch-site", "cross-site")]
            ),
            Some("cross_site")
        );
        for site in ["same-origin", "same-site", "none"] {
            assert_eq!(
                refusal(&policy, Method::POST, &[host, ("sec-fetch-site", site)]),
                None
            );
        }
        assert_eq!(
            refusal(
                &policy,
                Method::GET,
                &[host, ("sec-fetch-site", "cross-site")]
            ),
            None
        );
        // No Origin and no Sec-Fetch-Site: curl, the functions, Node, WeChat DevTools.
        assert_eq!(refusal(&policy, Method::POST, &[host]), None);
    }

    #[test]
    fn a_listed_origin_may_change_things() {
        let policy = LocalOnly::new().widened("", "https://dev.example:8443/");
        let pairs = [
            ("host", "localhost:9200"),
            ("origin", "https://dev.example:8443"),
            ("sec-fetch-site", "cross-site"),
        ];
        assert_eq!(refusal(&policy, Method::POST, &pairs), None);
        assert_eq!(
            refusal(&LocalOnly::new(), Method::POST, &pairs),
            Some("origin_not_allowed")
        );
    }

    #[test]
    fn json_bodies_only_when_asked() {
        let policy = LocalOnly::new().json_bodies();
        let host = ("host", "127.0.0.1:9100");
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            assert_eq!(
                refusal(&policy, Method::POST, &[host, ("content-type", json)]),
                None
            );
        }
        for other in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "",
        ] {
            assert_eq!(
                refusal(&policy, Method::POST, &[host, ("content-type", other)]),
                Some("unsupported_media_type"),
                "{other}"
            );
        }
        assert_eq!(
            refusal(&policy, Method::POST, &[host]),
            Some("unsupported_media_type")
        );
        assert_eq!(refusal(&policy, Method::GET, &[host]), None);
        assert_eq!(
            refusal(
                &LocalOnly::new(),
                Method::POST,
                &[host, ("content-type", "text/plain")]
            ),
            None
        );
    }

    #[test]
    fn refusals_are_json_errors() {
        let refusal = LocalOnly::new()
            .check(&Method::GET, &headers(&[("host", "evil.example")]))
            .unwrap_err();
        assert_eq!(refusal.status, StatusCode::MISDIRECTED_REQUEST);
        assert!(
            refusal.message.contains(ALLOWED_HOSTS_ENV),
            "{}",
            refusal.message
        );
        let response = refusal.into_response();
        assert_eq!(response.headers()["content-type"], "application/json");
        let refusal = LocalOnly::new()
            .check(
                &Method::POST,
                &headers(&[("host", "localhost"), ("origin", "http://evil.example")]),
            )
            .unwrap_err();
        assert_eq!(refusal.status, StatusCode::FORBIDDEN);
        assert!(
            refusal.message.contains(ALLOWED_ORIGINS_ENV),
            "{}",
            refusal.message
        );
    }
}
