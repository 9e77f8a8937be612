//! The playground's server side, served by the local gateway under `make dev` only (no
//! function binary links this crate): the page's files from the repository's
//! `playground/` folder, the WeChat sandbox under `/sandbox/` (the page's own origin, so
//! it needs no CORS and plays `wx.login` and the getPhoneNumber button through it), and
//! `GET /playground/items?openid=…`: what the table holds for one user, secrets masked.
//! The gateway's [`LocalOnly`](wechat_sandbox::LocalOnly) rules keep all of it to this
//! machine: a page elsewhere that rebinds its DNS to 127.0.0.1 must not read the table or
//! drive the sandbox.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Where the page's files are served.
pub const PREFIX: &str = "/playground";
/// The client module the page runs, served from client/.
const CLIENT: &str = "wxlogin.js";
/// Attributes shown masked: secrets and personal data, even in a local table.
const MASKED: &[&str] = &[
    "session_key",
    "access_token",
    "phone_number",
    "pure_phone_number",
];
/// The sandbox paths the page uses: what wx.login and the getPhoneNumber button give, the
/// faults, the stats. Nothing else of the sandbox (its WeChat API, its secret) is reachable.
const SANDBOX_PATHS: &[(&str, &str)] = &[
    ("POST", "/sandbox/login"),
    ("POST", "/sandbox/phone"),
    ("POST", "/sandbox/charge"),
    ("POST", "/sandbox/faults"),
    ("GET", "/sandbox/stats"),
    ("POST", "/sandbox/push"),
];

/// The playground's files, the sandbox it plays WeChat with, and the table it shows.
pub struct Playground {
    dir: PathBuf,
    sandbox: String,
    dynamodb: Client,
    table: String,
    http: reqwest::Client,
}

impl Playground {
    /// The playground of the files in `dir`, the sandbox at `sandbox` and `table` on the
    /// DynamoDB Local at `dynamodb_endpoint`.
    pub async fn new(dir: &Path, sandbox: &str, dynamodb_endpoint: &str, table: &str) -> Self {
        Self {
            dir: dir.to_owned(),
            sandbox: sandbox.trim_end_matches('/').to_owned(),
            dynamodb: crate::tables::local_client(dynamodb_endpoint).await,
            table: table.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// The answer when the request is the playground's (its page, its items, the
    /// sandbox), else `None`.
    pub async fn serve(
        &self,
        parts: &http::request::Parts,
        body: &Bytes,
    ) -> Option<anyhow::Result<Response>> {
        let path = parts.uri.path();
        let ours =
            path.starts_with("/sandbox/") || path == PREFIX || path.starts_with("/playground/");
        if !ours {
            return None;
        }
        if path.starts_with("/sandbox/") {
            let allowed = SANDBOX_PATHS
                .iter()
                .any(|(method, allowed)| parts.method.as_str() == *method && path == *allowed);
            if !allowed {
                return Some(Ok(text(
                    StatusCode::NOT_FOUND,
                    "not a sandbox path the playground uses",
                )));
            }
            return Some(self.to_sandbox(parts, body.clone()).await);
        }
        if path == PREFIX {
            return Some(Ok(redirect(&format!("{PREFIX}/"))));
        }
        let file = path.strip_prefix(PREFIX)?.strip_prefix('/')?;
        if parts.method != http::Method::GET {
            return Some(Ok(text(StatusCode::METHOD_NOT_ALLOWED, "GET only")));
        }
        Some(match file {
            "items" => {
                let openid = query_value(parts.uri.query().unwrap_or_default(), "openid");
                self.items(openid.as_deref()).await.map(|items| {
                    let mut response = axum::Json(items).into_response();
                    response
                        .headers_mut()
                        .insert("cache-control", HeaderValue::from_static("no-store"));
                    response
                })
            }
            "" => self.file("index.html").await,
            name => self.file(name).await,
        })
    }

    /// One of the page's files: a plain name (no folders, no dots but the extension's),
    /// with the content type of its extension.
    async fn file(&self, name: &str) -> anyhow::Result<Response> {
        let Some(content_type) = content_type(name) else {
            return Ok(text(StatusCode::NOT_FOUND, "not a playground file"));
        };
        // The real client, unchanged, from client/ beside playground/.
        let path = if name == CLIENT {
            self.dir.join("..").join("client").join(CLIENT)
        } else {
            self.dir.join(name)
        };
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok((
                StatusCode::OK,
                [
                    ("content-type", content_type),
                    ("cache-control", "no-store"),
                ],
                bytes,
            )
                .into_response()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Ok(text(StatusCode::NOT_FOUND, "not a playground file"))
            }
            Err(err) => Err(err).with_context(|| format!("reading playground/{name}")),
        }
    }

    /// What the table holds for the user `openid`: their sessions (by hash), their user
    /// item, and every app's access-token item, secrets masked; and every erasure's audit
    /// record (no personal data in them). Without an openid, the access tokens and the
    /// records only. A scan: DynamoDB Local's tables here are small.
    async fn items(&self, openid: Option<&str>) -> anyhow::Result<Value> {
        let (mut sessions, mut users, mut access_tokens) = (Vec::new(), Vec::new(), Vec::new());
        let mut erasures = Vec::new();
        for item in crate::tables::all_items(&self.dynamodb, &self.table).await? {
            let pk = item.get("pk").and_then(|pk| pk.as_s().ok()).cloned();
            let Some(pk) = pk else { continue };
            let owned = openid.is_some()
                && item
                    .get("openid")
                    .and_then(|id| id.as_s().ok())
                    .map(String::as_str)
                    == openid;
            if pk.starts_with("session#") && owned {
                sessions.push(shown(&item));
            } else if pk.starts_with("user#") && owned {
                users.push(shown(&item));
            } else if pk.starts_with("access_token#") {
                access_tokens.push(shown(&item));
            } else if pk.starts_with("erasure#") {
                erasures.push(shown(&item));
            }
        }
        let by_expiry = |item: &Value| item["expires_at"].as_i64().unwrap_or_default();
        sessions.sort_by_key(by_expiry);
        Ok(json!({
            "table": self.table,
            "sessions": sessions,
            "users": users,
            "access_tokens": access_tokens,
            "erasures": erasures,
        }))
    }

    /// `/sandbox/…` forwarded to the sandbox as it came.
    async fn to_sandbox(
        &self,
        parts: &http::request::Parts,
        body: Bytes,
    ) -> anyhow::Result<Response> {
        let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
        let url = format!("{}{path}", self.sandbox);
        let upstream = self
            .http
            .request(parts.method.clone(), &url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .with_context(|| format!("{} {url}", parts.method))?;
        let status = upstream.status();
        let bytes = upstream.bytes().await?;
        Ok((status, [("content-type", "application/json")], bytes).into_response())
    }
}

/// Shows the first and last few characters of a secret, enough to tell values apart.
fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}…{tail}")
}

/// An item as JSON, its secrets masked: strings, numbers, string sets as arrays.
fn shown(item: &HashMap<String, AttributeValue>) -> Value {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    let mut shown = Map::new();
    for name in names {
        let value = match &item[name] {
            AttributeValue::S(text) if MASKED.contains(&name.as_str()) => json!(mask(text)),
            AttributeValue::S(text) => json!(text),
            AttributeValue::N(number) => number
                .parse::<i64>()
                .map_or_else(|_| json!(number), |number| json!(number)),
            AttributeValue::Ss(set) => {
                let mut set = set.clone();
                set.sort();
                json!(set)
            }
            AttributeValue::Bool(flag) => json!(flag),
            other => json!(format!("{other:?}")),
        };
        shown.insert(name.clone(), value);
    }
    Value::Object(shown)
}

/// The first value of `name` in a query string, percent-decoded.
fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |byte: u8| char::from(byte).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%'
            && index + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[index + 1]), hex(bytes[index + 2]))
            && let Ok(decoded) = u8::try_from(high * 16 + low)
        {
            out.push(decoded);
            index += 3;
            continue;
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The content type of a playground file's name, `None` for a name that is not one.
fn content_type(name: &str) -> Option<&'static str> {
    let (stem, extension) = name.rsplit_once('.')?;
    let plain = !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !plain {
        return None;
    }
    match extension {
        "html" => Some("text/html; charset=utf-8"),
        "js" | "mjs" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "png" => Some("image/png"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

fn redirect(location: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert("location", location);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_of_known_kinds_are_files() {
        assert_eq!(content_type("index.html"), Some("text/html; charset=utf-8"));
        assert_eq!(
            content_type("wx-standin.js"),
            Some("text/javascript; charset=utf-8")
        );
        for refused in [
            "../Cargo.toml",
            "a/b.js",
            ".env",
            "x.rs",
            "Index.html",
            "a.b.js",
            "js",
        ] {
            assert_eq!(content_type(refused), None, "{refused}");
        }
    }

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask("tiihtNczf5v6AKRyjwEUhQ=="), "tii…Q==");
        assert_eq!(mask("short"), "*****");
    }

    #[test]
    fn secrets_are_masked_and_numbers_stay_numbers() {
        let item = HashMap::from([
            (
                "session_key".to_owned(),
                AttributeValue::S("tiihtNczf5v6AKRyjwEUhQ==".into()),
            ),
            ("openid".to_owned(), AttributeValue::S("o1".into())),
            (
                "expires_at".to_owned(),
                AttributeValue::N("1700000000".into()),
            ),
            (
                "sessions".to_owned(),
                AttributeValue::Ss(vec!["b".into(), "a".into()]),
            ),
        ]);
        assert_eq!(
            shown(&item),
            json!({"expires_at": 1_700_000_000, "openid": "o1", "session_key": "tii…Q==", "sessions": ["a", "b"]})
        );
    }

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(
            query_value("a=1&openid=o%2Bx", "openid").as_deref(),
            Some("o+x")
        );
        assert_eq!(query_value("openid=", "openid").as_deref(), Some(""));
        assert_eq!(query_value("x=1", "openid"), None);
        assert_eq!(percent_decode("100%"), "100%");
    }
}
