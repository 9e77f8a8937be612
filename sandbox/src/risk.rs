//! 安全中心 → 风控: `POST /wxa/getuserriskrank` (WeChat's risk rank of a user) and
//! `POST /sandbox/risk`, which sets the ranks and plays the app enabling or disabling the
//! API.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::access::app_of_access_token;
use crate::control::{bad_request, unknown_app};
use crate::random;
use crate::state::Api;
use crate::wechat_api::{errcode, lock, suffer, wechat_json};

/// The highest rank WeChat gives (0 is the least risky).
const HIGHEST_RANK: u8 = 4;

/// getuserriskrank's required fields, checked for shape: `appid`, `openid` and
/// `client_ip` strings (the appid and the IP not empty), `scene` 0 (sign-up) or 1
/// (marketing fraud). The optional ones (`mobile_no`, `email_address`, `extended_info`,
/// `is_test`) are not looked at.
struct RiskQuery {
    appid: String,
    openid: String,
}

impl RiskQuery {
    fn parse(body: &[u8]) -> Option<Self> {
        let body: Value = serde_json::from_slice(body).ok()?;
        let text = |name: &str| body.get(name).and_then(Value::as_str);
        let appid = text("appid").filter(|appid| !appid.is_empty())?;
        let openid = text("openid")?;
        body.get("scene")
            .and_then(Value::as_u64)
            .filter(|scene| *scene <= 1)?;
        text("client_ip").filter(|ip| !ip.trim().is_empty())?;
        Some(Self {
            appid: appid.to_owned(),
            openid: openid.to_owned(),
        })
    }
}

/// `POST /wxa/getuserriskrank?access_token=…` with `{"appid", "openid", "scene",
/// "client_ip", …}` → `{"errcode": 0, "errmsg": "getuserriskrank succ", "risk_rank",
/// "unoin_id"}` (sic: WeChat's spelling).
///
/// In order: the token (`41001`, `40001`, `42001`); `48001` while the app has risk control
/// off; `47001` for a body not of the documented shape; `43104` when `appid` is not the
/// token's app (the openid cannot be that app's); `40003` for an openid that never logged
/// in to the app; `61010` when its last `wx.login` is older than `risk_openid_window`
/// (WeChat: the user must have visited the mini-program in the last 30 minutes).
pub(crate) async fn getuserriskrank(
    State(shared): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(response) = suffer(&shared, Api::Getuserriskrank).await {
        return response;
    }
    let token = params.get("access_token").map(String::as_str);
    let mut state = lock(&shared);
    let token_appid = token.and_then(|token| state.appid_of_token(token));
    let app = match app_of_access_token(&mut state, token) {
        Ok(app) => app,
        Err(rejection) => return rejection.into_response(),
    };
    if app.risk_control_off {
        return errcode(48001, "api unauthorized");
    }
    let Some(query) = RiskQuery::parse(&body) else {
        return errcode(47001, "data format error");
    };
    if token_appid.as_deref() != Some(query.appid.as_str()) {
        return errcode(43104, "appid does not match openid");
    }
    let Some(user) = app.users.get(&query.openid) else {
        return errcode(40003, "invalid openid");
    };
    if user.last_login.elapsed() > shared.config.risk_openid_window {
        return errcode(
            61010,
            "openid expired: the user has not visited the mini-program lately",
        );
    }
    let rank = app.risk_ranks.get(&query.openid).copied().unwrap_or(0);
    wechat_json(&json!({
        "errcode": 0,
        "errmsg": "getuserriskrank succ",
        "risk_rank": rank,
        "unoin_id": random::unoin_id(),
    }))
}

#[derive(Deserialize)]
struct RiskRequest {
    appid: Option<String>,
    openid: Option<String>,
    rank: Option<i64>,
    enabled: Option<bool>,
}

/// `POST /sandbox/risk {"appid"?, "openid", "rank"}` and/or `{"appid"?, "enabled"}` →
/// `{"appid", "enabled", "openid"?, "rank"?}`: getuserriskrank answers `rank` (0 to 4) for
/// that openid from now on (it need not have logged in yet); `"enabled": false` plays an
/// app that has not enabled risk control (`48001` from then on), `true` enables it again.
pub(crate) async fn sandbox_risk(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: RiskRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return bad_request(&format!(
                "expected {{\"appid\"?, \"openid\", \"rank\": 0-4}} or {{\"appid\"?, \"enabled\": true | false}}: {err}"
            ));
        }
    };
    let ranked = match (request.openid, request.rank) {
        (Some(openid), Some(rank)) => {
            let Some(rank) = u8::try_from(rank).ok().filter(|rank| *rank <= HIGHEST_RANK) else {
                return bad_request("rank must be 0 to 4");
            };
            if openid.is_empty() {
                return bad_request("the openid must not be empty");
            }
            Some((openid, rank))
        }
        (None, None) if request.enabled.is_some() => None,
        (None, None) => {
            return bad_request("give an \"openid\" and its \"rank\", or \"enabled\"");
        }
        _ => return bad_request("\"openid\" and \"rank\" go together"),
    };
    let mut state = lock(&shared);
    let Some((appid, app)) = state.control_app(request.appid.as_deref()) else {
        return unknown_app();
    };
    if let Some(enabled) = request.enabled {
        app.risk_control_off = !enabled;
    }
    let mut answer = json!({ "appid": appid, "enabled": !app.risk_control_off });
    if let Some((openid, rank)) = ranked {
        answer["openid"] = json!(openid);
        answer["rank"] = json!(rank);
        app.risk_ranks.insert(openid, rank);
    }
    Json(answer).into_response()
}
