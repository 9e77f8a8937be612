//! Session queries: who a bearer token belongs to (optionally checked with WeChat), and
//! logout.

use super::{AccessTokens, live_session};
use crate::domain::clock::now_epoch_seconds;
use crate::domain::{Errcode, Session, SessionError, SessionToken, WeChatError};
use crate::ports::{AccessTokenStore, Sessions, WeChat};

/// The session use-cases with the ports they need, built once per instance.
pub struct SessionQueries<S, W> {
    store: S,
    wechat: W,
    access_tokens: AccessTokens<S>,
}

impl<S: Sessions + AccessTokenStore + Clone, W: WeChat> SessionQueries<S, W> {
    /// Session queries over `store` (sessions, the shared access token) and `wechat`.
    pub fn new(store: S, wechat: W) -> Self {
        Self {
            access_tokens: AccessTokens::new(store.clone()),
            store,
            wechat,
        }
    }

    /// The live session behind `token`. With `check_wechat`, WeChat's checksession must
    /// also confirm the stored session_key is still the user's current one: a mini-program
    /// asks before a legacy getPhoneNumber decrypt, or on launch, to log in again before
    /// the user taps.
    pub async fn current(
        &self,
        token: &SessionToken,
        check_wechat: bool,
    ) -> Result<Session, SessionError> {
        let session = live_session(&self.store, token)
            .await?
            .ok_or(SessionError::NoSession)?;
        if check_wechat {
            self.check_with_wechat(&session).await?;
        }
        Ok(session)
    }

    /// Ends the session: the token stops working on every route at once. A token that
    /// was not live is [`SessionError::NoSession`] (its leftover item is deleted anyway).
    pub async fn logout(&self, token: &SessionToken) -> Result<(), SessionError> {
        let was_live = self
            .store
            .delete_session(&token.hash(), now_epoch_seconds())
            .await?;
        if was_live {
            Ok(())
        } else {
            Err(SessionError::NoSession)
        }
    }

    async fn check_with_wechat(&self, session: &Session) -> Result<(), SessionError> {
        self.access_tokens
            .with_token(&self.wechat, |token| async move {
                self.wechat
                    .check_session(&token, &session.openid, &session.session_key)
                    .await
            })
            .await
            .map_err(|err| match err {
                // The stored key is no longer the user's: wx.login + /onlogin again.
                WeChatError::Api(Errcode::InvalidSignature) => SessionError::KeyMismatch,
                other => {
                    tracing::warn!(wechat_error = %other, "WeChat checksession failed");
                    SessionError::WeChat(other)
                }
            })
    }
}
