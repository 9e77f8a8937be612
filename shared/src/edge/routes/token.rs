//! The token function's routes: `POST /token` turns a live session into a standard token
//! (a short-lived JWT); `GET /.well-known/openid-configuration` and
//! `GET /.well-known/jwks.json` are what any verifier reads to check one, public and
//! cacheable.

use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, HeaderValue};
use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::edge::{ApiError, Function, Reply, Route, bearer_token, json_response};
use crate::ports::{Sessions, SigningKeys};
use crate::telemetry::current::set_kind;
use crate::telemetry::metrics;
use crate::usecases::standard_token::{DISCOVERY_PATH, JWKS_PATH};
use crate::usecases::{IssuedToken, StandardTokens};

/// How long verifiers and caches may keep the JWKS: short beside the rotation's lead
/// (hours), so a new key is everywhere long before it signs.
pub const JWKS_MAX_AGE_SECONDS: u32 = 300;
/// How long they may keep discovery, which changes only with the stack's domain.
pub const DISCOVERY_MAX_AGE_SECONDS: u32 = 3600;

/// The token function.
pub const TOKEN: Route = Route {
    function: Function {
        name: "token",
        // Three paths: the log line's `Action` (issue, jwks, discovery) tells them apart.
        path: None,
        outcome_metric: metrics::TOKEN_REQUESTS,
        kind_dimension: Some("Action"),
    },
    // The token function never calls WeChat.
    deadline_on_wechat: ApiError::StoreUnavailable,
};

/// What the token function answers.
pub enum TokenAnswer {
    /// `POST /token`: never cached.
    Issued(IssuedToken),
    /// Discovery or the JWKS: anyone may cache it for `max_age` seconds, and any origin
    /// may read it (public keys, no credentials).
    Public {
        /// The document.
        body: serde_json::Value,
        /// Seconds.
        max_age: u32,
    },
}

impl Reply for TokenAnswer {
    fn into_response(self, request_id: &str) -> Response<Body> {
        match self {
            Self::Issued(issued) => issued.into_response(request_id),
            Self::Public { body, max_age } => {
                let mut response = json_response(StatusCode::OK, &body, request_id);
                let headers = response.headers_mut();
                if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
                    headers.insert(CACHE_CONTROL, value);
                }
                headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
                response
            }
        }
    }
}

fn public(body: &impl Serialize, max_age: u32) -> Result<TokenAnswer, ApiError> {
    let body = serde_json::to_value(body).map_err(|_| ApiError::SigningUnavailable)?;
    Ok(TokenAnswer::Public { body, max_age })
}

/// Serves the three paths.
pub async fn token<S, K>(
    tokens: &StandardTokens<S, K>,
    request: &Request,
) -> Result<TokenAnswer, ApiError>
where
    S: Sessions,
    K: SigningKeys,
{
    let path = request.uri().path();
    let method = request.method();
    if path.ends_with(JWKS_PATH) || path.ends_with(DISCOVERY_PATH) {
        if method != Method::GET {
            return Err(ApiError::MethodNotAllowed { allow: "GET" });
        }
        return if path.ends_with(JWKS_PATH) {
            set_kind("jwks");
            public(&tokens.jwks().await?, JWKS_MAX_AGE_SECONDS)
        } else {
            set_kind("discovery");
            public(&tokens.discovery(), DISCOVERY_MAX_AGE_SECONDS)
        };
    }
    if method != Method::POST {
        return Err(ApiError::MethodNotAllowed { allow: "POST" });
    }
    set_kind("issue");
    let session = bearer_token(request)?;
    let live = tokens.session(&session).await?;
    Ok(TokenAnswer::Issued(tokens.issue(&live).await?))
}
