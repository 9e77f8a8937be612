//! WeChat's own endpoints, answered the way WeChat answers them.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Shared;
use crate::state::Api;

/// WeChat answers 200 with JSON labelled text/plain, success or not.
pub(crate) fn wechat_json(body: &Value) -> Response {
    ([(CONTENT_TYPE, "text/plain")], body.to_string()).into_response()
}

pub(crate) fn errcode(code: i64, message: &str) -> Response {
    wechat_json(&json!({ "errcode": code, "errmsg": message }))
}

/// Counts a call to `api` and applies the fault set for it, if any: its delay, then an
/// answer in the call's place if it carries an errcode or body.
pub(crate) async fn suffer(shared: &Shared, api: Api) -> Option<Response> {
    let fault = lock(shared).record_call(api)?;
    if !fault.delay.is_zero() {
        tokio::time::sleep(fault.delay).await;
    }
    if let Some(body) = fault.body {
        return Some(([(CONTENT_TYPE, "text/html")], body).into_response());
    }
    fault.errcode.map(|code| errcode(code, "sandbox fault"))
}

/// `GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`.
pub(crate) async fn jscode2session(
    State(shared): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(response) = suffer(&shared, Api::Jscode2session).await {
        return response;
    }
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let mut state = lock(&shared);
    // Codes, users and secrets are the app's own: a code from another app is unknown here.
    let Some(app) = state.apps.get_mut(param("appid")) else {
        return errcode(40013, "invalid appid");
    };
    if param("secret") != app.secret {
        return errcode(40125, "invalid appsecret");
    }
    if param("grant_type") != "authorization_code" {
        return errcode(40002, "invalid grant_type");
    }
    let js_code = param("js_code");
    if js_code.is_empty() {
        return errcode(41008, "missing code");
    }

    let Some(issued) = app.codes.get_mut(js_code) else {
        return errcode(40029, "invalid code");
    };
    if issued.issued.elapsed() > shared.config.code_ttl {
        return errcode(40029, "invalid code");
    }
    if issued.used {
        return errcode(40163, "code been used");
    }
    issued.used = true;
    let openid = issued.openid.clone();
    let Some(user) = app.users.get(&openid) else {
        return errcode(40029, "invalid code");
    };
    let mut body = json!({ "openid": openid, "session_key": user.session_key });
    if let Some(unionid) = &user.unionid {
        body["unionid"] = json!(unionid);
    }
    wechat_json(&body)
}

/// Unknown paths get WeChat's style of error, not an HTML page.
pub(crate) async fn not_found() -> Response {
    errcode(404, "sandbox: no such API")
}

pub(crate) fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, crate::state::State> {
    // A panic while holding the lock cannot leave the maps inconsistent in a way
    // that matters for a dev tool: keep serving.
    shared
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
