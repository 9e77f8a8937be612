//! The user's own account: a copy of everything stored about them, and its erasure, asked
//! by the user (`/account`), by WeChat (the cancellation and revoke pushes) or by an
//! operator. One erasure for all of them:
//!
//! 1. mark the user as being erased: every session is refused from this write on, and a
//!    login racing the erasure starts a brand-new user instead of touching this one;
//! 2. delete the session items and the quota counters;
//! 3. write the audit record (a keyed hash, the app, the reason, the time);
//! 4. delete the user item, if it is still the one marked.
//!
//! A failure anywhere leaves the mark standing (nothing of the user is live) and the next
//! attempt, finding the same mark, does the rest: every step is idempotent.

use std::time::Duration;

use super::served_live_session;
use crate::domain::clock::{now_epoch_millis, now_epoch_seconds};
use crate::domain::{
    ErasureReason, ErasureRecord, ListedSession, LiveSession, QuotaWindow, SessionError,
    SessionToken, StackKey, StoreError, User, UserKey,
};
use crate::ports::{ErasureLog, Quotas, Sessions, StackKeys, Users};
use crate::telemetry::metrics;

/// Default time an erasure's audit record is kept.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

/// What `GET /account` shows: the user as stored, their live sessions, and the quotas in
/// force.
#[derive(Debug, Clone)]
pub struct AccountData {
    /// The user.
    pub user: User,
    /// Their live sessions, the caller's included.
    pub sessions: Vec<ListedSession>,
    /// The caller's own session (none for an operator's export).
    pub current: Option<ListedSession>,
    /// Phone verifications counted today, if the stack limits them.
    pub phone_verifications_today: Option<QuotaUse>,
}

/// One quota: what is used of it and when it starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUse {
    /// Calls counted in the current window.
    pub used: u32,
    /// Calls the window allows.
    pub limit: u32,
    /// Epoch seconds the window ends.
    pub resets_at: i64,
}

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// False when there was no such user (nothing to erase, no record written).
    pub found: bool,
    /// Sessions that were live and are now ended.
    pub sessions: u32,
}

/// The account use-cases with the ports they need, built once per instance.
pub struct Accounts<S, K> {
    store: S,
    stack_keys: K,
    /// The appids whose users it serves: a session of any other app is refused.
    served: Vec<String>,
    audit_retention: Duration,
    phone_daily_limit: Option<u32>,
}

impl<S: Sessions + Users + Quotas + ErasureLog, K: StackKeys> Accounts<S, K> {
    /// Accounts of the users of `served` apps over `store`, naming erased users in audit
    /// records with the key `stack_keys` holds.
    pub fn new(store: S, stack_keys: K, served: Vec<String>) -> Self {
        Self {
            store,
            stack_keys,
            served,
            audit_retention: DEFAULT_AUDIT_RETENTION,
            phone_daily_limit: None,
        }
    }

    /// The same, keeping audit records for `retention`.
    pub fn with_audit_retention(self, retention: Duration) -> Self {
        Self {
            audit_retention: retention,
            ..self
        }
    }

    /// The same, reporting the daily phone-verification quota `limit` (`None`: none).
    pub fn with_phone_daily_limit(self, limit: Option<u32>) -> Self {
        Self {
            phone_daily_limit: limit,
            ..self
        }
    }

    /// The live session behind `token`, of an app the stack serves.
    pub async fn session(&self, token: &SessionToken) -> Result<LiveSession, SessionError> {
        served_live_session(&self.store, &self.served, token)
            .await?
            .ok_or(SessionError::NoSession)
    }

    /// Everything stored about `live`'s user, who holds `token`.
    pub async fn data(
        &self,
        token: &SessionToken,
        live: &LiveSession,
    ) -> Result<AccountData, SessionError> {
        Ok(self
            .data_of(
                &token.user_key(),
                live.user.clone(),
                Some(live.listing.clone()),
            )
            .await?)
    }

    /// Everything stored about the user `openid` of `appid`, for an operator; `None` when
    /// there is no such user (or they are being erased).
    pub async fn export(
        &self,
        appid: &str,
        openid: &str,
    ) -> Result<Option<AccountData>, StoreError> {
        let key = self.stack_keys.stack_key().await?.user_key(openid);
        let user = self.store.user(&key).await?;
        match user {
            Some(user) if user.appid == appid && user.erasing_since_ms.is_none() => {
                Ok(Some(self.data_of(&key, user, None).await?))
            }
            _ => Ok(None),
        }
    }

    async fn data_of(
        &self,
        key: &UserKey,
        user: User,
        current: Option<ListedSession>,
    ) -> Result<AccountData, StoreError> {
        let now = now_epoch_seconds();
        let phone_verifications_today = match self.phone_daily_limit {
            Some(limit) => {
                let window = QuotaWindow::phone_verifications(key, now);
                Some(QuotaUse {
                    used: self.store.counted(&window, now).await?,
                    limit,
                    resets_at: window.ends_at,
                })
            }
            None => None,
        };
        let sessions = user
            .sessions
            .iter()
            .filter(|listed| listed.is_live_at(now))
            .cloned()
            .collect();
        Ok(AccountData {
            user,
            sessions,
            current,
            phone_verifications_today,
        })
    }

    /// Cancels the account of `live`'s user, who holds `token`, at their request: erases
    /// them whole.
    pub async fn cancel(
        &self,
        token: &SessionToken,
        live: &LiveSession,
    ) -> Result<Erased, StoreError> {
        let user = &live.user;
        let erased = self
            .erase_user(
                &token.user_key(),
                &user.appid,
                &user.openid,
                ErasureReason::User,
            )
            .await?;
        // The caller's own session was live a moment ago: it counts even if another
        // request ended it first.
        Ok(Erased {
            found: true,
            sessions: erased.sessions.max(1),
        })
    }

    /// Erases everything stored for the user `openid` of `appid`: their user item, every
    /// session item, their quota counters; leaves an audit record naming `reason`.
    pub async fn erase(
        &self,
        appid: &str,
        openid: &str,
        reason: ErasureReason,
    ) -> Result<Erased, StoreError> {
        let key = self.stack_keys.stack_key().await?.user_key(openid);
        self.erase_user(&key, appid, openid, reason).await
    }

    /// [`erase`](Self::erase) of the user stored under `key`.
    async fn erase_user(
        &self,
        key: &UserKey,
        appid: &str,
        openid: &str,
        reason: ErasureReason,
    ) -> Result<Erased, StoreError> {
        // The key first: without it no record could be written, so nothing starts.
        let stack_key = self.stack_keys.stack_key().await?;
        let Some(target) = self
            .store
            .begin_erasure(key, appid, reason, now_epoch_millis())
            .await?
        else {
            return Ok(Erased {
                found: false,
                sessions: 0,
            });
        };
        let now = now_epoch_seconds();
        let hashes: Vec<_> = target
            .all_sessions()
            .map(|listed| listed.token.clone())
            .collect();
        self.store.delete_sessions(&hashes).await?;
        self.store.delete_windows(&quota_windows(key, now)).await?;
        self.leave_record(&stack_key, appid, openid, reason, target.since_ms)
            .await?;
        self.store.finish_erasure(key, &target).await?;
        metrics::record_erasure(appid, reason.name());
        tracing::info!(reason = reason.name(), "user erased");
        let live = target
            .sessions
            .iter()
            .filter(|listed| listed.is_live_at(now))
            .count();
        Ok(Erased {
            found: true,
            sessions: u32::try_from(live).unwrap_or(u32::MAX),
        })
    }

    /// Removes the phone number of the user `openid` of `appid` (WeChat says they withdrew
    /// it); the user stays. `Ok(true)` when a number was removed, which leaves an audit
    /// record.
    pub async fn erase_phone(
        &self,
        appid: &str,
        openid: &str,
        reason: ErasureReason,
    ) -> Result<bool, StoreError> {
        let stack_key = self.stack_keys.stack_key().await?;
        if !self
            .store
            .unbind_phone(&stack_key.user_key(openid), appid)
            .await?
        {
            return Ok(false);
        }
        self.leave_record(&stack_key, appid, openid, reason, now_epoch_millis())
            .await?;
        metrics::record_erasure(appid, reason.name());
        tracing::info!(reason = reason.name(), "phone number erased");
        Ok(true)
    }
}

impl<S: ErasureLog, K: StackKeys> Accounts<S, K> {
    /// Records that the table's TTL removed the user `openid` of `appid` for `reason`:
    /// inactivity, or the deadline of an erasure nobody finished. Nothing else is left to
    /// delete: their sessions and counters expired first.
    pub async fn record_expired(
        &self,
        appid: &str,
        openid: &str,
        reason: ErasureReason,
    ) -> Result<(), StoreError> {
        let stack_key = self.stack_keys.stack_key().await?;
        self.leave_record(&stack_key, appid, openid, reason, now_epoch_millis())
            .await?;
        metrics::record_erasure(appid, reason.name());
        Ok(())
    }

    /// Writes the audit record of an erasure of `openid` in `appid` for `reason` that
    /// began at `at_ms`, kept for the audit period from now.
    async fn leave_record(
        &self,
        stack_key: &StackKey,
        appid: &str,
        openid: &str,
        reason: ErasureReason,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let record = ErasureRecord {
            subject: stack_key.subject(appid, openid),
            appid: appid.to_owned(),
            reason,
            at_ms,
            keep_until: now_epoch_seconds().saturating_add(seconds(self.audit_retention)),
        };
        self.store.record_erasure(&record).await
    }
}

/// Every quota counter of the user that may still be stored: the phone verifications of
/// today and yesterday, the WeChat checks of this minute and the last (TTL may lag).
fn quota_windows(key: &UserKey, now: i64) -> Vec<QuotaWindow> {
    vec![
        QuotaWindow::phone_verifications(key, now),
        QuotaWindow::phone_verifications(key, now - 24 * 3600),
        QuotaWindow::wechat_checks(key, now),
        QuotaWindow::wechat_checks(key, now - 60),
    ]
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PhoneCode, PhoneForm, WatermarkPolicy};
    use crate::testing::{APPID, Twins, stack_key};

    #[tokio::test]
    async fn the_data_is_the_user_their_live_sessions_and_quotas() {
        let twins = Twins::new();
        let (first, _) = twins.logged_in("o1", Some("u1")).await;
        let (second, _) = twins.logged_in("o1", None).await;
        twins.bind_phone(&second, "13800138000").await;
        let accounts = twins.accounts().with_phone_daily_limit(Some(5));
        let live = accounts.session(&second).await.unwrap();
        let data = accounts.data(&second, &live).await.unwrap();
        assert_eq!(data.user.openid, "o1");
        assert_eq!(data.user.unionid.as_deref(), Some("u1"));
        assert_eq!(
            data.user
                .phone
                .as_ref()
                .map(|phone| phone.number.phone_number.as_str()),
            Some("13800138000")
        );
        assert_eq!(data.sessions.len(), 2);
        assert_eq!(data.current, Some(live.listing.clone()));
        let quota = data.phone_verifications_today.unwrap();
        assert_eq!((quota.used, quota.limit), (0, 5));

        twins.session_queries().logout(&first).await.unwrap();
        let data = accounts
            .data(&second, &accounts.session(&second).await.unwrap())
            .await
            .unwrap();
        assert_eq!(
            data.sessions,
            vec![live.listing],
            "a logged-out session is not shown"
        );
    }

    #[tokio::test]
    async fn cancelling_erases_the_user_and_ends_every_session() {
        let twins = Twins::new();
        let (first, _) = twins.logged_in("o1", None).await;
        let (second, _) = twins.logged_in("o1", None).await;
        let (other, _) = twins.logged_in("o2", None).await;
        twins.bind_phone(&first, "13800138000").await;
        let accounts = twins.accounts();
        let live = accounts.session(&first).await.unwrap();
        let erased = accounts.cancel(&first, &live).await.unwrap();
        assert_eq!(
            erased,
            Erased {
                found: true,
                sessions: 2
            }
        );
        for token in [&first, &second] {
            assert!(
                twins
                    .authorize()
                    .live_session(token)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert!(
            twins
                .authorize()
                .live_session(&other)
                .await
                .unwrap()
                .is_some()
        );
        assert!(twins.table.user(&crate::testing::user_key("o1")).is_none());
        let record = twins
            .table
            .erasure(&stack_key().subject(APPID, "o1"))
            .unwrap();
        assert_eq!(
            (record.appid.as_str(), record.reason),
            (APPID, ErasureReason::User)
        );
        assert!(record.keep_until > now_epoch_seconds() + 364 * 86_400);

        let (again, _) = twins.logged_in("o1", None).await;
        let live = accounts.session(&again).await.unwrap();
        assert!(
            live.user.phone.is_none(),
            "a login after the erasure is a new user"
        );
    }

    /// A store failure at any step after the mark leaves every session refused, and the
    /// next attempt finishes the erasure: no item of the user is left but the audit record.
    #[tokio::test]
    async fn an_erasure_failing_half_way_completes_on_retry() {
        // The erasure's store calls: mark, sessions, counters, record, user.
        const STEPS: u32 = 5;
        for healthy_calls in 0..=STEPS {
            let twins = Twins::new();
            let (token, _) = twins.logged_in("o1", None).await;
            twins.logged_in("o1", None).await;
            twins.bind_phone(&token, "13800138000").await;
            let phones = twins
                .phone_numbers(WatermarkPolicy::default())
                .with_daily_limit(Some(5));
            let code = PhoneCode::parse(&twins.wechat.phone_code("o1", "13800138000")).unwrap();
            let live = phones.session_of(&token).await.unwrap();
            phones
                .verify(&token, &live, &PhoneForm::Code(code))
                .await
                .unwrap();
            let (other, _) = twins.logged_in("o2", None).await;
            let accounts = twins.accounts();

            if healthy_calls < STEPS {
                twins.table.fail_after(healthy_calls, 1);
            }
            let first = accounts.erase(APPID, "o1", ErasureReason::User).await;
            assert_eq!(
                first.is_err(),
                healthy_calls < STEPS,
                "step {healthy_calls}"
            );
            let refused = twins
                .authorize()
                .live_session(&token)
                .await
                .unwrap()
                .is_none();
            assert_eq!(
                refused,
                healthy_calls > 0,
                "step {healthy_calls}: refused from the mark on, live if the mark failed"
            );
            if first.is_err() {
                let retried = accounts
                    .erase(APPID, "o1", ErasureReason::User)
                    .await
                    .unwrap();
                assert!(
                    retried.found,
                    "step {healthy_calls}: the retry finds what is left"
                );
            }

            assert!(
                twins
                    .authorize()
                    .live_session(&token)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(
                twins
                    .authorize()
                    .live_session(&other)
                    .await
                    .unwrap()
                    .is_some()
            );
            let left = twins.table.stored_keys();
            let kept = |key: &&String| {
                !["code#", "access_token#", "erasure#"]
                    .iter()
                    .any(|prefix| key.starts_with(prefix))
            };
            let users_items: Vec<_> = left.iter().filter(kept).collect();
            let o2 = crate::adapters::dynamodb::keys::user(&crate::testing::user_key("o2"));
            let o2_session = crate::adapters::dynamodb::keys::session(&other.hash());
            let mut expected = vec![&o2_session, &o2];
            expected.sort();
            assert_eq!(
                users_items, expected,
                "step {healthy_calls}: only o2's items"
            );
            assert_eq!(
                left.iter()
                    .filter(|key| key.starts_with("erasure#"))
                    .count(),
                1,
                "step {healthy_calls}: one audit record"
            );
        }
    }

    #[tokio::test]
    async fn a_session_of_an_app_not_served_is_refused() {
        let mut twins = Twins::new();
        let other_app = twins.with_app("wxotherapp00000001");
        let (code, _) = other_app.login("o9", None);
        let logged_in = twins
            .login()
            .login(
                crate::usecases::AppHint {
                    named: Some("wxotherapp00000001"),
                    referer: None,
                },
                &crate::domain::LoginCode::parse(&code).unwrap(),
            )
            .await
            .unwrap();
        let only_first = twins.first_app_only().accounts();
        assert_eq!(
            only_first.session(&logged_in.token).await.unwrap_err(),
            SessionError::NoSession
        );
        assert!(
            !only_first
                .erase(APPID, "o9", ErasureReason::WeChatCancellation)
                .await
                .unwrap()
                .found,
            "the user is of another app"
        );
    }

    #[tokio::test]
    async fn erasing_the_phone_keeps_the_user_and_their_sessions() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", None).await;
        twins.bind_phone(&token, "13800138000").await;
        let accounts = twins.accounts();
        assert!(
            accounts
                .erase_phone(APPID, "o1", ErasureReason::WeChatRevokePhone)
                .await
                .unwrap()
        );
        assert!(
            !accounts
                .erase_phone(APPID, "o1", ErasureReason::WeChatRevokePhone)
                .await
                .unwrap()
        );
        let live = accounts.session(&token).await.unwrap();
        assert!(live.user.phone.is_none());
        let record = twins
            .table
            .erasure(&stack_key().subject(APPID, "o1"))
            .unwrap();
        assert_eq!(record.reason, ErasureReason::WeChatRevokePhone);
        assert!(
            !accounts
                .erase_phone(APPID, "nobody", ErasureReason::WeChatRevokePhone)
                .await
                .unwrap()
        );
    }
}
