//! `/session`: `GET` says who the bearer is and for how long (`?check=wechat` also asks
//! WeChat whether the session_key is still current); `DELETE` logs out.

use http::Method;
use lambda_http::{Request, RequestExt};
use serde::Serialize;

use super::PhoneBody;
use crate::domain::LiveSession;
use crate::domain::clock::now_epoch_seconds;
use crate::edge::{ApiError, Function, Route, bearer_token};
use crate::ports::{AccessTokenStore, Quotas, Sessions, Users, WeChat};
use crate::telemetry::current::set_kind;
use crate::telemetry::metrics;
use crate::usecases::SessionQueries;

const ALLOWED_METHODS: &str = "GET, DELETE";
const CHECK_HINT: &str = "the only check is ?check=wechat";
const ALL_HINT: &str = "DELETE /session?all=true logs out everywhere; all takes no other value";
const APPID_HINT: &str =
    "?appid=<appid>[,<appid>…] names the mini-programs whose sessions the caller accepts, once";

/// `GET /session`'s 200 body: who the token belongs to, never the session_key.
#[derive(Serialize)]
pub struct SessionInfo {
    /// The mini-program the session belongs to.
    pub appid: String,
    /// The user's openid.
    pub openid: String,
    /// The user's unionid, when WeChat gave one at login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Seconds until the session expires.
    pub expires_in: u64,
    /// The phone number the user verified, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneBody>,
    /// How that number was verified: `legacy`, `code` or `realtime` (re-checked with the
    /// carrier), so a route can ask for a recent real-time check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified_by: Option<&'static str>,
    /// Epoch seconds of that verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified_at: Option<i64>,
    /// WeChat's risk rank (0-4) at sign-up, when the stack recorded one (`RISK_CHECK`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_rank: Option<u8>,
}

impl SessionInfo {
    /// What `GET /session` says about `live`.
    pub fn new(live: &LiveSession) -> Self {
        let session = &live.session;
        Self {
            appid: session.appid.clone(),
            expires_in: session.expires_in(now_epoch_seconds()).as_secs(),
            openid: session.openid.clone(),
            unionid: live.unionid().map(str::to_owned),
            phone: live.phone().cloned().map(PhoneBody::from),
            phone_verified_by: live.bound_phone().map(|phone| phone.verified_by.name()),
            phone_verified_at: live.bound_phone().map(|phone| phone.verified_at),
            risk_rank: live.user.risk.map(|risk| risk.rank.value()),
        }
    }
}

/// The 200 body of either method.
#[derive(Serialize)]
#[serde(untagged)]
pub enum SessionAnswer {
    /// `GET`: the session.
    Info(SessionInfo),
    /// `DELETE`: `{"logged_out": true}`; with `?all=true`, also how many sessions ended.
    LoggedOut {
        /// Always true: the token no longer works.
        logged_out: bool,
        /// `?all=true`: the sessions ended, this one included.
        #[serde(skip_serializing_if = "Option::is_none")]
        sessions: Option<u32>,
    },
}

/// `GET` and `DELETE /session`, served by the `session` binary.
pub const SESSION: Route = Route {
    function: Function {
        name: "session",
        path: Some("/session"),
        outcome_metric: metrics::SESSION_REQUESTS,
        kind_dimension: Some("Action"),
    },
    deadline_on_wechat: ApiError::WeChatUnavailable,
};

/// Says who the bearer is (checked with WeChat on `?check=wechat`), or logs them out.
pub async fn session<S, W>(
    queries: &SessionQueries<S, W>,
    request: &Request,
) -> Result<SessionAnswer, ApiError>
where
    S: Sessions + Users + AccessTokenStore + Quotas + Clone,
    W: WeChat,
{
    let method = request.method();
    if method != Method::GET && method != Method::DELETE {
        return Err(ApiError::MethodNotAllowed {
            allow: ALLOWED_METHODS,
        });
    }
    // The token first, as on every route: a token that is not live is refused before
    // any query parameter is acted on (the action is named first, for the metrics).
    let token = bearer_token(request)?;
    let delete = method == Method::DELETE;
    // The query is read once; a bad one is answered only after the token check.
    let action = if delete {
        wants_everywhere(request).map(|all| {
            if all {
                Action::LogoutEverywhere
            } else {
                Action::Logout
            }
        })
    } else {
        wants_wechat_check(request).map(|check| {
            if check {
                Action::CheckWithWeChat
            } else {
                Action::WhoAmI
            }
        })
    };
    set_kind(
        action
            .as_ref()
            .map_or("unknown", |action| action.metric_name()),
    );
    let expected_apps = expected_apps(request);
    let live = if delete {
        // A logout of a dead token still clears its leftover item.
        queries.session_or_discard(&token).await?
    } else {
        queries.session(&token).await?
    };
    // A caller that names its apps (a team's server introspecting a token) never hears
    // about a session of another app, the same person's or not.
    if let Some(apps) = expected_apps?
        && !apps.contains(&live.session.appid.as_str())
    {
        return Err(ApiError::WrongApp);
    }
    match action? {
        Action::LogoutEverywhere => {
            let sessions = queries.end_everywhere(&token).await?;
            Ok(logged_out(Some(sessions)))
        }
        Action::Logout => {
            queries.end(&token, &live).await?;
            Ok(logged_out(None))
        }
        Action::CheckWithWeChat => {
            queries.check(&token, &live).await?;
            Ok(SessionAnswer::Info(SessionInfo::new(&live)))
        }
        Action::WhoAmI => Ok(SessionAnswer::Info(SessionInfo::new(&live))),
    }
}

/// What a `/session` request asks for, read from its method and query.
enum Action {
    /// `GET`.
    WhoAmI,
    /// `GET ?check=wechat`.
    CheckWithWeChat,
    /// `DELETE`.
    Logout,
    /// `DELETE ?all=true`.
    LogoutEverywhere,
}

impl Action {
    /// The `Action` dimension of `SessionRequests` (docs/operations.md).
    fn metric_name(&self) -> &'static str {
        match self {
            Self::WhoAmI => "whoami",
            Self::CheckWithWeChat => "check",
            Self::Logout => "logout",
            Self::LogoutEverywhere => "logout_all",
        }
    }
}

/// `DELETE`'s 200 body; `sessions` with `?all=true`.
fn logged_out(sessions: Option<u32>) -> SessionAnswer {
    SessionAnswer::LoggedOut {
        logged_out: true,
        sessions,
    }
}

/// `?check=wechat` → true; no `check` → false; anything else is a 400, so a typo does not
/// silently skip the check the caller asked for.
fn wants_wechat_check(request: &Request) -> Result<bool, ApiError> {
    flag(request, "check", "wechat", CHECK_HINT)
}

/// `DELETE ?all=true` → true; no `all` → false; anything else is a 400, so a typo never
/// logs out only here when everywhere was asked for.
fn wants_everywhere(request: &Request) -> Result<bool, ApiError> {
    flag(request, "all", "true", ALL_HINT)
}

/// `?appid=wxA,wxB`: the apps the caller accepts a session of; absent → any served app.
fn expected_apps(request: &Request) -> Result<Option<Vec<&str>>, ApiError> {
    let Some(parameters) = request.query_string_parameters_ref() else {
        return Ok(None);
    };
    match parameters.all("appid").as_deref() {
        None | Some([]) => Ok(None),
        Some([listed]) => {
            let apps: Vec<&str> = listed.split(',').map(str::trim).collect();
            if apps.iter().any(|appid| appid.is_empty()) {
                return Err(ApiError::InvalidRequest(APPID_HINT));
            }
            Ok(Some(apps))
        }
        Some(_) => Err(ApiError::InvalidRequest(APPID_HINT)),
    }
}

/// A query parameter that is either absent or exactly once `on`.
fn flag(request: &Request, name: &str, on: &str, hint: &'static str) -> Result<bool, ApiError> {
    let parameters = request.query_string_parameters_ref();
    let values = parameters.map(|p| p.all(name).unwrap_or_default());
    match values.as_deref() {
        None | Some([]) => Ok(false),
        Some([value]) if *value == on => Ok(true),
        Some(_) => Err(ApiError::InvalidRequest(hint)),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn with_query(pairs: &[(&str, &str)]) -> Request {
        crate::testing::with_query(Request::default(), pairs)
    }

    #[test]
    fn only_check_wechat_asks_wechat() {
        assert_eq!(wants_wechat_check(&Request::default()), Ok(false));
        assert_eq!(
            wants_wechat_check(&with_query(&[("other", "x")])),
            Ok(false)
        );
        assert_eq!(
            wants_wechat_check(&with_query(&[("check", "wechat")])),
            Ok(true)
        );
        for bad in [
            vec![("check", "")],
            vec![("check", "WeChat")],
            vec![("check", "yes")],
            vec![("check", "wechat"), ("check", "wechat")],
        ] {
            assert_eq!(
                wants_wechat_check(&with_query(&bad)),
                Err(ApiError::InvalidRequest(CHECK_HINT)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn answers_serialize_as_documented() {
        let info = SessionAnswer::Info(SessionInfo {
            appid: "wxA".into(),
            openid: "o1".into(),
            unionid: None,
            expires_in: 5,
            phone: None,
            phone_verified_by: None,
            phone_verified_at: None,
            risk_rank: None,
        });
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({"appid": "wxA", "openid": "o1", "expires_in": 5})
        );
        assert_eq!(
            serde_json::to_value(SessionAnswer::LoggedOut {
                logged_out: true,
                sessions: None
            })
            .unwrap(),
            serde_json::json!({"logged_out": true})
        );
        assert_eq!(
            serde_json::to_value(SessionAnswer::LoggedOut {
                logged_out: true,
                sessions: Some(3)
            })
            .unwrap(),
            serde_json::json!({"logged_out": true, "sessions": 3})
        );
    }
}
