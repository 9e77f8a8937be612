//! Login: exchange a `wx.login` code for a session, and record it on the user.
//!
//! The app comes first: the one the request names, else WeChat's Referer, else the
//! stack's only one; nothing is called for a request that names none or a foreign one.
//!
//! Order matters: claim the code (conditional write) → code2Session → write the session →
//! list it on the user. The session goes live only when listed, and is written first so
//! that an erasure which finds it listed also finds its item to delete.
//! The claim makes a replayed or raced code fail without a second WeChat call; a WeChat
//! answer that left the code unused gives the claim back so the user can retry with it.
//!
//! With `RISK_CHECK` on, a sign-up then asks WeChat for the user's risk rank
//! ([`RiskCheck`]) before the token is handed out; under `enforce` a rank at or above the
//! threshold ends the new session at once, so nobody ever holds its token.

use std::time::Duration;

use super::apps::{AppHint, Apps};
use super::client_limit::ClientLimit;
use super::risk_check::{REFUSED_USER_KEPT_SECONDS, RiskCheck};
use super::{delete_ended, end_every_session};
use crate::domain::clock::{now_epoch_millis, now_epoch_seconds};
use crate::domain::{
    ListedSession, LoginCode, LoginError, RiskPolicy, Session, SessionToken, StackKey, User,
    UserKey, UserLogin,
};
use crate::ports::{
    AccessTokenStore, ClaimError, CodeClaims, Quotas, Sessions, StackKeys, Users, WeChat,
};
use crate::telemetry::current::set_app;

/// A new session: the token for its owner and what the client is told about it.
#[derive(Debug)]
pub struct LoggedIn {
    /// The mini-program logged in to.
    pub appid: String,
    /// The bearer token for later calls (only its hash is stored).
    pub token: SessionToken,
    /// The stored session.
    pub session: Session,
    /// How long the session lives from now.
    pub expires_in: Duration,
    /// The user, as stored after this login.
    pub user: User,
    /// True on the user's first login.
    pub new_user: bool,
}

/// The login use-case with the ports it needs, built once per instance.
pub struct Login<S, W, K> {
    store: S,
    apps: Apps<W>,
    /// The stack's key, which names each user ([`StackKey::user_key`]).
    stack_keys: K,
    session_ttl: Duration,
    /// How long a user not seen again is kept; `None`: for good.
    keep_inactive_users: Option<Duration>,
    /// Live sessions one user may hold: a login beyond it ends the oldest.
    max_sessions: usize,
    /// Logins one client address may start per minute; `None`: no limit.
    client_limit: Option<ClientLimit>,
    /// WeChat's risk rank at sign-up; `None`: never asked (`RISK_CHECK=off`).
    risk: Option<RiskCheck<S>>,
}

/// Default live sessions per user: enough for a phone, a tablet and WeChat on a PC, with
/// room to spare.
pub const DEFAULT_MAX_SESSIONS_PER_USER: usize = 10;

impl<S, W, K> Login<S, W, K>
where
    S: CodeClaims + Sessions + Users + Quotas + AccessTokenStore + Clone,
    W: WeChat,
    K: StackKeys,
{
    /// Login over `store` (claims, sessions, users) and each app's WeChat, naming users
    /// with the stack key `stack_keys` holds, issuing sessions that live `session_ttl`,
    /// keeping users for good.
    pub fn new(store: S, apps: Apps<W>, stack_keys: K, session_ttl: Duration) -> Self {
        Self {
            store,
            apps,
            stack_keys,
            session_ttl,
            keep_inactive_users: None,
            max_sessions: DEFAULT_MAX_SESSIONS_PER_USER,
            client_limit: None,
            risk: None,
        }
    }

    /// The same, asking WeChat for the risk rank of each sign-up under `policy`.
    pub fn with_risk_check(self, policy: RiskPolicy) -> Self {
        Self {
            risk: policy
                .asks()
                .then(|| RiskCheck::new(policy, self.store.clone())),
            ..self
        }
    }

    /// The same, holding each client address to `limit` (see [`ClientLimit`]).
    pub fn with_client_limit(self, limit: Option<ClientLimit>) -> Self {
        Self {
            client_limit: limit,
            ..self
        }
    }

    /// The same, letting one user hold at most `cap` live sessions (at least 1): a login
    /// beyond it ends the oldest, so the user item stays small.
    pub fn with_session_cap(self, cap: usize) -> Self {
        Self {
            max_sessions: cap.max(1),
            ..self
        }
    }

    /// The same, expiring a user `inactive` after their last login (never before their
    /// last session ends); `None` keeps users for good.
    pub fn keeping_inactive_users_for(self, inactive: Option<Duration>) -> Self {
        Self {
            keep_inactive_users: inactive,
            ..self
        }
    }

    /// Exchanges a valid code, sent to the app `hint` points at, for a new session in it.
    pub async fn login(&self, hint: AppHint<'_>, code: &LoginCode) -> Result<LoggedIn, LoginError> {
        self.login_from(hint, code, None).await
    }

    /// [`login`](Self::login) for a request from `client` (its source address), counted
    /// against the per-client limit before anything is claimed or sent to WeChat.
    pub async fn login_from(
        &self,
        hint: AppHint<'_>,
        code: &LoginCode,
        client: Option<&str>,
    ) -> Result<LoggedIn, LoginError> {
        let wechat = self.apps.for_login(hint)?;
        set_app(wechat.appid());
        // Before the code is claimed or spent: without the key no user (nor client) can be
        // named, and the client may retry with the same code. Read once per instance.
        let stack_key = self.stack_keys.stack_key().await?;
        // The client is counted under a keyed name.
        let limited = self
            .client_limit
            .as_ref()
            .zip(client)
            .map(|(limit, address)| (limit, stack_key.client_subject(address)));
        if let Some((limit, subject)) = &limited
            && let Err(retry_after_seconds) = limit.admit(subject, now_epoch_seconds())
        {
            return Err(LoginError::ClientRateLimited {
                retry_after_seconds,
            });
        }
        let logged_in = self.exchange(wechat, &stack_key, code, client).await;
        if let (Some((limit, subject)), Err(err)) = (&limited, &logged_in)
            && err.is_the_clients_fault()
        {
            limit
                .failed(&self.store, subject, now_epoch_seconds())
                .await;
        }
        logged_in
    }

    /// Claims `code`, exchanges it at `wechat`, and records the session on its user.
    async fn exchange(
        &self,
        wechat: &W,
        stack_key: &StackKey,
        code: &LoginCode,
        client: Option<&str>,
    ) -> Result<LoggedIn, LoginError> {
        let appid = wechat.appid();
        let claim = self
            .store
            .claim_code(appid, code, now_epoch_seconds())
            .await
            .map_err(|err| match err {
                ClaimError::AlreadyClaimed => LoginError::CodeAlreadyClaimed,
                ClaimError::Store(err) => LoginError::Store(err),
            })?;

        let login = match wechat.code2session(code).await {
            Ok(login) => login,
            Err(err) => {
                tracing::warn!(wechat_error = %err, "code2Session failed");
                if err.leaves_code_unused() {
                    // Best effort: if this fails the claim still lapses after 5 minutes.
                    if let Err(release_err) = self.store.release_code(claim).await {
                        tracing::warn!(error = %release_err, "could not release the code claim");
                    }
                }
                return Err(err.into());
            }
        };

        let user_key = stack_key.user_key(&login.openid);
        let token = SessionToken::issue(&user_key).map_err(|err| {
            tracing::error!(error = %err, "the OS random source failed");
            LoginError::RandomSource
        })?;
        let hash = token.hash();
        // Read the clock again: the WeChat call may have taken seconds, and the session must
        // live the full `expires_in` the client is told.
        let session = Session::start(appid, login, now_epoch_millis(), self.session_ttl);
        let keep_until = self.keep_inactive_users.map(|inactive| {
            let inactive = i64::try_from(inactive.as_secs()).unwrap_or(i64::MAX);
            session
                .created_at
                .saturating_add(inactive)
                .max(session.expires_at)
        });
        let user_login = UserLogin {
            appid: appid.to_owned(),
            openid: session.openid.clone(),
            unionid: session.unionid.clone(),
            at: session.created_at,
            session: ListedSession::of(&session, &hash),
            keep_until,
        };
        // The code is spent at WeChat now; if a write fails the user must wx.login again
        // (a session written but never listed is never handed out, and expires).
        self.store.put_session(&hash, &session).await?;
        let recorded = match self.store.record_login(&user_key, &user_login).await {
            Ok(recorded) => recorded,
            Err(err) => {
                // Never listed, never handed out: delete it now rather than leave personal
                // data no erasure can find (best effort: the TTL ends it otherwise).
                if let Err(delete) = self.store.delete_session(&hash).await {
                    tracing::warn!(error = %delete, "unlisted session item left to its TTL");
                }
                return Err(err.into());
            }
        };
        let mut user = recorded.user;
        if let Some(risk) = &self.risk
            && risk.wanted(&user, recorded.new_user, now_epoch_seconds())
        {
            self.check_risk(
                risk,
                wechat,
                &user_key,
                &mut user,
                &user_login.session,
                client,
            )
            .await?;
        }
        self.end_beyond_cap(&user_key, &user, &user_login.session)
            .await;
        Ok(LoggedIn {
            appid: appid.to_owned(),
            token,
            session,
            expires_in: self.session_ttl,
            user,
            new_user: recorded.new_user,
        })
    }

    /// Asks WeChat for the rank of `user`, records it, and under `enforce` refuses a user
    /// ranked at or above the threshold: by the new rank, else (WeChat failing) by the one
    /// recorded before, so an outage never lets a user refused before in. A refused user's
    /// sessions all end (one ranked under `record` may hold some), and the user item
    /// expires after [`REFUSED_USER_KEPT_SECONDS`].
    async fn check_risk(
        &self,
        risk: &RiskCheck<S>,
        wechat: &W,
        key: &UserKey,
        user: &mut User,
        this: &ListedSession,
        client: Option<&str>,
    ) -> Result<(), LoginError> {
        if let Some(assessed) = risk.assess(wechat, &user.openid, client).await {
            let expires_at = risk
                .refuses(&assessed)
                .then(|| assessed.checked_at + REFUSED_USER_KEPT_SECONDS);
            match self
                .store
                .record_risk(key, this, &assessed, expires_at)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!("the login's session ended before its rank was recorded")
                }
                Err(err) => tracing::warn!(error = %err, "risk rank not recorded on the user"),
            }
            user.risk = Some(assessed);
        }
        if !user.risk.is_some_and(|known| risk.refuses(&known)) {
            return Ok(());
        }
        // Nobody has seen this login's token; any older session ends with it.
        if let Err(err) = end_every_session(&self.store, key).await {
            tracing::warn!(error = %err, "a refused user's sessions left to their expiry");
        }
        tracing::warn!("sign-up refused: WeChat's risk rank is at or above RISK_RANK_THRESHOLD");
        Err(LoginError::RiskyUser)
    }
}

impl<S, W, K> Login<S, W, K>
where
    S: CodeClaims + Sessions + Users + Quotas + AccessTokenStore + Clone,
    W: WeChat,
    K: StackKeys,
{
    /// Ends the user's oldest live sessions beyond the cap, never `this` one. Best effort:
    /// the login has succeeded, and the next one tries again.
    async fn end_beyond_cap(&self, key: &UserKey, user: &User, this: &ListedSession) {
        let now = now_epoch_seconds();
        let mut live: Vec<&ListedSession> = user
            .sessions
            .iter()
            .filter(|listed| listed.is_live_at(now) && *listed != this)
            .collect();
        // This login's own session takes one place of the cap.
        let keep = self.max_sessions.saturating_sub(1);
        if live.len() <= keep {
            return;
        }
        live.sort_by_key(|listed| (listed.created_at, listed.expires_at));
        let oldest: Vec<ListedSession> = live[..live.len() - keep]
            .iter()
            .map(|listed| (*listed).clone())
            .collect();
        let ended = async {
            self.store.end_listed(key, &oldest).await?;
            delete_ended(&self.store, key, &oldest).await
        };
        match ended.await {
            Ok(()) => tracing::info!(
                ended = oldest.len(),
                "oldest sessions ended: the user's cap"
            ),
            Err(err) => tracing::warn!(error = %err, "sessions beyond the cap not ended yet"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Errcode, WeChatError};
    use crate::testing::{Twins, WeChatApi, answer};

    fn code(text: &str) -> LoginCode {
        LoginCode::parse(text).unwrap()
    }

    #[tokio::test]
    async fn a_fresh_code_gives_one_session_and_only_once() {
        let w = Twins::new();
        let (raw, key) = w.wechat.login("o1", Some("u1"));
        let logged_in = w
            .login()
            .login(AppHint::default(), &code(&raw))
            .await
            .unwrap();
        assert_eq!(logged_in.token.expose().len(), SessionToken::ENCODED_LEN);
        assert_eq!(logged_in.session.openid, "o1");
        assert_eq!(logged_in.session.unionid.as_deref(), Some("u1"));
        assert_eq!(logged_in.expires_in, crate::testing::SESSION_TTL);
        let stored = w
            .table
            .get_session(&logged_in.token, now_epoch_millis())
            .await
            .unwrap()
            .expect("the session is stored under the token's hash");
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&stored.session.session_key),
            key
        );

        let replay = w
            .login()
            .login(AppHint::default(), &code(&raw))
            .await
            .unwrap_err();
        assert_eq!(replay, LoginError::CodeAlreadyClaimed);
        assert_eq!(answer(replay), (409, "code_used"));
        assert_eq!(
            w.wechat.calls(WeChatApi::Code2Session),
            1,
            "a replay never reaches WeChat"
        );
    }

    /// Every code2Session outcome: the client's answer, and whether the claim is given
    /// back (the same code works on retry) or kept (the code may be spent: 409 on retry).
    #[tokio::test]
    async fn each_wechat_failure_decides_the_answer_and_the_claim() {
        let api = |raw: i64| WeChatError::Api(Errcode::from_raw(raw).unwrap());
        let table = [
            (api(-1), (503, "wechat_unavailable"), true),
            (api(40029), (401, "invalid_code"), true),
            (api(40163), (409, "code_used"), false),
            (api(40226), (403, "user_blocked"), false),
            (api(45011), (429, "rate_limited"), true),
            (api(40125), (502, "wechat_error"), true),
            (api(40013), (502, "wechat_error"), true),
            (api(61450), (502, "wechat_error"), false),
            (WeChatError::Timeout, (503, "wechat_unavailable"), false),
            (WeChatError::Unreachable, (503, "wechat_unavailable"), true),
            (WeChatError::Transport, (503, "wechat_unavailable"), false),
            (
                WeChatError::BadResponse("garbage"),
                (502, "wechat_error"),
                false,
            ),
        ];
        for (failure, expected, released) in table {
            let w = Twins::new();
            let (raw, _) = w.wechat.login("o1", None);
            w.wechat.fail(WeChatApi::Code2Session, failure.clone(), 1);
            let err = w
                .login()
                .login(AppHint::default(), &code(&raw))
                .await
                .unwrap_err();
            assert_eq!(err, LoginError::WeChat(failure.clone()));
            assert_eq!(answer(err), expected, "{failure:?}");
            assert_eq!(w.table.session_count(), 0, "{failure:?}: no session");

            let retry = w.login().login(AppHint::default(), &code(&raw)).await;
            if released {
                assert!(retry.is_ok(), "{failure:?}: the claim was given back");
            } else {
                assert_eq!(
                    retry.unwrap_err(),
                    LoginError::CodeAlreadyClaimed,
                    "{failure:?}: the claim is kept"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_code_already_claimed_never_reaches_wechat() {
        let w = Twins::new();
        let (raw, _) = w.wechat.login("o1", None);
        w.table
            .claim_code(crate::testing::APPID, &code(&raw), now_epoch_seconds())
            .await
            .unwrap();
        assert_eq!(
            w.login()
                .login(AppHint::default(), &code(&raw))
                .await
                .unwrap_err(),
            LoginError::CodeAlreadyClaimed
        );
        assert_eq!(w.wechat.calls(WeChatApi::Code2Session), 0);
    }

    #[tokio::test]
    async fn a_store_down_at_the_claim_is_503_before_wechat() {
        let w = Twins::new();
        let (raw, _) = w.wechat.login("o1", None);
        w.table.fail_next(1);
        let err = w
            .login()
            .login(AppHint::default(), &code(&raw))
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::Store(_)));
        assert_eq!(answer(err), (503, "store_unavailable"));
        assert_eq!(w.wechat.calls(WeChatApi::Code2Session), 0);
        assert!(
            w.login()
                .login(AppHint::default(), &code(&raw))
                .await
                .is_ok(),
            "the code is intact"
        );
    }

    #[tokio::test]
    async fn a_store_down_at_the_session_write_is_503_and_the_code_is_spent() {
        let w = Twins::new();
        let (raw, _) = w.wechat.login("o1", None);
        w.table.fail_after(1, 1);
        let err = w
            .login()
            .login(AppHint::default(), &code(&raw))
            .await
            .unwrap_err();
        assert_eq!(answer(err), (503, "store_unavailable"));
        assert_eq!(w.table.session_count(), 0);
        assert_eq!(
            w.login()
                .login(AppHint::default(), &code(&raw))
                .await
                .unwrap_err(),
            LoginError::CodeAlreadyClaimed,
            "WeChat spent the code: the user must wx.login again"
        );
    }

    #[tokio::test]
    async fn a_failed_release_still_answers_wechats_error() {
        let w = Twins::new();
        let (raw, _) = w.wechat.login("o1", None);
        w.wechat.fail(
            WeChatApi::Code2Session,
            WeChatError::Api(Errcode::SystemBusy),
            1,
        );
        w.table.fail_after(1, 1);
        let err = w
            .login()
            .login(AppHint::default(), &code(&raw))
            .await
            .unwrap_err();
        assert_eq!(answer(err), (503, "wechat_unavailable"));
        assert_eq!(w.table.claim_count(), 1, "the claim lapses on its own");
    }

    #[tokio::test]
    async fn logging_in_again_gives_a_new_token_and_key() {
        let w = Twins::new();
        let (first, _) = w.wechat.login("o1", None);
        let (second, key) = w.wechat.login("o1", None);
        let a = w
            .login()
            .login(AppHint::default(), &code(&first))
            .await
            .unwrap();
        let b = w
            .login()
            .login(AppHint::default(), &code(&second))
            .await
            .unwrap();
        assert_ne!(a.token.expose(), b.token.expose());
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&b.session.session_key),
            key
        );
        assert_eq!(w.table.session_count(), 2);
    }

    #[tokio::test]
    async fn a_login_beyond_the_cap_ends_the_oldest_sessions() {
        let w = Twins::new();
        let login = w.login().with_session_cap(2);
        let mut tokens = Vec::new();
        for _ in 0..3 {
            let (raw, _) = w.wechat.login("o1", None);
            tokens.push(
                login
                    .login(AppHint::default(), &code(&raw))
                    .await
                    .unwrap()
                    .token,
            );
            // Logins a second apart: "oldest" follows their issue times (in seconds).
            tokio::time::sleep(Duration::from_millis(1010)).await;
        }
        let authorize = w.authorize();
        for (index, token) in tokens.iter().enumerate() {
            let live = authorize.live_session(token).await.unwrap().is_some();
            assert_eq!(live, index >= 1, "session {index}: the 2 newest live");
        }
        assert_eq!(
            w.table.session_count(),
            2,
            "the ended session's item is deleted"
        );
        let user = w.table.user(&crate::testing::user_key("o1")).unwrap();
        assert_eq!(
            user.sessions.len(),
            2,
            "the user lists no more than the cap"
        );
    }

    /// The audit's scenario: 6,000 logins of one user (a script replaying wx.login) all
    /// succeed, and the user item never lists more than the cap, nor keeps ended ones.
    #[tokio::test]
    async fn six_thousand_logins_of_one_user_keep_the_item_bounded() {
        let w = Twins::new();
        let login = w.login().with_session_cap(DEFAULT_MAX_SESSIONS_PER_USER);
        let mut largest = 0;
        for _ in 0..6_000 {
            let (raw, _) = w.wechat.login("o1", None);
            login.login(AppHint::default(), &code(&raw)).await.unwrap();
            let user = w.table.user(&crate::testing::user_key("o1")).unwrap();
            largest = largest
                .max(user.sessions.len() + w.table.ended_count(&crate::testing::user_key("o1")));
        }
        assert!(
            largest <= DEFAULT_MAX_SESSIONS_PER_USER,
            "the item listed {largest} sessions at most"
        );
        assert!(w.table.session_count() <= DEFAULT_MAX_SESSIONS_PER_USER);
    }
}
