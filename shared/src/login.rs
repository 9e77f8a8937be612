//! `POST /onlogin`: exchange a `wx.login` code for a session token.
//!
//! Order matters: claim the code (conditional write) → code2Session → write the session.
//! The claim makes a replayed or raced code a 409 without a second WeChat call; a WeChat
//! answer that left the code unused gives the claim back so the user can retry with it.

use std::time::Duration;

use http::Method;
use lambda_http::Request;
use serde::{Deserialize, Serialize, Serializer};

use crate::api::{ApiError, Timings, Upstream, json_body};
use crate::clock::now_epoch_seconds;
use crate::config::Config;
use crate::function::{HttpFunction, InitError, clients};
use crate::session::{ClaimError, Session, SessionStore, SessionToken};
use crate::telemetry::metrics;
use crate::wechat::{LoginCode, WeChatClient};

const SHAPE_HINT: &str = "expected a JSON object with a string field \"code\" of 1-128 characters [A-Za-z0-9_-] from wx.login";

#[derive(Deserialize)]
struct LoginRequest {
    code: String,
}

/// A successful login as the contract's 200 body.
#[derive(Debug, Serialize)]
pub struct LoginSuccess {
    /// The bearer token for later calls.
    #[serde(serialize_with = "expose_token")]
    pub token: SessionToken,
    /// Seconds until the session expires.
    pub expires_in: u64,
    /// The user's openid.
    pub openid: String,
    /// The user's unionid, only when WeChat returned one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

fn expose_token<S: Serializer>(token: &SessionToken, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(token.expose())
}

/// The onlogin handler with the clients it needs, built once per Lambda instance.
pub struct LoginService {
    wechat: WeChatClient,
    store: SessionStore,
    session_ttl: Duration,
}

impl HttpFunction for LoginService {
    type Success = LoginSuccess;

    const NAME: &'static str = "onlogin";
    const PATH: &'static str = "/onlogin";
    const OUTCOME_METRIC: &'static str = metrics::LOGINS;

    async fn from_config(config: &Config) -> Result<Self, InitError> {
        let (wechat, store) = clients(config).await?;
        Ok(Self::new(wechat, store, config.session_ttl))
    }

    async fn serve(&self, request: &Request, timings: &Timings) -> Result<Self::Success, ApiError> {
        if request.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed { allow: "POST" });
        }
        let body: LoginRequest = json_body(request, SHAPE_HINT)?;
        let code = LoginCode::parse(&body.code).ok_or(ApiError::InvalidRequest(SHAPE_HINT))?;
        self.login(&code, timings).await
    }
}

impl LoginService {
    /// Assembles a service from ready clients (tests point them at local stand-ins).
    pub fn new(wechat: WeChatClient, store: SessionStore, session_ttl: Duration) -> Self {
        Self {
            wechat,
            store,
            session_ttl,
        }
    }

    /// Exchanges a valid code for a new session.
    pub async fn login(
        &self,
        code: &LoginCode,
        timings: &Timings,
    ) -> Result<LoginSuccess, ApiError> {
        let now = now_epoch_seconds();
        let claim = timings
            .wait(Upstream::Store, self.store.claim_code(code, now))
            .await
            .map_err(|err| match err {
                ClaimError::AlreadyClaimed => ApiError::CodeUsed,
                ClaimError::Store(err) => ApiError::store_unavailable(&err),
            })?;

        let exchanged = timings
            .wait(Upstream::WeChat, self.wechat.code2session(code))
            .await;
        let identity = match exchanged {
            Ok(identity) => identity,
            Err(err) => {
                tracing::warn!(wechat_error = %err, "code2Session failed");
                if err.leaves_code_unused() {
                    // Best effort: if this fails the claim still lapses after 5 minutes.
                    if let Err(release_err) = timings
                        .wait(Upstream::Store, self.store.release_code(claim))
                        .await
                    {
                        tracing::warn!(error = %release_err, "could not release the code claim");
                    }
                }
                return Err(err.into());
            }
        };

        let token = SessionToken::generate().map_err(|err| {
            tracing::error!(error = %err, "the OS random source failed");
            ApiError::StoreUnavailable
        })?;
        let ttl_seconds = i64::try_from(self.session_ttl.as_secs()).unwrap_or(i64::MAX);
        // Read the clock again: the WeChat call may have taken seconds, and the session must
        // live the full `expires_in` the client is told.
        let created_at = now_epoch_seconds();
        let session = Session {
            openid: identity.openid,
            unionid: identity.unionid,
            session_key: identity.session_key,
            created_at,
            expires_at: created_at.saturating_add(ttl_seconds),
        };
        // The code is spent at WeChat now; if this write fails the user must wx.login again.
        timings
            .wait(
                Upstream::Store,
                self.store.put_session(&token.hash(), &session),
            )
            .await
            .map_err(|err| ApiError::store_unavailable(&err))?;

        Ok(LoginSuccess {
            token,
            expires_in: self.session_ttl.as_secs(),
            openid: session.openid,
            unionid: session.unionid,
        })
    }
}
