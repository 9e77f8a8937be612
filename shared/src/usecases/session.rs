//! Session queries: who a bearer token belongs to (optionally checked with WeChat),
//! logout, and logout everywhere.

use super::{AccessTokens, Apps, end_every_session, live_session};
use crate::domain::clock::now_epoch_seconds;
use crate::domain::{
    Errcode, LiveSession, QuotaWindow, Session, SessionError, SessionToken, WeChatError,
};
use crate::ports::{AccessTokenStore, Quotas, Sessions, Users, WeChat};
use crate::telemetry::current::set_app;

/// The session use-cases with the ports they need, built once per instance.
pub struct SessionQueries<S, W> {
    store: S,
    apps: Apps<W>,
    access_tokens: AccessTokens<S>,
    /// `?check=wechat` calls one user may make per minute; `None` for no limit.
    checks_per_minute: Option<u32>,
}

impl<S: Sessions + Users + AccessTokenStore + Quotas + Clone, W: WeChat> SessionQueries<S, W> {
    /// Session queries over `store` (sessions, users, the shared access tokens, quotas)
    /// and each app's WeChat, with no limit on WeChat checks.
    pub fn new(store: S, apps: Apps<W>) -> Self {
        Self {
            access_tokens: AccessTokens::new(store.clone()),
            store,
            apps,
            checks_per_minute: None,
        }
    }

    /// The same, allowing each user `limit` WeChat checks per minute over all their
    /// sessions (`None`: no limit).
    pub fn with_check_limit(self, limit: Option<u32>) -> Self {
        Self {
            checks_per_minute: limit,
            ..self
        }
    }

    /// The live session behind `token`, or [`SessionError::NoSession`] (also for a
    /// session of an app the stack no longer serves).
    pub async fn session(&self, token: &SessionToken) -> Result<LiveSession, SessionError> {
        let live = live_session(&self.store, token)
            .await?
            .ok_or(SessionError::NoSession)?;
        let Some(wechat) = self.apps.of_session(&live.session) else {
            tracing::warn!("a session of an app this stack no longer serves");
            return Err(SessionError::NoSession);
        };
        set_app(wechat.appid());
        Ok(live)
    }

    /// [`session`](Self::session) for a logout: a token that is not live has its
    /// leftover item (expired, not yet swept by TTL) deleted all the same.
    pub async fn session_or_discard(
        &self,
        token: &SessionToken,
    ) -> Result<LiveSession, SessionError> {
        match live_session(&self.store, token).await? {
            Some(live) => {
                set_app(&live.session.appid);
                Ok(live)
            }
            None => {
                self.store.delete_session(&token.hash()).await?;
                Err(SessionError::NoSession)
            }
        }
    }

    /// Asks WeChat's checksession whether `live`'s session_key is still the user's
    /// current one, counted against the user's per-minute quota.
    pub async fn check(
        &self,
        token: &SessionToken,
        live: &LiveSession,
    ) -> Result<(), SessionError> {
        let now = now_epoch_seconds();
        let window = QuotaWindow::wechat_checks(&token.user_key(), now);
        if let Some(limit) = self.checks_per_minute
            && !self.store.take(&window, limit).await?
        {
            return Err(SessionError::RateLimited {
                retry_after_seconds: window.retry_after_seconds(now),
            });
        }
        let checked = self.check_with_wechat(&live.session).await;
        if let Err(SessionError::WeChat(err)) = &checked
            && self.checks_per_minute.is_some()
            && err.reached_nothing()
            && let Err(store) = self.store.give_back(&window).await
        {
            tracing::warn!(error = %store, "check quota not given back");
        }
        checked
    }

    /// The live session behind `token`. With `check_wechat`, WeChat's checksession must
    /// also confirm the stored session_key is still the user's current one: a mini-program
    /// asks before a legacy getPhoneNumber decrypt, or on launch, to log in again before
    /// the user taps.
    pub async fn current(
        &self,
        token: &SessionToken,
        check_wechat: bool,
    ) -> Result<LiveSession, SessionError> {
        let live = self.session(token).await?;
        if check_wechat {
            self.check(token, &live).await?;
        }
        Ok(live)
    }

    /// Ends the session: the token stops working on every route at once. A token that
    /// was not live is [`SessionError::NoSession`] (its leftover item is deleted anyway).
    pub async fn logout(&self, token: &SessionToken) -> Result<(), SessionError> {
        let live = self.session_or_discard(token).await?;
        self.end(token, &live).await
    }

    /// [`logout`](Self::logout) for a session already looked up.
    pub async fn end(&self, token: &SessionToken, live: &LiveSession) -> Result<(), SessionError> {
        // The item first: while it fails the session stays listed (and live), so nothing
        // is left that a later erasure could not find.
        self.store.delete_session(&token.hash()).await?;
        if let Err(err) = self
            .store
            .forget_session(&token.user_key(), &live.listing)
            .await
        {
            // The token is dead already (no item); only the list is stale until it expires.
            tracing::warn!(error = %err, "logged-out session left on the user's list");
        }
        Ok(())
    }

    /// Ends every live session of the caller's user at once, this one included: each
    /// token is refused by every route and the authorizer from now on. Answers how many
    /// sessions were ended.
    pub async fn logout_everywhere(&self, token: &SessionToken) -> Result<u32, SessionError> {
        self.session(token).await?;
        self.end_everywhere(token).await
    }

    /// [`logout_everywhere`](Self::logout_everywhere) for a session already looked up.
    pub async fn end_everywhere(&self, token: &SessionToken) -> Result<u32, SessionError> {
        // One write ends them all; their items (tokens, session_keys) go next rather than
        // at expiry. Should that fail, they stay on the user's ended list, refused, until
        // an erasure or their expiry.
        let live_ended = end_every_session(&self.store, &token.user_key()).await?;
        // The caller's own session was live when checked: it counts even when a log out
        // everywhere from another device ended it first.
        Ok(u32::try_from(live_ended).unwrap_or(u32::MAX).max(1))
    }

    async fn check_with_wechat(&self, session: &Session) -> Result<(), SessionError> {
        let Some(wechat) = self.apps.of_session(session) else {
            tracing::warn!("a session of an app this stack no longer serves");
            return Err(SessionError::NoSession);
        };
        self.access_tokens
            .with_token(wechat, |token| async move {
                wechat
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::{Twins, WeChatApi, answer};

    #[tokio::test]
    async fn the_session_says_who_without_asking_wechat() {
        let w = Twins::new();
        let (token, _) = w.logged_in("o1", Some("u1")).await;
        let session = w
            .session_queries()
            .current(&token, false)
            .await
            .unwrap()
            .session;
        assert_eq!(
            (session.openid.as_str(), session.unionid.as_deref()),
            ("o1", Some("u1"))
        );
        assert!(
            session.expires_in(crate::domain::clock::now_epoch_seconds())
                > Duration::from_secs(7100)
        );
        assert_eq!(w.wechat.calls(WeChatApi::CheckSession), 0);
    }

    #[tokio::test]
    async fn the_wechat_check_passes_until_the_user_logs_in_elsewhere() {
        let w = Twins::new();
        let (token, _) = w.logged_in("o1", Some("u1")).await;
        w.session_queries().current(&token, true).await.unwrap();
        let (_elsewhere, _) = w.logged_in("o1", Some("u1")).await;
        let err = w.session_queries().current(&token, true).await.unwrap_err();
        assert_eq!(err, SessionError::KeyMismatch);
        assert_eq!(answer(err), (422, "session_key_mismatch"));
        assert_eq!(w.wechat.calls(WeChatApi::StableToken), 1);
    }

    #[tokio::test]
    async fn the_check_refreshes_a_rejected_token_once() {
        let w = Twins::new();
        let (token, _) = w.logged_in("o1", Some("u1")).await;
        w.session_queries().current(&token, true).await.unwrap();
        w.wechat.revoke_access_tokens();
        w.session_queries().current(&token, true).await.unwrap();
        assert_eq!(w.wechat.forced_refreshes(), 1);
        assert_eq!(w.wechat.calls(WeChatApi::CheckSession), 3);
    }

    #[tokio::test]
    async fn wechat_failures_of_the_check_map_to_the_api() {
        let table = [
            (
                WeChatError::Api(Errcode::SystemBusy),
                (503, "wechat_unavailable"),
            ),
            (
                WeChatError::Api(Errcode::RateLimited),
                (429, "rate_limited"),
            ),
            (
                WeChatError::Api(Errcode::IpNotWhitelisted),
                (502, "wechat_error"),
            ),
            (WeChatError::Timeout, (503, "wechat_unavailable")),
        ];
        for (failure, expected) in table {
            let w = Twins::new();
            let (token, _) = w.logged_in("o1", Some("u1")).await;
            w.wechat.fail(WeChatApi::CheckSession, failure.clone(), 1);
            let err = w.session_queries().current(&token, true).await.unwrap_err();
            assert_eq!(answer(err), expected, "{failure:?}");
        }
    }

    #[tokio::test]
    async fn logout_ends_the_session_once() {
        let w = Twins::new();
        let (token, _) = w.logged_in("o1", Some("u1")).await;
        w.session_queries().logout(&token).await.unwrap();
        assert_eq!(
            w.session_queries()
                .current(&token, false)
                .await
                .unwrap_err(),
            SessionError::NoSession
        );
        let again = w.session_queries().logout(&token).await.unwrap_err();
        assert_eq!(answer(again), (401, "invalid_token"));
        assert_eq!(w.table.session_count(), 0);
    }

    #[tokio::test]
    async fn unknown_tokens_and_store_outages() {
        let w = Twins::new();
        let stranger = crate::testing::unknown_token();
        assert_eq!(
            w.session_queries()
                .current(&stranger, true)
                .await
                .unwrap_err(),
            SessionError::NoSession
        );
        let (token, _) = w.logged_in("o1", Some("u1")).await;
        w.table.fail_next(2);
        assert_eq!(
            answer(
                w.session_queries()
                    .current(&token, false)
                    .await
                    .unwrap_err()
            ),
            (503, "store_unavailable")
        );
        assert_eq!(
            answer(w.session_queries().logout(&token).await.unwrap_err()),
            (503, "store_unavailable")
        );
        w.session_queries().current(&token, false).await.unwrap();
    }

    #[tokio::test]
    async fn a_session_whose_user_item_is_gone_is_refused() {
        let w = Twins::new();
        let (token, _) = w.logged_in("o1", None).await;
        // As an operator deleting the user item by hand: its sessions must not outlive it
        // without the revocation check the item carries.
        w.table.delete_user(&token.user_key());
        assert_eq!(
            w.session_queries()
                .current(&token, false)
                .await
                .unwrap_err(),
            SessionError::NoSession
        );
        assert!(w.authorize().live_session(&token).await.unwrap().is_none());
    }
}
