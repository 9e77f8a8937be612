//! `devkit gateway`: API Gateway's part in front of `cargo lambda watch`, for `make
//! dev`. cargo lambda watch runs no authorizers, so a route behind the wxlogin authorizer
//! (`GET /me` of examples/protected-route) is served here as API Gateway serves it:
//!
//! 1. no `Authorization` header: 401 `{"message":"Unauthorized"}`, nothing invoked (the
//!    identity source is missing);
//! 2. the `authorizer` function invoked with the payload 2.0 `REQUEST` event
//!    ([`apigw::authorizer_event`]) through watch's Lambda invoke API
//!    (`POST /2015-03-31/functions/<name>/invocations`, as `cargo lambda invoke` does);
//!    `{"isAuthorized": false}`: 403 `{"message":"Forbidden"}`; a failed invocation: 500
//!    `{"message":"Internal Server Error"}`;
//! 3. the route's function invoked with the HTTP API event, its
//!    `requestContext.authorizer.lambda` holding the authorizer's context, and its answer
//!    mapped back to HTTP.
//!
//! Every other request is forwarded unchanged to watch's router (`/onlogin`, `/session`…),
//! so the gateway's URL is one base URL for the whole local API, as `ApiUrl` is in AWS —
//! but for watch's own control planes, which API Gateway does not have: its Lambda invoke
//! API (`/2015-03-31/…`, which would run `me` with any authorizer context one cares to
//! write) and its Runtime API (`/.rt/…`, which hands out every event, tokens included)
//! answer API Gateway's 404 `{"message":"Not Found"}`.
//! With a [`Playground`], it also serves the playground page and what it needs
//! (`/playground/…`, `/sandbox/…`).
//!
//! Every path answers only this machine ([`LocalOnly`]: `Host` `localhost`, `127.0.0.1` or
//! `[::1]`, else 421; a `POST`, `PUT`, `DELETE`… from a page of another origin or site,
//! 403), so a web page elsewhere can neither rebind its DNS name here nor send the local
//! API, the playground or the sandbox behind it a cross-site request. WeChat's pushes and
//! the playground's own calls (same origin) pass.

use std::sync::Arc;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use wechat_sandbox::LocalOnly;

use crate::apigw;
use crate::playground::Playground;

/// The function that decides, as the template's `Authorizer` names it.
pub const AUTHORIZER: &str = "authorizer";
/// API Gateway's own payload limit for HTTP APIs (10 MB).
const MAX_BODY: usize = 10 * 1024 * 1024;
/// cargo lambda watch's own APIs, never forwarded: the Lambda invoke API and the Runtime
/// API its functions poll.
const WATCH_CONTROL_PREFIXES: &[&str] = &["/2015-03-31/", "/.rt/"];

/// A route behind the authorizer: `METHOD /path` served by `function`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedRoute {
    /// `GET`, `POST`…
    pub method: String,
    /// `/me`.
    pub path: String,
    /// The binary cargo lambda watch runs for it.
    pub function: String,
}

impl ProtectedRoute {
    /// Parses `"GET /me=me"`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let (route, function) = spec
            .split_once('=')
            .with_context(|| format!("{spec:?}: expected \"METHOD /path=function\""))?;
        let (method, path) = route
            .split_once(' ')
            .with_context(|| format!("{spec:?}: expected \"METHOD /path=function\""))?;
        if !path.starts_with('/') || function.is_empty() {
            bail!("{spec:?}: expected \"METHOD /path=function\"");
        }
        Ok(Self {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            function: function.to_owned(),
        })
    }
}

/// Where the gateway sends what it serves.
pub struct Gateway {
    /// cargo lambda watch's base URL (`http://127.0.0.1:6666`).
    pub lambda: String,
    /// The routes behind the authorizer.
    pub protected: Vec<ProtectedRoute>,
    playground: Option<Playground>,
    local_only: LocalOnly,
    http: reqwest::Client,
}

impl Gateway {
    /// A gateway in front of cargo lambda watch at `lambda`, answering this machine only.
    pub fn new(lambda: &str, protected: Vec<ProtectedRoute>) -> Self {
        Self {
            lambda: lambda.trim_end_matches('/').to_owned(),
            protected,
            playground: None,
            local_only: LocalOnly::new(),
            http: reqwest::Client::new(),
        }
    }

    /// The same gateway, answering whom `local_only` allows (`make dev`: this machine,
    /// widened by `DEV_ALLOWED_HOSTS` and `DEV_ALLOWED_ORIGINS`).
    pub fn with_local_only(self, local_only: LocalOnly) -> Self {
        Self { local_only, ..self }
    }

    /// The same gateway, serving `playground` too.
    pub fn with_playground(self, playground: Playground) -> Self {
        Self {
            playground: Some(playground),
            ..self
        }
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        axum::serve(listener, self.router()).await?;
        Ok(())
    }

    /// Every path, behind the [`LocalOnly`] rules.
    pub fn router(self) -> Router {
        let local_only = self.local_only.clone();
        local_only.protect(Router::new().fallback(handle).with_state(Arc::new(self)))
    }

    /// Invokes `function` with `event` through watch's Lambda invoke API: its answer, or
    /// why the invocation failed (the function's error included).
    async fn invoke(&self, function: &str, event: &Value) -> anyhow::Result<Value> {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.lambda
        );
        let response = self
            .http
            .post(&url)
            .json(event)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        let unhandled = response.headers().contains_key("x-amz-function-error");
        let text = response.text().await.context("reading the answer")?;
        let answer: Value = serde_json::from_str(&text)
            .with_context(|| format!("{function} answered {status} with non-JSON: {text}"))?;
        if !status.is_success() || unhandled || answer.get("errorType").is_some() {
            bail!("{function} failed ({status}): {text}");
        }
        Ok(answer)
    }
}

/// API Gateway's own answers, in its shape.
fn gateway_answer(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // `//.rt/…` is `/.rt/…` to some routers.
    let path = format!("/{}", parts.uri.path().trim_start_matches('/'));
    if WATCH_CONTROL_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix) || path == prefix.trim_end_matches('/'))
    {
        return gateway_answer(StatusCode::NOT_FOUND, "Not Found");
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return gateway_answer(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let played = match &gateway.playground {
        Some(playground) => playground.serve(&parts, &body).await,
        None => None,
    };
    let route = gateway
        .protected
        .iter()
        .find(|route| route.method == parts.method.as_str() && route.path == parts.uri.path());
    let answer = match (played, route) {
        (Some(played), _) => played,
        (None, route) => match route {
            Some(route) => {
                let query = parts.uri.query().unwrap_or_default();
                protected(&gateway, route, query, &parts.headers, &body).await
            }
            None => forward(&gateway, &parts, body).await,
        },
    };
    answer.unwrap_or_else(|err| {
        eprintln!("gateway: {} {}: {err:#}", parts.method, parts.uri);
        gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    })
}

/// The request's headers as the event carries them: names lower-cased, repeated values
/// joined with commas.
fn event_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut joined: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match joined.iter_mut().find(|(seen, _)| seen == name.as_str()) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            None => joined.push((name.as_str().to_owned(), value)),
        }
    }
    joined
}

async fn protected(
    gateway: &Gateway,
    route: &ProtectedRoute,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> anyhow::Result<Response> {
    let headers = event_headers(headers);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let authorization = headers
        .iter()
        .find(|(name, _)| *name == "authorization")
        .map(|(_, value)| *value);
    if authorization.is_none_or(str::is_empty) {
        return Ok(gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }

    let event = apigw::authorizer_event(&route.method, &route.path, query, &headers);
    let decision = gateway.invoke(AUTHORIZER, &event).await?;
    if decision["isAuthorized"] != true {
        return Ok(gateway_answer(StatusCode::FORBIDDEN, "Forbidden"));
    }

    let text = (!body.is_empty()).then(|| String::from_utf8_lossy(body).into_owned());
    let mut event = apigw::http_event(&route.method, &route.path, text.as_deref(), &headers);
    event["rawQueryString"] = json!(query);
    event["requestContext"]["authorizer"] = json!({ "lambda": decision["context"] });
    let answer = gateway.invoke(&route.function, &event).await?;
    http_answer(&answer)
}

/// A payload 2.0 function answer as HTTP: `{statusCode, headers, body, isBase64Encoded,
/// cookies}`, or any other JSON as a 200 JSON body (API Gateway's inference).
fn http_answer(answer: &Value) -> anyhow::Result<Response> {
    let Some(status) = answer.get("statusCode").and_then(Value::as_u64) else {
        return Ok((
            StatusCode::OK,
            [("content-type", "application/json")],
            answer.to_string(),
        )
            .into_response());
    };
    let body = match answer["body"].as_str() {
        Some(text) if answer["isBase64Encoded"] == true => STANDARD.decode(text)?,
        Some(text) => text.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(u16::try_from(status)?)?;
    let headers = response.headers_mut();
    if let Some(map) = answer["headers"].as_object() {
        for (name, value) in map {
            if let Some(value) = value.as_str() {
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes())?,
                    HeaderValue::from_str(value)?,
                );
            }
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        if let Some(cookie) = cookie.as_str() {
            headers.append("set-cookie", HeaderValue::from_str(cookie)?);
        }
    }
    Ok(response)
}

/// Any other route: to watch's router as it came, and its answer back but for CORS headers.
async fn forward(
    gateway: &Gateway,
    parts: &http::request::Parts,
    body: Bytes,
) -> anyhow::Result<Response> {
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let url = format!("{}{path}", gateway.lambda);
    let mut request = gateway.http.request(parts.method.clone(), &url).body(body);
    for (name, value) in &parts.headers {
        if name != http::header::HOST {
            request = request.header(name, value);
        }
    }
    let upstream = request
        .send()
        .await
        .with_context(|| format!("{} {url}", parts.method))?;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = upstream.status();
    for (name, value) in upstream.headers() {
        // Watch's own CORS answers (its default mirrors any origin) are not API Gateway's,
        // and would let pages of other origins read the local API: never passed on.
        let hop_by_hop = matches!(
            name.as_str(),
            "transfer-encoding" | "connection" | "content-length"
        );
        if !hop_by_hop && !name.as_str().starts_with("access-control-") {
            response.headers_mut().append(name, value.clone());
        }
    }
    *response.body_mut() = Body::from(upstream.bytes().await?);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_route_specs() {
        assert_eq!(
            ProtectedRoute::parse("get /me=me").ok(),
            Some(ProtectedRoute {
                method: "GET".into(),
                path: "/me".into(),
                function: "me".into()
            })
        );
        assert!(ProtectedRoute::parse("GET me=me").is_err());
        assert!(ProtectedRoute::parse("GET /me").is_err());
    }

    #[test]
    fn maps_a_function_answer_back_to_http() -> anyhow::Result<()> {
        let response = http_answer(&json!({
            "statusCode": 500, "headers": {"content-type": "application/json"},
            "body": "{\"error\":\"no_caller\"}", "isBase64Encoded": false
        }))?;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["content-type"], "application/json");
        let inferred = http_answer(&json!({"openid": "o1"}))?;
        assert_eq!(inferred.status(), StatusCode::OK);
        Ok(())
    }
}
