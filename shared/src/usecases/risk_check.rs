//! WeChat's risk rank at sign-up (`RISK_CHECK`): asked with the shared access token and
//! the client's address, scene 0. Asking never blocks a login: when WeChat fails, is slow,
//! or risk control is not enabled for the app (48001), the login goes on unranked, logged
//! and counted.

use std::time::Duration;

use super::AccessTokens;
use crate::domain::clock::now_epoch_seconds;
use crate::domain::{Errcode, RiskAssessment, RiskPolicy, User, WeChatError};
use crate::ports::{AccessTokenStore, WeChat};
use crate::telemetry::metrics;

/// A user signed up this recently and still unranked is asked at each login: concurrent
/// first logins (only one of them is `new_user`) and a sign-up whose rank was not
/// recorded are ranked too, while users from before the check was turned on are not.
pub const SIGN_UP_WINDOW_SECONDS: i64 = 24 * 3600;

/// The most the question may add to a login: past it the login goes on unranked, so the
/// function's deadline is never spent waiting on it.
pub const RISK_CHECK_BUDGET: Duration = Duration::from_secs(3);

/// How long a user refused at sign-up is kept: their rank, so a WeChat outage does not
/// let them in, and the operator's view of who was refused. A later admitted login keeps
/// the user for good again.
pub const REFUSED_USER_KEPT_SECONDS: i64 = 30 * 24 * 3600;

/// The policy and the access tokens it asks with, built once per instance.
pub struct RiskCheck<S> {
    policy: RiskPolicy,
    access_tokens: AccessTokens<S>,
}

impl<S: AccessTokenStore> RiskCheck<S> {
    /// Checks under `policy`, with access tokens shared through `store`.
    pub fn new(policy: RiskPolicy, store: S) -> Self {
        Self {
            policy,
            access_tokens: AccessTokens::new(store),
        }
    }

    /// True when the login that found `user` at `now` asks WeChat: at sign-up
    /// (`new_user`, or unranked within [`SIGN_UP_WINDOW_SECONDS`] of it), and under
    /// `enforce` again for a user ranked at or above the threshold (their rank may have
    /// fallen).
    pub fn wanted(&self, user: &User, new_user: bool, now: i64) -> bool {
        let signing_up =
            new_user || (user.risk.is_none() && now - user.created_at < SIGN_UP_WINDOW_SECONDS);
        self.policy.asks()
            && (signing_up || user.risk.is_some_and(|risk| self.policy.refuses(risk.rank)))
    }

    /// True when a user ranked as `risk` may not log in.
    pub fn refuses(&self, risk: &RiskAssessment) -> bool {
        self.policy.refuses(risk.rank)
    }

    /// WeChat's rank of `openid`, whose request came from `client_ip`; `None` (logged and
    /// counted) when it could not be had.
    pub async fn assess(
        &self,
        wechat: &impl WeChat,
        openid: &str,
        client_ip: Option<&str>,
    ) -> Option<RiskAssessment> {
        let appid = wechat.appid();
        // WeChat requires the address; API Gateway always reports one, a test may not.
        let Some(client_ip) = client_ip else {
            metrics::record_risk_check(appid, "no_address");
            tracing::warn!("risk rank not asked: the request has no client address");
            return None;
        };
        let ask = self.access_tokens.with_token(wechat, |token| async move {
            wechat.user_risk_rank(&token, openid, client_ip).await
        });
        let ranked = tokio::time::timeout(RISK_CHECK_BUDGET, ask)
            .await
            .unwrap_or(Err(WeChatError::Timeout));
        match ranked {
            Ok(rank) => {
                metrics::record_risk_check(appid, rank_outcome(rank.value()));
                Some(RiskAssessment {
                    rank,
                    checked_at: now_epoch_seconds(),
                })
            }
            Err(WeChatError::Api(Errcode::ApiUnauthorized)) => {
                metrics::record_risk_check(appid, "not_enabled");
                tracing::warn!(
                    "risk rank not asked: getuserriskrank is not enabled for this app \
                     (48001; 安全中心 → 风控)"
                );
                None
            }
            Err(err) => {
                metrics::record_risk_check(appid, "failed");
                tracing::warn!(wechat_error = %err, "risk rank unavailable; the login goes on");
                None
            }
        }
    }
}

fn rank_outcome(rank: u8) -> &'static str {
    ["rank_0", "rank_1", "rank_2", "rank_3", "rank_4"]
        .get(usize::from(rank))
        .copied()
        .unwrap_or("rank_4")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clock::now_epoch_millis;
    use crate::domain::{LoginCode, LoginError, RiskRank};
    use crate::ports::Sessions;
    use crate::testing::{Twins, WeChatApi, answer, user_key};
    use crate::usecases::AppHint;

    const CLIENT: Option<&str> = Some("203.0.113.7");

    fn rank(value: i64) -> RiskRank {
        RiskRank::new(value).unwrap()
    }

    fn enforce() -> RiskPolicy {
        RiskPolicy::Enforce {
            threshold: RiskRank::HIGHEST,
        }
    }

    async fn log_in(
        twins: &Twins,
        policy: RiskPolicy,
        openid: &str,
    ) -> Result<crate::usecases::LoggedIn, LoginError> {
        let (code, _) = twins.wechat.login(openid, None);
        twins
            .login()
            .with_risk_check(policy)
            .login_from(
                AppHint::default(),
                &LoginCode::parse(&code).unwrap(),
                CLIENT,
            )
            .await
    }

    #[tokio::test]
    async fn record_keeps_the_sign_ups_rank_and_asks_only_once() {
        let twins = Twins::new();
        twins.wechat.set_risk_rank("o1", rank(2));
        let first = log_in(&twins, RiskPolicy::Record, "o1").await.unwrap();
        assert_eq!(first.user.risk.map(|risk| risk.rank), Some(rank(2)));
        let stored = twins.table.user(&user_key("o1")).unwrap();
        assert_eq!(stored.risk.map(|risk| risk.rank), Some(rank(2)));
        let again = log_in(&twins, RiskPolicy::Record, "o1").await.unwrap();
        assert_eq!(again.user.risk.map(|risk| risk.rank), Some(rank(2)));
        assert_eq!(
            twins.wechat.calls(WeChatApi::RiskRank),
            1,
            "a returning user is not asked again"
        );
    }

    #[test]
    fn a_sign_up_is_asked_until_ranked_for_a_day_and_a_refused_user_always() {
        let check = RiskCheck::new(enforce(), crate::testing::MemoryTable::default());
        let now = 10_000_000;
        let mut user = User {
            appid: "wxA".into(),
            openid: "o1".into(),
            unionid: None,
            created_at: now - 60,
            last_login_at: now,
            phone: None,
            risk: None,
            sessions: Vec::new(),
            erasing_since_ms: None,
            expires_at: None,
        };
        assert!(check.wanted(&user, true, now), "the first login");
        assert!(
            check.wanted(&user, false, now),
            "a concurrent first login, or one whose rank was not recorded"
        );
        user.created_at = now - SIGN_UP_WINDOW_SECONDS;
        assert!(
            !check.wanted(&user, false, now),
            "a user from before the check: never asked"
        );
        user.risk = Some(RiskAssessment {
            rank: RiskRank::HIGHEST,
            checked_at: now - 3600,
        });
        assert!(
            check.wanted(&user, false, now),
            "refused before: asked again"
        );
        user.risk = Some(RiskAssessment {
            rank: rank(3),
            checked_at: now - 3600,
        });
        assert!(!check.wanted(&user, false, now), "ranked and admitted");
        let record = RiskCheck::new(RiskPolicy::Record, crate::testing::MemoryTable::default());
        user.risk = Some(RiskAssessment {
            rank: RiskRank::HIGHEST,
            checked_at: now - 3600,
        });
        assert!(!record.wanted(&user, false, now), "record asks once");
    }

    #[tokio::test]
    async fn a_user_refused_under_enforce_loses_every_session_and_expires() {
        let twins = Twins::new();
        twins.wechat.set_risk_rank("o1", RiskRank::HIGHEST);
        let first = log_in(&twins, RiskPolicy::Record, "o1").await.unwrap();
        let second = log_in(&twins, RiskPolicy::Off, "o1").await.unwrap();
        assert_eq!(
            log_in(&twins, enforce(), "o1").await.unwrap_err(),
            LoginError::RiskyUser
        );
        for token in [&first.token, &second.token] {
            let live = twins
                .table
                .get_session(token, now_epoch_millis())
                .await
                .unwrap();
            assert!(live.is_none(), "a refused user's older sessions end too");
        }
        let user = twins.table.user(&user_key("o1")).unwrap();
        let kept = user.expires_at.unwrap() - user.risk.unwrap().checked_at;
        assert_eq!(kept, REFUSED_USER_KEPT_SECONDS);

        twins.wechat.set_risk_rank("o1", rank(0));
        log_in(&twins, enforce(), "o1").await.unwrap();
        let user = twins.table.user(&user_key("o1")).unwrap();
        assert_eq!(user.expires_at, None, "admitted again: kept for good");
    }

    #[tokio::test]
    async fn off_never_asks() {
        let twins = Twins::new();
        let logged_in = log_in(&twins, RiskPolicy::Off, "o1").await.unwrap();
        assert_eq!(logged_in.user.risk, None);
        assert_eq!(twins.wechat.calls(WeChatApi::RiskRank), 0);
    }

    #[tokio::test]
    async fn enforce_refuses_a_rank_four_sign_up_and_admits_rank_zero() {
        let twins = Twins::new();
        twins.wechat.set_risk_rank("risky", RiskRank::HIGHEST);
        let refused = log_in(&twins, enforce(), "risky").await.unwrap_err();
        assert_eq!(refused, LoginError::RiskyUser);
        assert_eq!(answer(refused), (403, "risky_user"));
        let user = twins.table.user(&user_key("risky")).unwrap();
        assert!(user.sessions.is_empty(), "the refused session is ended");
        assert_eq!(user.risk.map(|risk| risk.rank), Some(RiskRank::HIGHEST));

        let admitted = log_in(&twins, enforce(), "fine").await.unwrap();
        assert_eq!(
            admitted.user.risk.map(|risk| risk.rank),
            Some(RiskRank::LOWEST)
        );
        let live = twins
            .table
            .get_session(&admitted.token, now_epoch_millis())
            .await
            .unwrap();
        assert!(live.is_some(), "an admitted sign-up's session is live");
    }

    #[tokio::test]
    async fn a_refused_user_is_asked_again_and_admitted_once_their_rank_falls() {
        let twins = Twins::new();
        twins.wechat.set_risk_rank("o1", RiskRank::HIGHEST);
        log_in(&twins, enforce(), "o1").await.unwrap_err();
        // WeChat failing: the rank known stays the rank, and keeps them out.
        twins
            .wechat
            .fail(WeChatApi::RiskRank, WeChatError::Timeout, 1);
        assert_eq!(
            log_in(&twins, enforce(), "o1").await.unwrap_err(),
            LoginError::RiskyUser
        );
        twins.wechat.set_risk_rank("o1", rank(1));
        let admitted = log_in(&twins, enforce(), "o1").await.unwrap();
        assert_eq!(admitted.user.risk.map(|risk| risk.rank), Some(rank(1)));
    }

    #[tokio::test]
    async fn wechat_failing_or_not_enabled_never_fails_a_sign_up() {
        for (case, failure) in [
            ("busy", Some(WeChatError::Api(Errcode::SystemBusy))),
            ("timeout", Some(WeChatError::Timeout)),
            ("unreachable", Some(WeChatError::Unreachable)),
            ("garbage", Some(WeChatError::BadResponse("x"))),
            ("not enabled", None),
        ] {
            let twins = Twins::new();
            twins.wechat.set_risk_rank("o1", RiskRank::HIGHEST);
            match failure {
                // Twice: the adapter's one retry of a busy answer is the adapter's.
                Some(err) => twins.wechat.fail(WeChatApi::RiskRank, err, 2),
                None => twins.wechat.disable_risk_control(),
            }
            let logged_in = log_in(&twins, enforce(), "o1").await;
            let logged_in = logged_in.unwrap_or_else(|err| panic!("{case}: {err}"));
            assert_eq!(logged_in.user.risk, None, "{case}: nothing recorded");
        }
    }

    #[tokio::test]
    async fn a_token_wechat_rejects_is_replaced_once() {
        let twins = Twins::new();
        log_in(&twins, RiskPolicy::Record, "o0").await.unwrap();
        twins.wechat.revoke_access_tokens();
        twins.wechat.set_risk_rank("o1", rank(3));
        let logged_in = log_in(&twins, RiskPolicy::Record, "o1").await.unwrap();
        assert_eq!(logged_in.user.risk.map(|risk| risk.rank), Some(rank(3)));
    }

    #[tokio::test]
    async fn a_sign_up_without_a_client_address_is_not_ranked() {
        let twins = Twins::new();
        let (code, _) = twins.wechat.login("o1", None);
        let logged_in = twins
            .login()
            .with_risk_check(enforce())
            .login(AppHint::default(), &LoginCode::parse(&code).unwrap())
            .await
            .unwrap();
        assert_eq!(logged_in.user.risk, None);
        assert_eq!(twins.wechat.calls(WeChatApi::RiskRank), 0);
    }
}
