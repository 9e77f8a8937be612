//! The access token, shared by every instance through the sessions table and held in
//! memory between requests. Refreshed ahead of expiry; refreshed once on rejection.

use tokio::sync::Mutex;

use crate::api::{Timings, Upstream};
use crate::clock::now_epoch_seconds;
use crate::session::{CachedAccessToken, SessionStore};
use crate::wechat::{AccessToken, FreshAccessToken, WeChatClient, WeChatError};

/// Refresh this long before WeChat's expiry, so no request carries a token that dies
/// in flight.
const REFRESH_AHEAD_SECONDS: i64 = 300;
/// A token fetched this recently is used even inside the refresh window: stable_token may
/// hand back the same near-expiry token, and asking again on every request would burn quota.
const RECENT_FETCH_SECONDS: i64 = 30;
/// Never use a token with less life than this.
const MIN_REMAINING_SECONDS: i64 = 10;

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
#[error("no access token: {0}")]
pub struct AccessTokenError(#[from] pub WeChatError);

impl From<AccessTokenError> for WeChatError {
    fn from(err: AccessTokenError) -> Self {
        err.0
    }
}

/// Access tokens for one appid, cached in memory and in DynamoDB.
pub struct AccessTokenCache {
    store: SessionStore,
    memory: Mutex<Option<CachedAccessToken>>,
}

fn usable(cached: &CachedAccessToken, now: i64) -> bool {
    let remaining = cached.expires_at - now;
    remaining > REFRESH_AHEAD_SECONDS
        || (now - cached.fetched_at < RECENT_FETCH_SECONDS && remaining > MIN_REMAINING_SECONDS)
}

impl AccessTokenCache {
    /// A cache backed by `store`'s table.
    pub fn new(store: SessionStore) -> Self {
        Self {
            store,
            memory: Mutex::new(None),
        }
    }

    /// A live token: from memory, else the shared item, else a fresh one from stable_token.
    pub async fn get(
        &self,
        wechat: &WeChatClient,
        timings: &Timings,
    ) -> Result<AccessToken, AccessTokenError> {
        let now = now_epoch_seconds();
        // One refresh at a time per instance; the others wait and reuse its result.
        let mut memory = self.memory.lock().await;
        if let Some(cached) = memory.as_ref().filter(|cached| usable(cached, now)) {
            return Ok(AccessToken::new(cached.token.clone()));
        }
        let shared = timings
            .wait(Upstream::Store, self.store.get_access_token(wechat.appid()))
            .await;
        match shared {
            Ok(Some(shared)) if usable(&shared, now) => {
                let token = AccessToken::new(shared.token.clone());
                *memory = Some(shared);
                return Ok(token);
            }
            Ok(_) => {}
            // The cache is an optimisation: without DynamoDB, ask WeChat directly.
            Err(err) => tracing::warn!(error = %err, "access token cache unreadable"),
        }
        self.fetch(wechat, timings, &mut memory).await
    }

    /// Runs `call` with a live token. When WeChat rejects the token (40001/42001, answered
    /// before it looks at anything else, so nothing was consumed), runs it once more with
    /// a replacement.
    ///
    /// Every wait is timed in `timings`: the cache's DynamoDB calls as store time,
    /// stable_token and `call` as WeChat time.
    pub async fn with_token<T, F, Fut>(
        &self,
        wechat: &WeChatClient,
        timings: &Timings,
        call: F,
    ) -> Result<T, WeChatError>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, WeChatError>>,
    {
        let token = self.get(wechat, timings).await?;
        match timings.wait(Upstream::WeChat, call(token.clone())).await {
            Err(WeChatError::Api(errcode)) if errcode.is_access_token_rejection() => {
                tracing::info!(errcode = errcode.raw(), "access token rejected, refreshing");
                let fresh = self.replace(wechat, timings, &token).await?;
                timings.wait(Upstream::WeChat, call(fresh)).await
            }
            outcome => outcome,
        }
    }

    /// After WeChat rejected `rejected` (40001/42001): a token that is not `rejected`.
    /// Reuses one another request or instance already got; else asks stable_token, and
    /// forces a refresh only if it hands the rejected token back. The rejected token is
    /// never cached again.
    pub async fn replace(
        &self,
        wechat: &WeChatClient,
        timings: &Timings,
        rejected: &AccessToken,
    ) -> Result<AccessToken, AccessTokenError> {
        let mut memory = self.memory.lock().await;
        let now = now_epoch_seconds();
        let replacement =
            |cached: &CachedAccessToken| cached.token != rejected.expose() && usable(cached, now);
        if let Some(cached) = memory.as_ref().filter(|cached| replacement(cached)) {
            return Ok(AccessToken::new(cached.token.clone()));
        }
        let shared = timings
            .wait(Upstream::Store, self.store.get_access_token(wechat.appid()))
            .await;
        if let Ok(Some(shared)) = shared
            && replacement(&shared)
        {
            let token = AccessToken::new(shared.token.clone());
            *memory = Some(shared);
            return Ok(token);
        }
        let plain = timings
            .wait(Upstream::WeChat, wechat.stable_token(false))
            .await?;
        let fresh = if &plain.token == rejected {
            timings
                .wait(Upstream::WeChat, wechat.stable_token(true))
                .await?
        } else {
            plain
        };
        Ok(self.remember(wechat, timings, fresh, &mut memory).await)
    }

    async fn fetch(
        &self,
        wechat: &WeChatClient,
        timings: &Timings,
        memory: &mut Option<CachedAccessToken>,
    ) -> Result<AccessToken, AccessTokenError> {
        let fresh = timings
            .wait(Upstream::WeChat, wechat.stable_token(false))
            .await?;
        Ok(self.remember(wechat, timings, fresh, memory).await)
    }

    /// Caches `fresh` in memory and, for the other instances, in DynamoDB.
    async fn remember(
        &self,
        wechat: &WeChatClient,
        timings: &Timings,
        fresh: FreshAccessToken,
        memory: &mut Option<CachedAccessToken>,
    ) -> AccessToken {
        let now = now_epoch_seconds();
        let cached = CachedAccessToken {
            token: fresh.token.expose().to_owned(),
            expires_at: now.saturating_add(i64::try_from(fresh.expires_in).unwrap_or(i64::MAX)),
            fetched_at: now,
        };
        let stored = timings
            .wait(
                Upstream::Store,
                self.store.put_access_token(wechat.appid(), &cached),
            )
            .await;
        if let Err(err) = stored {
            tracing::warn!(error = %err, "access token cache not updated");
        }
        tracing::info!(expires_in = fresh.expires_in, "access token refreshed");
        *memory = Some(cached);
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
            fetched_at: 1_000 - fetched_ago,
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
}
