//! `/session`: `GET` says who the bearer is and for how long (`?check=wechat` also asks
//! WeChat whether the session_key is still current); `DELETE` logs out.

use http::Method;
use lambda_http::{Request, RequestExt};
use serde::Serialize;

use super::{Route, SessionFunction};
use crate::config::Config;
use crate::domain::Session;
use crate::domain::clock::now_epoch_seconds;
use crate::edge::{
    ApiError, FromConfig, HttpFunction, InitError, bearer_token, production_adapters,
};
use crate::ports::{AccessTokenStore, Sessions, WeChat};
use crate::telemetry::metrics;
use crate::telemetry::timings::set_kind;
use crate::usecases::SessionQueries;

const ALLOWED_METHODS: &str = "GET, DELETE";
const CHECK_HINT: &str = "the only check is ?check=wechat";

/// `GET /session`'s 200 body: who the token belongs to, never the session_key.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SessionInfo {
    /// The user's openid.
    pub openid: String,
    /// The user's unionid, when WeChat gave one at login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Seconds until the session expires.
    pub expires_in: u64,
}

impl From<Session> for SessionInfo {
    fn from(session: Session) -> Self {
        Self {
            expires_in: session.expires_in(now_epoch_seconds()).as_secs(),
            openid: session.openid,
            unionid: session.unionid,
        }
    }
}

/// The 200 body of either method.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum SessionAnswer {
    /// `GET`: the session.
    Info(SessionInfo),
    /// `DELETE`: `{"logged_out": true}`.
    LoggedOut {
        /// Always true: the token no longer works.
        logged_out: bool,
    },
}

impl<S, W> HttpFunction for Route<SessionQueries<S, W>>
where
    S: Sessions + AccessTokenStore + Clone,
    W: WeChat,
{
    type Success = SessionAnswer;

    const NAME: &'static str = "session";
    const PATH: &'static str = "/session";
    const OUTCOME_METRIC: &'static str = metrics::SESSION_REQUESTS;
    const KIND_DIMENSION: Option<&'static str> = Some("Action");

    async fn serve(&self, request: &Request) -> Result<SessionAnswer, ApiError> {
        let method = request.method();
        if method != Method::GET && method != Method::DELETE {
            return Err(ApiError::MethodNotAllowed {
                allow: ALLOWED_METHODS,
            });
        }
        // The token first, as on every route: no query parameter is looked at before it.
        let token = bearer_token(request)?;
        if method == Method::DELETE {
            set_kind("logout");
            self.usecase.logout(&token).await?;
            return Ok(SessionAnswer::LoggedOut { logged_out: true });
        }
        let check_wechat = wants_wechat_check(request)?;
        set_kind(if check_wechat { "check" } else { "whoami" });
        let session = self.usecase.current(&token, check_wechat).await?;
        Ok(SessionAnswer::Info(session.into()))
    }
}

impl FromConfig for SessionFunction {
    async fn from_config(config: &Config) -> Result<Self, InitError> {
        let (table, wechat) = production_adapters(config).await?;
        Ok(Self::new(SessionQueries::new(table, wechat)))
    }
}

/// `?check=wechat` → true; no `check` → false; anything else is a 400, so a typo does not
/// silently skip the check the caller asked for.
fn wants_wechat_check(request: &Request) -> Result<bool, ApiError> {
    let parameters = request.query_string_parameters_ref();
    let values = parameters.map(|p| p.all("check").unwrap_or_default());
    match values.as_deref() {
        None | Some([]) => Ok(false),
        Some(["wechat"]) => Ok(true),
        Some(_) => Err(ApiError::InvalidRequest(CHECK_HINT)),
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
    fn answers_serialize_to_the_contract() {
        let info = SessionAnswer::Info(SessionInfo {
            openid: "o1".into(),
            unionid: None,
            expires_in: 5,
        });
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({"openid": "o1", "expires_in": 5})
        );
        assert_eq!(
            serde_json::to_value(SessionAnswer::LoggedOut { logged_out: true }).unwrap(),
            serde_json::json!({"logged_out": true})
        );
    }
}
