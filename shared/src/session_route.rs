//! `/session`: `GET` says who the bearer is and for how long; `DELETE` logs out.
//!
//! `GET /session?check=wechat` also asks WeChat's `checksession` whether the stored
//! session_key is still the user's current one: a mini-program calls it before a
//! legacy getPhoneNumber decrypt, or on launch, to log in again before the user taps.

use http::Method;
use lambda_http::{Request, RequestExt};
use serde::Serialize;

use crate::access_token::AccessTokenCache;
use crate::api::{ApiError, Timings, Upstream, bearer_token, live_session};
use crate::clock::now_epoch_seconds;
use crate::config::Config;
use crate::function::{HttpFunction, InitError, clients};
use crate::session::{Session, SessionStore, SessionToken};
use crate::telemetry::metrics;
use crate::wechat::{Errcode, WeChatClient, WeChatError};

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

/// The session handler with its clients, built once per Lambda instance.
pub struct SessionService {
    wechat: WeChatClient,
    store: SessionStore,
    access_tokens: AccessTokenCache,
}

impl HttpFunction for SessionService {
    type Success = SessionAnswer;

    const NAME: &'static str = "session";
    const PATH: &'static str = "/session";
    const OUTCOME_METRIC: &'static str = metrics::SESSION_REQUESTS;
    const KIND_DIMENSION: Option<&'static str> = Some("Action");

    async fn from_config(config: &Config) -> Result<Self, InitError> {
        let (wechat, store) = clients(config).await?;
        Ok(Self::new(wechat, store))
    }

    async fn serve(&self, request: &Request, timings: &Timings) -> Result<Self::Success, ApiError> {
        let method = request.method();
        if method != Method::GET && method != Method::DELETE {
            return Err(ApiError::MethodNotAllowed {
                allow: ALLOWED_METHODS,
            });
        }
        // The token first, as on every route: no query parameter is looked at before it.
        let token = bearer_token(request)?;
        if method == Method::DELETE {
            timings.set_kind("logout");
            return self.logout(&token, timings).await;
        }
        let check_wechat = wants_wechat_check(request)?;
        timings.set_kind(if check_wechat { "check" } else { "whoami" });
        let session = live_session(&self.store, &token, timings).await?;
        if check_wechat {
            self.check_with_wechat(&session, timings).await?;
        }
        Ok(SessionAnswer::Info(SessionInfo {
            expires_in: u64::try_from(session.expires_at - now_epoch_seconds()).unwrap_or(0),
            openid: session.openid,
            unionid: session.unionid,
        }))
    }
}

impl SessionService {
    /// Assembles a service from ready clients (tests point them at local stand-ins).
    pub fn new(wechat: WeChatClient, store: SessionStore) -> Self {
        Self {
            access_tokens: AccessTokenCache::new(store.clone()),
            wechat,
            store,
        }
    }

    async fn logout(
        &self,
        token: &SessionToken,
        timings: &Timings,
    ) -> Result<SessionAnswer, ApiError> {
        let was_live = timings
            .wait(
                Upstream::Store,
                self.store
                    .delete_session(&token.hash(), now_epoch_seconds()),
            )
            .await
            .map_err(|err| ApiError::store_unavailable(&err))?;
        // A token that was not live gets the same 401 as on every other route; the
        // client treats that as "already logged out".
        if was_live {
            Ok(SessionAnswer::LoggedOut { logged_out: true })
        } else {
            Err(ApiError::InvalidToken)
        }
    }

    async fn check_with_wechat(
        &self,
        session: &Session,
        timings: &Timings,
    ) -> Result<(), ApiError> {
        self.access_tokens
            .with_token(&self.wechat, timings, |token| async move {
                self.wechat
                    .check_session(&token, &session.openid, &session.session_key)
                    .await
            })
            .await
            .map_err(|err| match err {
                // The stored key is no longer the user's: wx.login + /onlogin again.
                WeChatError::Api(Errcode::InvalidSignature) => ApiError::SessionKeyMismatch,
                other => {
                    tracing::warn!(wechat_error = %other, "WeChat checksession failed");
                    other.into()
                }
            })
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
    use std::collections::HashMap;

    fn with_query(pairs: &[(&str, &str)]) -> Request {
        let mut query: HashMap<String, Vec<String>> = HashMap::new();
        for (key, value) in pairs {
            query
                .entry((*key).to_owned())
                .or_default()
                .push((*value).to_owned());
        }
        Request::default().with_query_string_parameters(query)
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
