//! WeChat's access token: the app's own credential for the phone and checksession APIs.

use secrecy::{ExposeSecret, SecretString};

/// An access token; a secret (it acts as the app), so `Debug` redacts it.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    /// Wraps token text (from WeChat or the shared cache).
    pub fn new(token: String) -> Self {
        Self(SecretString::from(token))
    }

    /// The token text, for the `access_token` query parameter and the cache.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for AccessToken {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// A token as stable_token hands it out.
#[derive(Debug)]
pub struct FreshAccessToken {
    /// The token.
    pub token: AccessToken,
    /// Seconds it stays valid from now.
    pub expires_in: u64,
}

/// An access token as the shared cache holds it, with when it dies and when it was fetched.
#[derive(Clone)]
pub struct CachedAccessToken {
    /// The token text (a secret: never logged).
    pub token: String,
    /// Epoch seconds WeChat said it expires.
    pub expires_at: i64,
    /// Epoch milliseconds the stable_token request that got it was sent.
    pub requested_at_ms: i64,
    /// Epoch milliseconds WeChat's answer arrived: of two tokens, the later fetched is the
    /// newer, and a cache write never puts an older one back.
    pub fetched_at_ms: i64,
}

impl CachedAccessToken {
    /// Epoch seconds it was fetched.
    pub fn fetched_at(&self) -> i64 {
        self.fetched_at_ms.div_euclid(1000)
    }
}

impl std::fmt::Debug for CachedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedAccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .field("requested_at_ms", &self.requested_at_ms)
            .field("fetched_at_ms", &self.fetched_at_ms)
            .finish()
    }
}

/// The app-wide rule for forced refreshes, which invalidate the token every holder has and
/// of which WeChat allows 20 a day: across all instances, one per appid per 5 minutes and
/// 10 a day, leaving half of WeChat's allowance to the team's other systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForcedRefreshPolicy {
    /// Least time between two forced refreshes of one appid, in milliseconds.
    pub min_interval_ms: i64,
    /// Most forced refreshes of one appid per day (Beijing time, as WeChat counts).
    pub per_day: u32,
}

impl Default for ForcedRefreshPolicy {
    fn default() -> Self {
        Self {
            min_interval_ms: 5 * 60 * 1000,
            per_day: 10,
        }
    }
}

/// The answer to "may this instance force a refresh now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForcedRefreshClaim {
    /// Yes: the claim is recorded, no other instance gets one for the interval.
    Granted,
    /// Another forced refresh was claimed less than the interval ago.
    TooSoon,
    /// The day's forced refreshes are spent.
    DailyLimit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let token = AccessToken::new("secret-token".into());
        assert!(!format!("{token:?}").contains("secret"));
        let cached = CachedAccessToken {
            token: "secret-token".into(),
            expires_at: 2,
            requested_at_ms: 1_000,
            fetched_at_ms: 1_500,
        };
        assert_eq!(cached.fetched_at(), 1);
        assert!(!format!("{cached:?}").contains("secret-token"));
    }
}
