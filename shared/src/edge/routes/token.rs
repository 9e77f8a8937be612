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

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use http::Method;
    use lambda_http::{Body, Response};
    use serde_json::{Value, json};

    use crate::testing::{
        APPID, MemoryKeyRing, ServeHttp, Twins, bearer_request, post_with_bearer,
    };

    fn decoded(response: &Response<Body>) -> (u16, Value) {
        let json = serde_json::from_slice(response.body().as_ref()).unwrap();
        (response.status().as_u16(), json)
    }

    fn claims(jwt: &str) -> Value {
        let part = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn get(path: &str) -> lambda_http::Request {
        let mut request = lambda_http::Request::new(Body::Empty);
        *request.method_mut() = Method::GET;
        *request.uri_mut() = path.parse().unwrap();
        request
    }

    #[tokio::test]
    async fn a_token_carries_the_bound_phone_and_ends_with_the_session() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", Some("u1")).await;
        twins.bind_phone(&token, "13800138000").await;
        let tokens = twins.standard_tokens(MemoryKeyRing::rotated_once());
        let mut request = post_with_bearer(token.expose(), String::new());
        *request.uri_mut() = "/token".parse().unwrap();
        let response = tokens.handle(request).await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let (status, body) = decoded(&response);
        assert_eq!(status, 200, "{body}");
        let claims = claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["aud"], APPID);
        assert_eq!(claims["unionid"], "u1");
        assert_eq!(claims["phone_number"], "+8613800138000");
        assert_eq!(claims["phone_number_verified"], true);
        assert!(claims.get("session_key").is_none());

        let sessions = twins.session_queries();
        sessions
            .handle(bearer_request(Method::DELETE, token.expose()))
            .await;
        let mut request = post_with_bearer(token.expose(), String::new());
        *request.uri_mut() = "/token".parse().unwrap();
        let (status, body) = decoded(&tokens.handle(request).await);
        assert_eq!((status, &body["error"]), (401, &json!("invalid_token")));
    }

    #[tokio::test]
    async fn the_public_documents_are_cacheable_by_anyone() {
        let twins = Twins::new();
        let tokens = twins.standard_tokens(MemoryKeyRing::rotated_once());
        for (path, max_age) in [
            ("/.well-known/jwks.json", 300),
            ("/.well-known/openid-configuration", 3600),
        ] {
            let response = tokens.handle(get(path)).await;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(
                response.headers()["cache-control"],
                format!("public, max-age={max_age}").as_str()
            );
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
        }
        let (_, jwks) = decoded(&tokens.handle(get("/.well-known/jwks.json")).await);
        let key = &jwks["keys"][0];
        assert_eq!(
            (&key["kty"], &key["alg"], &key["use"]),
            (&json!("RSA"), &json!("RS256"), &json!("sig"))
        );
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "no private member"
        );
        assert_eq!(twins.table.calls(), 0, "public documents read no session");
    }
}
