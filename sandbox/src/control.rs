//! `/sandbox/*`: what the mini-program side would produce, plus fault injection, stats,
//! AppSecret rotation and a new forced-refresh day.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::Shared;
use crate::access::new_token_day;
use crate::random;
use crate::state::{Api, AppState, Fault, IssuedCode, PhonePack, User};
use crate::wechat_api::lock;

#[derive(Deserialize, Default)]
struct LoginRequest {
    /// The app the user logs in to (default: the first configured).
    appid: Option<String>,
    openid: Option<String>,
    unionid: Option<String>,
    session_key: Option<String>,
}

pub(crate) fn unknown_app() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(
            json!({ "error": "unknown_app", "message": "this sandbox does not serve that appid" }),
        ),
    )
        .into_response()
}

pub(crate) fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "invalid_request", "message": message })),
    )
        .into_response()
}

/// Parses an optional JSON body: empty means all defaults.
fn optional_json<T: for<'de> Deserialize<'de> + Default>(
    body: &Bytes,
) -> Result<T, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
}

/// `POST /sandbox/login {"appid"?, "openid"?, "unionid"?, "session_key"?}` → what
/// `wx.login` yields in that app.
///
/// Omitted fields make a new random user; a known openid keeps its key unless a new
/// `session_key` is given, which plays a re-login that rotates the key. Openids are per
/// app, as WeChat's are: one person in two apps is two openids sharing a `unionid`.
pub(crate) async fn login(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: LoginRequest = match optional_json(&body) {
        Ok(request) => request,
        Err(err) => return bad_request(&format!("bad JSON body: {err}")),
    };
    let openid = request
        .openid
        .filter(|id| !id.is_empty())
        .unwrap_or_else(random::openid);
    let code = random::code();
    let mut state = lock(&shared);
    let Some((appid, app)) = state.control_app(request.appid.as_deref()) else {
        return unknown_app();
    };
    let now = Instant::now();
    let user = app.users.entry(openid.clone()).or_insert_with(|| User {
        unionid: None,
        session_key: random::session_key(),
        last_login: now,
    });
    user.last_login = now;
    if let Some(session_key) = request.session_key {
        user.session_key = session_key;
    }
    if let Some(unionid) = request.unionid {
        user.unionid = Some(unionid).filter(|id| !id.is_empty());
    }
    let mut answer = json!({
        "code": code,
        "appid": appid,
        "openid": openid,
        "session_key": user.session_key,
    });
    if let Some(unionid) = &user.unionid {
        answer["unionid"] = json!(unionid);
    }
    app.codes.insert(
        code,
        IssuedCode {
            openid,
            issued: now,
            used: false,
        },
    );
    Json(answer).into_response()
}

#[derive(Deserialize)]
struct FaultRequest {
    api: Api,
    errcode: Option<i64>,
    #[serde(default)]
    delay_ms: u64,
    /// Answer this raw text instead of JSON (a proxy's HTML error page, say).
    body: Option<String>,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

/// `POST /sandbox/faults {"api", "errcode"?, "delay_ms"?, "body"?, "times"}`: the next
/// `times` calls of `api` stall for `delay_ms`, then answer `errcode` or `body` if given.
pub(crate) async fn faults(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: FaultRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return bad_request(&format!(
                "expected {{\"api\": \"jscode2session\" | \"stable_token\" | \"getuserphonenumber\" | \"checksession\" | \"getuserriskrank\" | \"charge_usage\", \"errcode\"?, \"delay_ms\"?, \"body\"?, \"times\"}}: {err}"
            ));
        }
    };
    let mut state = lock(&shared);
    if request.times == 0 {
        state.faults.remove(&request.api);
    } else {
        state.faults.insert(
            request.api,
            Fault {
                errcode: request.errcode,
                delay: Duration::from_millis(request.delay_ms),
                body: request.body,
                remaining: request.times,
            },
        );
    }
    Json(json!({ "ok": true })).into_response()
}

/// `GET /sandbox/stats` → `{"calls": {"jscode2session": N, …}, "forced_refreshes": N,
/// "forced_refresh_refusals": {"too_soon": N, "daily_limit": N}, "billed": {"quick": N,
/// "realtime": N}, "apps": {"<appid>": {"forced_refreshes": N, …, "billed": {…}}}}`: how
/// often WeChat was called, how many forced refreshes issued a new token, how many were
/// refused (within the minimum interval: answered with the current token; over the daily
/// limit: `45009`), and how many phone verifications of each kind were billed (codes the
/// buttons issued, billed when issued, redeemed or not), summed over the apps and per app.
pub(crate) async fn stats(State(shared): State<Shared>) -> Response {
    let state = lock(&shared);
    let billed_of =
        |app: &AppState| PhonePack::ALL.map(|pack| app.billed.get(&pack).copied().unwrap_or(0));
    let mut billed = [0u64; 2];
    let forces = |app: &AppState| {
        let forces = &app.forced_refreshes;
        (
            forces.total,
            forces.refused_too_soon,
            forces.refused_daily_limit,
        )
    };
    let (mut total, mut too_soon, mut daily_limit) = (0, 0, 0);
    let mut apps = serde_json::Map::new();
    for (appid, app) in &state.apps {
        let (app_total, app_too_soon, app_daily_limit) = forces(app);
        total += app_total;
        too_soon += app_too_soon;
        daily_limit += app_daily_limit;
        let app_billed = billed_of(app);
        for (sum, count) in billed.iter_mut().zip(app_billed) {
            *sum += count;
        }
        apps.insert(
            appid.clone(),
            json!({
                "forced_refreshes": app_total,
                "forced_refresh_refusals": {
                    "too_soon": app_too_soon,
                    "daily_limit": app_daily_limit,
                },
                "billed": billed_json(app_billed),
            }),
        );
    }
    Json(json!({
        "calls": state.calls,
        "forced_refreshes": total,
        "forced_refresh_refusals": { "too_soon": too_soon, "daily_limit": daily_limit },
        "billed": billed_json(billed),
        "apps": apps,
    }))
    .into_response()
}

/// `{"quick": N, "realtime": N}`, in the order of [`PhonePack::ALL`].
fn billed_json(counts: [u64; 2]) -> serde_json::Value {
    let mut billed = serde_json::Map::new();
    for (pack, count) in PhonePack::ALL.into_iter().zip(counts) {
        billed.insert(pack.name().to_owned(), json!(count));
    }
    serde_json::Value::Object(billed)
}

#[derive(Deserialize)]
struct SecretRequest {
    appid: Option<String>,
    secret: String,
}

/// `POST /sandbox/secret {"appid"?, "secret"}` → `{"ok": true}`: that app's AppSecret is
/// reset, as in mp.weixin.qq.com; from now on jscode2session and stable_token accept only
/// the new one for it (the old one gets `40125`). Access tokens already issued keep their
/// validity; other apps are untouched.
pub(crate) async fn secret(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: SecretRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return bad_request(&format!("expected {{\"secret\"}}: {err}")),
    };
    if request.secret.is_empty() {
        return bad_request("the secret must not be empty");
    }
    let mut state = lock(&shared);
    let Some((_, app)) = state.control_app(request.appid.as_deref()) else {
        return unknown_app();
    };
    app.secret = request.secret;
    Json(json!({ "ok": true })).into_response()
}

/// `POST /sandbox/token-day` (any or no body) → `{"ok": true}`: a new sandbox day for
/// forced refreshes, whose daily allowance is whole again.
pub(crate) async fn token_day(State(shared): State<Shared>) -> Response {
    new_token_day(&mut lock(&shared));
    Json(json!({ "ok": true })).into_response()
}
