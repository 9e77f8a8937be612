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
    /// Epoch seconds it was fetched.
    pub fetched_at: i64,
}

impl std::fmt::Debug for CachedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedAccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .field("fetched_at", &self.fetched_at)
            .finish()
    }
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
            fetched_at: 1,
        };
        assert!(!format!("{cached:?}").contains("secret-token"));
    }
}
