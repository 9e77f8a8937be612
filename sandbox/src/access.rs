//! Access tokens: `POST /cgi-bin/stable_token` and the check every token-taking API does.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::Shared;
use crate::random;
use crate::state::{AccessToken, Api, State as SandboxState};
use crate::wechat_api::{errcode, lock, suffer, wechat_json};

/// After a forced refresh the replaced token keeps working this long, so instances that
/// still hold it are not cut off mid-request.
const FORCED_REFRESH_GRACE: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
struct StableTokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

/// `POST /cgi-bin/stable_token`: the current token (the same one for every caller until it
/// expires), or a fresh one with `force_refresh`.
pub(crate) async fn stable_token(State(shared): State<Shared>, body: Bytes) -> Response {
    if let Some(response) = suffer(&shared, Api::StableToken).await {
        return response;
    }
    let Ok(request) = serde_json::from_slice::<StableTokenRequest>(&body) else {
        return errcode(47001, "data format error");
    };
    if request.appid.as_deref() != Some(shared.config.appid.as_str()) {
        return errcode(40013, "invalid appid");
    }
    if request.secret.as_deref() != Some(shared.config.secret.as_str()) {
        return errcode(40125, "invalid appsecret");
    }
    if request.grant_type.as_deref() != Some("client_credential") {
        return errcode(40002, "invalid grant_type");
    }
    let now = Instant::now();
    let mut state = lock(&shared);
    let current = state
        .access_token
        .clone()
        .filter(|token| token.expires > now);
    let token = match current {
        Some(token) if !request.force_refresh => token,
        _ => {
            let fresh = AccessToken {
                token: random::access_token(),
                expires: now + shared.config.access_token_ttl,
            };
            state.previous_access_token = state.access_token.take().map(|old| AccessToken {
                expires: old.expires.min(now + FORCED_REFRESH_GRACE),
                ..old
            });
            state.access_token = Some(fresh.clone());
            fresh
        }
    };
    let expires_in = token.expires.saturating_duration_since(now).as_secs();
    wechat_json(&json!({ "access_token": token.token, "expires_in": expires_in }))
}

/// WeChat's answer when `given` is not a token it accepts now, or `None` when it is.
pub(crate) fn reject_access_token(state: &SandboxState, given: Option<&str>) -> Option<Response> {
    let Some(given) = given.filter(|token| !token.is_empty()) else {
        return Some(errcode(41001, "access_token missing"));
    };
    let now = Instant::now();
    for token in [&state.access_token, &state.previous_access_token]
        .into_iter()
        .flatten()
    {
        if token.token == given {
            return (token.expires <= now).then(|| errcode(42001, "access_token expired"));
        }
    }
    Some(errcode(
        40001,
        "invalid credential, access_token is invalid or not latest",
    ))
}
