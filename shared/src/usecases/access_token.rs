//! The access-token policy, all in one place (docs/wechat.md, "Access token"): the token
//! is shared by every instance through the [`AccessTokenStore`] and held in memory between
//! requests, refreshed ahead of expiry, and refreshed once when WeChat rejects it —
//! forcing a refresh only when stable_token hands back the very token WeChat rejected,
//! since forced refreshes are counted against a small daily allowance.

use tokio::sync::Mutex;

use crate::domain::clock::now_epoch_seconds;
use crate::domain::{AccessToken, CachedAccessToken, FreshAccessToken, WeChatError};
use crate::ports::{AccessTokenStore, WeChat};

/// Refresh this long before WeChat's expiry, so no request carries a token that dies
/// in flight.
const REFRESH_AHEAD_SECONDS: i64 = 300;
/// A token fetched this recently is used even inside the refresh window: stable_token may
/// hand back the same near-expiry token, and asking again on every request would burn quota.
const RECENT_FETCH_SECONDS: i64 = 30;
/// Never use a token with less life than this.
const MIN_REMAINING_SECONDS: i64 = 10;

/// Access tokens for one appid, cached in memory and in the shared store.
pub struct AccessTokens<S> {
    store: S,
    memory: Mutex<Option<CachedAccessToken>>,
}

fn usable(cached: &CachedAccessToken, now: i64) -> bool {
    let remaining = cached.expires_at - now;
    remaining > REFRESH_AHEAD_SECONDS
        || (now - cached.fetched_at < RECENT_FETCH_SECONDS && remaining > MIN_REMAINING_SECONDS)
}

impl<S: AccessTokenStore> AccessTokens<S> {
    /// A cache backed by `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            memory: Mutex::new(None),
        }
    }

    /// A live token: from memory, else the shared item, else a fresh one from stable_token.
    pub async fn get(&self, wechat: &impl WeChat) -> Result<AccessToken, WeChatError> {
        let now = now_epoch_seconds();
        // One refresh at a time per instance; the others wait and reuse its result.
        let mut memory = self.memory.lock().await;
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
        let fresh = wechat.stable_token(false).await?;
        Ok(self.remember(wechat, fresh, &mut memory).await)
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
    /// forces a refresh only if it hands the rejected token back. The rejected token is
    /// never cached again.
    pub async fn replace(
        &self,
        wechat: &impl WeChat,
        rejected: &AccessToken,
    ) -> Result<AccessToken, WeChatError> {
        let mut memory = self.memory.lock().await;
        let now = now_epoch_seconds();
        let replacement =
            |cached: &CachedAccessToken| cached.token != rejected.expose() && usable(cached, now);
        if let Some(cached) = memory.as_ref().filter(|cached| replacement(cached)) {
            return Ok(AccessToken::new(cached.token.clone()));
        }
        let shared = self.store.get_access_token(wechat.appid()).await;
        if let Ok(Some(shared)) = shared
            && replacement(&shared)
        {
            let token = AccessToken::new(shared.token.clone());
            *memory = Some(shared);
            return Ok(token);
        }
        let plain = wechat.stable_token(false).await?;
        let fresh = if &plain.token == rejected {
            wechat.stable_token(true).await?
        } else {
            plain
        };
        Ok(self.remember(wechat, fresh, &mut memory).await)
    }

    /// Caches `fresh` in memory and, for the other instances, in the shared store.
    async fn remember(
        &self,
        wechat: &impl WeChat,
        fresh: FreshAccessToken,
        memory: &mut Option<CachedAccessToken>,
    ) -> AccessToken {
        let now = now_epoch_seconds();
        let cached = CachedAccessToken {
            token: fresh.token.expose().to_owned(),
            expires_at: now.saturating_add(i64::try_from(fresh.expires_in).unwrap_or(i64::MAX)),
            fetched_at: now,
        };
        if let Err(err) = self.store.put_access_token(wechat.appid(), &cached).await {
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
