//! Access tokens: `POST /cgi-bin/stable_token` and the check every token-taking API does.
//!
//! WeChat's rules, with the numbers from [`SandboxConfig`](crate::SandboxConfig):
//! - Normal mode hands out the current token while it has more than
//!   `renew_before_expiry` (300 s) to live; then it issues a new one, and the old one keeps
//!   working until its own expiry.
//! - `force_refresh: true` issues a new token and invalidates every earlier one at once.
//! - A force within `force_refresh_min_interval` (30 s) of the previous effective force does
//!   not refresh: it is answered like a normal-mode call and does not count against the
//!   day. It is counted as a `too_soon` refusal in `/sandbox/stats`.
//! - At most `forced_refreshes_per_day` (20) effective forces a sandbox day; the next is
//!   answered `45009`. A day lasts 24 h from its first forced refresh, or until
//!   `POST /sandbox/token-day`, not to wall-clock midnight. The 30 s check comes first:
//!   a force that would not refresh anyway is never refused with `45009`.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::random;
use crate::state::{AccessToken, Api, AppState, IssuedToken, State as SandboxState};
use crate::wechat_api::{errcode, lock, suffer, wechat_json};
use crate::{SandboxConfig, Shared};

/// A sandbox day for the forced-refresh count, unless `/sandbox/token-day` ends it sooner.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Deserialize)]
struct StableTokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

/// `POST /cgi-bin/stable_token`: the current token (the same one for every caller until it
/// nears its expiry), or a fresh one with `force_refresh`, within WeChat's limits.
pub(crate) async fn stable_token(State(shared): State<Shared>, body: Bytes) -> Response {
    if let Some(response) = suffer(&shared, Api::StableToken).await {
        return response;
    }
    let Ok(request) = serde_json::from_slice::<StableTokenRequest>(&body) else {
        return errcode(47001, "data format error");
    };
    let now = Instant::now();
    let mut state = lock(&shared);
    let Some(state) = request
        .appid
        .as_deref()
        .and_then(|appid| state.apps.get_mut(appid))
    else {
        return errcode(40013, "invalid appid");
    };
    if request.secret.as_deref() != Some(state.secret.as_str()) {
        return errcode(40125, "invalid appsecret");
    }
    if request.grant_type.as_deref() != Some("client_credential") {
        return errcode(40002, "invalid grant_type");
    }
    let token = if request.force_refresh {
        match forced(state, &shared.config, now) {
            Ok(token) => token,
            Err(DailyLimitReached) => return errcode(45009, "reach max api daily quota limit"),
        }
    } else {
        normal(state, &shared.config, now)
    };
    let expires_in = token.expires.saturating_duration_since(now).as_secs();
    wechat_json(&json!({ "access_token": token.token, "expires_in": expires_in }))
}

/// Normal mode: the current token, unless it is gone or within its renewal window.
fn normal(state: &mut AppState, config: &SandboxConfig, now: Instant) -> AccessToken {
    match &state.access_token {
        Some(current)
            if current.expires.saturating_duration_since(now) > config.renew_before_expiry =>
        {
            current.clone()
        }
        _ => issue(state, config, now),
    }
}

/// A forced refresh refused: the day's allowance is spent (WeChat's `45009`).
struct DailyLimitReached;

/// `force_refresh: true`: a new token that cuts off every earlier one, unless the last
/// effective force was too recent (then normal mode) or the day's allowance is spent.
fn forced(
    state: &mut AppState,
    config: &SandboxConfig,
    now: Instant,
) -> Result<AccessToken, DailyLimitReached> {
    let forces = &mut state.forced_refreshes;
    if forces
        .day_started
        .is_none_or(|started| now.saturating_duration_since(started) >= DAY)
    {
        forces.day_started = Some(now);
        forces.today = 0;
    }
    if forces
        .last
        .is_some_and(|last| now.saturating_duration_since(last) < config.force_refresh_min_interval)
    {
        forces.refused_too_soon += 1;
        return Ok(normal(state, config, now));
    }
    if forces.today >= config.forced_refreshes_per_day {
        forces.refused_daily_limit += 1;
        return Err(DailyLimitReached);
    }
    forces.last = Some(now);
    forces.today += 1;
    forces.total += 1;
    for issued in state.issued_tokens.values_mut() {
        if issued.expires > now {
            issued.invalidated = true;
        }
    }
    Ok(issue(state, config, now))
}

/// A new current token; earlier ones keep whatever validity they had.
fn issue(state: &mut AppState, config: &SandboxConfig, now: Instant) -> AccessToken {
    let fresh = AccessToken {
        token: random::access_token(),
        expires: now + config.access_token_ttl,
    };
    state.issued_tokens.insert(
        fresh.token.clone(),
        IssuedToken {
            expires: fresh.expires,
            invalidated: false,
        },
    );
    state.access_token = Some(fresh.clone());
    fresh
}

/// Starts a new sandbox day for every app: the forced-refresh allowance is whole again.
/// The 30 s rule still counts from the last forced refresh.
pub(crate) fn new_token_day(state: &mut SandboxState) {
    for app in state.apps.values_mut() {
        app.forced_refreshes.day_started = None;
        app.forced_refreshes.today = 0;
    }
}

/// WeChat's refusal of an access token: its errcode and errmsg.
pub(crate) struct TokenRejected(i64, &'static str);

impl TokenRejected {
    pub(crate) fn into_response(self) -> Response {
        errcode(self.0, self.1)
    }
}

/// The app whose access token `given` is, when WeChat accepts it now; else WeChat's
/// refusal: `41001` without one, `40001` for one invalidated by a forced refresh or never
/// issued, `42001` for one past its expiry.
pub(crate) fn app_of_access_token<'a>(
    state: &'a mut SandboxState,
    given: Option<&str>,
) -> Result<&'a mut AppState, TokenRejected> {
    let Some(given) = given.filter(|token| !token.is_empty()) else {
        return Err(TokenRejected(41001, "access_token missing"));
    };
    let invalid = TokenRejected(
        40001,
        "invalid credential, access_token is invalid or not latest",
    );
    let Some(app) = state.app_of_token(given) else {
        return Err(invalid);
    };
    match app.issued_tokens.get(given) {
        Some(issued) if !issued.invalidated && issued.expires <= Instant::now() => {
            Err(TokenRejected(42001, "access_token expired"))
        }
        Some(issued) if !issued.invalidated => Ok(app),
        _ => Err(invalid),
    }
}
