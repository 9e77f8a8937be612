//! The access-token policy, all in one place (docs/wechat.md, "Access token"): the token
//! is shared by every instance through the [`AccessTokenStore`] and held in memory between
//! requests, refreshed ahead of expiry, and refreshed once when WeChat rejects it. A
//! forced refresh invalidates the token every other holder has and WeChat allows 20 a day,
//! so it is made only when stable_token hands back the very token WeChat rejected, and
//! only by the instance that wins the app-wide claim ([`ForcedRefreshPolicy`]); the others
//! re-read the shared item.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::Mutex;

use crate::domain::clock::{now_epoch_millis, now_epoch_seconds};
use crate::domain::{
    AccessToken, CachedAccessToken, Errcode, ForcedRefreshClaim, ForcedRefreshPolicy,
    FreshAccessToken, WeChatError,
};
use crate::ports::{AccessTokenStore, WeChat};
use crate::telemetry::metrics;

/// Refresh this long before WeChat's expiry, so no request carries a token that dies
/// in flight.
const REFRESH_AHEAD_SECONDS: i64 = 300;
/// A token fetched this recently is used even inside the refresh window: stable_token may
/// hand back the same near-expiry token, and asking again on every request would burn quota.
const RECENT_FETCH_SECONDS: i64 = 30;
/// Never use a token with less life than this.
const MIN_REMAINING_SECONDS: i64 = 10;
/// When an instance refused the forced refresh re-reads the shared item for the token of
/// the instance that won the claim: that one's forced call to WeChat can take a second or
/// more from outside mainland China, so the waits grow (1.75 s in all).
const FORCED_REFRESH_REREADS: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_millis(1000),
];

/// The token this instance holds for one app; its lock makes one refresh at a time.
type Slot = Arc<Mutex<Option<CachedAccessToken>>>;

/// Access tokens, each app's cached apart in memory and in the shared store.
pub struct AccessTokens<S> {
    store: S,
    /// Each app's slot, by appid.
    memory: std::sync::Mutex<Vec<(String, Slot)>>,
    policy: ForcedRefreshPolicy,
}

fn usable(cached: &CachedAccessToken, now: i64) -> bool {
    let remaining = cached.expires_at - now;
    remaining > REFRESH_AHEAD_SECONDS
        || (now - cached.fetched_at() < RECENT_FETCH_SECONDS && remaining > MIN_REMAINING_SECONDS)
}

/// What a call that met a rejected token answers when no replacement can be had.
const STILL_REJECTED: WeChatError = WeChatError::Api(Errcode::InvalidAccessToken);

impl<S: AccessTokenStore> AccessTokens<S> {
    /// A cache backed by `store`, under the default forced-refresh policy.
    pub fn new(store: S) -> Self {
        Self {
            store,
            memory: std::sync::Mutex::default(),
            policy: ForcedRefreshPolicy::default(),
        }
    }

    /// The in-memory slot of `appid`'s token (a handful of apps: a scan beats a hash).
    fn slot(&self, appid: &str) -> Slot {
        let mut slots = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, slot)) = slots.iter().find(|(owner, _)| owner == appid) {
            return Arc::clone(slot);
        }
        let slot = Arc::new(Mutex::new(None));
        slots.push((appid.to_owned(), Arc::clone(&slot)));
        slot
    }

    /// A live token: from memory, else the shared item, else a fresh one from stable_token.
    pub async fn get(&self, wechat: &impl WeChat) -> Result<AccessToken, WeChatError> {
        let now = now_epoch_seconds();
        // One refresh at a time per instance; the others wait and reuse its result.
        let slot = self.slot(wechat.appid());
        let mut memory = slot.lock().await;
        if let Some(cached) = memory.as_ref().filter(|cached| usable(cached, now)) {
            return Ok(AccessToken::new(cached.token.clone()));
        }
        match self.store.get_access_token(wechat.appid()).await {
            Ok(Some(shared)) if usable(&shared, now) => {
                let token = AccessToken::new(shared.token.clone());
                *memory = Some(shared);
                return Ok(token);
            }
            Ok(_) => {}
            // The cache is an optimisation: without DynamoDB, ask WeChat directly.
            Err(err) => tracing::warn!(error = %err, "access token cache unreadable"),
        }
        let requested_at_ms = now_epoch_millis();
        let fresh = wechat.stable_token(false).await?;
        Ok(self
            .remember(wechat, fresh, requested_at_ms, &mut memory)
            .await)
    }

    /// Runs `call` with a live token. When WeChat rejects the token (40001/42001, answered
    /// before it looks at anything else, so nothing was consumed), runs it once more with
    /// a replacement; a second rejection is returned as it is.
    pub async fn with_token<T, F, Fut>(
        &self,
        wechat: &impl WeChat,
        call: F,
    ) -> Result<T, WeChatError>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, WeChatError>>,
    {
        let token = self.get(wechat).await?;
        self.with_given_token(wechat, token, call).await
    }

    /// [`with_token`](Self::with_token) with a token already got from [`get`](Self::get),
    /// for callers that act between getting the token and using it.
    pub async fn with_given_token<T, F, Fut>(
        &self,
        wechat: &impl WeChat,
        token: AccessToken,
        call: F,
    ) -> Result<T, WeChatError>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, WeChatError>>,
    {
        match call(token.clone()).await {
            Err(WeChatError::Api(errcode)) if errcode.is_access_token_rejection() => {
                tracing::info!(errcode = errcode.raw(), "access token rejected, refreshing");
                let fresh = self.replace(wechat, &token).await?;
                call(fresh).await
            }
            outcome => outcome,
        }
    }

    /// After WeChat rejected `rejected` (40001/42001): a token that is not `rejected`.
    /// Reuses one another request or instance already got; else asks stable_token, and
    /// forces a refresh only if it hands the rejected token back and this instance wins
    /// the app-wide claim. The rejected token is never cached again.
    pub async fn replace(
        &self,
        wechat: &impl WeChat,
        rejected: &AccessToken,
    ) -> Result<AccessToken, WeChatError> {
        let slot = self.slot(wechat.appid());
        let mut memory = slot.lock().await;
        if let Some(token) = self.replacement(wechat, rejected, &mut memory).await {
            return Ok(token);
        }
        let requested_at_ms = now_epoch_millis();
        let plain = wechat.stable_token(false).await?;
        if &plain.token != rejected {
            return Ok(self
                .remember(wechat, plain, requested_at_ms, &mut memory)
                .await);
        }
        // WeChat still hands out the token it rejects: only a forced refresh replaces it.
        let claimed_at_ms = now_epoch_millis();
        let claim = self
            .store
            .claim_forced_refresh(wechat.appid(), claimed_at_ms, self.policy)
            .await;
        match claim {
            Ok(ForcedRefreshClaim::Granted) => {
                tracing::warn!(
                    appid = wechat.appid(),
                    "forcing an access-token refresh: every holder's token is invalidated"
                );
                metrics::record_forced_refresh(wechat.appid());
                let requested_at_ms = now_epoch_millis();
                let forced = match wechat.stable_token(true).await {
                    Ok(forced) => forced,
                    Err(err) => {
                        if err.reached_nothing() {
                            // WeChat did nothing: the claim goes back for the next request.
                            self.release_claim(wechat, claimed_at_ms).await;
                        }
                        return Err(err);
                    }
                };
                if &forced.token == rejected {
                    // WeChat refreshes at most once in 30 s and hands back the same token.
                    return Err(STILL_REJECTED);
                }
                Ok(self
                    .remember(wechat, forced, requested_at_ms, &mut memory)
                    .await)
            }
            Ok(refused) => {
                tracing::info!(
                    ?refused,
                    "forced refresh not ours to make: re-reading the shared token"
                );
                for wait in FORCED_REFRESH_REREADS {
                    tokio::time::sleep(wait).await;
                    if let Some(token) = self.replacement(wechat, rejected, &mut memory).await {
                        return Ok(token);
                    }
                }
                Err(STILL_REJECTED)
            }
            Err(err) => {
                // Never force without the app-wide record: it could burn the day's allowance.
                tracing::error!(error = %err, "forced refresh not claimed: store failed");
                Err(STILL_REJECTED)
            }
        }
    }

    async fn release_claim(&self, wechat: &impl WeChat, claimed_at_ms: i64) {
        let released = self
            .store
            .release_forced_refresh(wechat.appid(), claimed_at_ms)
            .await;
        if let Err(err) = released {
            tracing::warn!(error = %err, "unused forced-refresh claim not given back");
        }
    }

    /// A usable token other than `rejected`, from memory or the shared item.
    async fn replacement(
        &self,
        wechat: &impl WeChat,
        rejected: &AccessToken,
        memory: &mut Option<CachedAccessToken>,
    ) -> Option<AccessToken> {
        let now = now_epoch_seconds();
        let fits =
            |cached: &CachedAccessToken| cached.token != rejected.expose() && usable(cached, now);
        if let Some(cached) = memory.as_ref().filter(|cached| fits(cached)) {
            return Some(AccessToken::new(cached.token.clone()));
        }
        let shared = self.store.get_access_token(wechat.appid()).await.ok()??;
        if !fits(&shared) {
            return None;
        }
        let token = AccessToken::new(shared.token.clone());
        *memory = Some(shared);
        Some(token)
    }

    /// Caches `fresh` in memory and, for the other instances, in the shared store, unless
    /// the store already holds a newer token (then this one serves only this request).
    async fn remember(
        &self,
        wechat: &impl WeChat,
        fresh: FreshAccessToken,
        requested_at_ms: i64,
        memory: &mut Option<CachedAccessToken>,
    ) -> AccessToken {
        let fetched_at_ms = now_epoch_millis();
        let cached = CachedAccessToken {
            token: fresh.token.expose().to_owned(),
            expires_at: fetched_at_ms
                .div_euclid(1000)
                .saturating_add(i64::try_from(fresh.expires_in).unwrap_or(i64::MAX)),
            requested_at_ms,
            fetched_at_ms,
        };
        match self.store.put_access_token(wechat.appid(), &cached).await {
            Ok(true) => *memory = Some(cached),
            Ok(false) => {
                tracing::info!("a newer access token is already shared: not caching this one");
                *memory = None;
            }
            Err(err) => {
                tracing::warn!(error = %err, "access token cache not updated");
                *memory = Some(cached);
            }
        }
        tracing::info!(expires_in = fresh.expires_in, "access token refreshed");
        fresh.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(expires_in: i64, fetched_ago: i64) -> CachedAccessToken {
        CachedAccessToken {
            token: "t".into(),
            expires_at: 1_000 + expires_in,
            requested_at_ms: (1_000 - fetched_ago) * 1000,
            fetched_at_ms: (1_000 - fetched_ago) * 1000,
        }
    }

    #[test]
    fn tokens_are_refreshed_ahead_of_expiry() {
        assert!(usable(&cached(7200, 3600), 1_000));
        assert!(usable(&cached(301, 3600), 1_000));
        assert!(!usable(&cached(300, 3600), 1_000));
        assert!(!usable(&cached(-5, 3600), 1_000));
    }

    #[test]
    fn a_just_fetched_short_lived_token_is_used_rather_than_refetched() {
        assert!(usable(&cached(200, 5), 1_000));
        assert!(!usable(&cached(200, 31), 1_000));
        assert!(
            !usable(&cached(10, 1), 1_000),
            "too close to death even when fresh"
        );
    }

    use crate::testing::{APPID, FakeWeChat, MemoryTable, WeChatApi};

    /// WeChat rejects every token it issued, and plain stable_token keeps handing the
    /// last one back: the state that tempts every instance to force a refresh.
    fn revoked_world() -> (MemoryTable, FakeWeChat) {
        let wechat = FakeWeChat::new(APPID);
        (MemoryTable::new(), wechat)
    }

    async fn rejecting_call(tokens: &AccessTokens<MemoryTable>, wechat: &FakeWeChat) {
        let outcome: Result<(), WeChatError> = tokens
            .with_token(wechat, |_token| async { Err(STILL_REJECTED) })
            .await;
        assert_eq!(
            outcome,
            Err(STILL_REJECTED),
            "a clear rejection, never a panic"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn many_instances_meeting_rejections_force_one_refresh_between_them() {
        let (table, wechat) = revoked_world();
        let instances: Vec<_> = (0..10).map(|_| AccessTokens::new(table.clone())).collect();
        for round in 0..3 {
            for tokens in &instances {
                rejecting_call(tokens, &wechat).await;
            }
            assert_eq!(wechat.forced_refreshes(), 1, "round {round}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn another_instances_fresh_token_is_taken_instead_of_forcing() {
        let (table, wechat) = revoked_world();
        let (first, second) = (
            AccessTokens::new(table.clone()),
            AccessTokens::new(table.clone()),
        );
        // Both hold the same token; WeChat then stops accepting it.
        let held = first.get(&wechat).await.unwrap();
        assert_eq!(second.get(&wechat).await.unwrap(), held);
        wechat.revoke_access_tokens();
        let replaced = first.replace(&wechat, &held).await.unwrap();
        assert_ne!(replaced, held);
        assert_eq!(wechat.forced_refreshes(), 1);
        // The second instance finds the new token in the shared item.
        assert_eq!(second.replace(&wechat, &held).await.unwrap(), replaced);
        assert_eq!(wechat.forced_refreshes(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_daily_allowance_holds_across_intervals() {
        let (table, wechat) = revoked_world();
        let policy = ForcedRefreshPolicy {
            min_interval_ms: 0,
            per_day: 2,
        };
        let tokens = AccessTokens {
            policy,
            ..AccessTokens::new(table)
        };
        for _ in 0..5 {
            let held = tokens.get(&wechat).await.unwrap();
            wechat.revoke_access_tokens();
            let _ = tokens.replace(&wechat, &held).await;
        }
        assert_eq!(wechat.forced_refreshes(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn no_force_without_the_shared_record() {
        let (table, wechat) = revoked_world();
        let tokens = AccessTokens::new(table.clone());
        let held = tokens.get(&wechat).await.unwrap();
        wechat.revoke_access_tokens();
        // The shared read and the plain refresh work; the claim's write fails.
        table.fail_after(1, 1);
        assert_eq!(tokens.replace(&wechat, &held).await, Err(STILL_REJECTED));
        assert_eq!(wechat.forced_refreshes(), 0);
        assert_eq!(wechat.calls(WeChatApi::StableToken), 2);
    }

    #[tokio::test]
    async fn an_older_token_never_replaces_a_newer_one_in_the_shared_item() {
        let table = MemoryTable::new();
        let newer = CachedAccessToken {
            token: "newer".into(),
            expires_at: 9_000,
            requested_at_ms: 2_000,
            fetched_at_ms: 2_100,
        };
        assert!(table.put_access_token(APPID, &newer).await.unwrap());
        let slow = CachedAccessToken {
            token: "older".into(),
            requested_at_ms: 1_000,
            fetched_at_ms: 2_050,
            ..newer.clone()
        };
        assert!(!table.put_access_token(APPID, &slow).await.unwrap());
        assert_eq!(table.access_token(APPID).unwrap().token, "newer");
    }

    #[tokio::test(start_paused = true)]
    async fn a_forced_call_that_never_reached_wechat_gives_the_claim_back() {
        let (table, wechat) = revoked_world();
        let tokens = AccessTokens::new(table);
        let held = tokens.get(&wechat).await.unwrap();
        wechat.revoke_access_tokens();
        // The plain call answers; the forced one never reaches WeChat.
        wechat.fail_next_forced_refresh(WeChatError::Unreachable);
        assert_eq!(
            tokens.replace(&wechat, &held).await,
            Err(WeChatError::Unreachable)
        );
        assert_eq!(wechat.forced_refreshes(), 0);
        // The next request may force at once: the claim was given back.
        let replaced = tokens.replace(&wechat, &held).await.unwrap();
        assert_ne!(replaced, held);
        assert_eq!(wechat.forced_refreshes(), 1);
    }
}
