//! A login session, and the identity WeChat's code2Session hands over for a code.

use std::time::Duration;

use secrecy::SecretString;

/// What code2Session gives for a valid login code.
pub struct WeChatLogin {
    /// The user's id within this mini-program.
    pub openid: String,
    /// The user's id across the Open Platform account, when the app is bound to one.
    pub unionid: Option<String>,
    /// Key for the user's encrypted data; never leaves the server.
    pub session_key: SecretString,
}

impl std::fmt::Debug for WeChatLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatLogin")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .field("session_key", &"[REDACTED]")
            .finish()
    }
}

/// A stored login session.
#[derive(Clone)]
pub struct Session {
    /// The mini-program the user logged in to.
    pub appid: String,
    /// The user's openid.
    pub openid: String,
    /// The user's unionid, when WeChat gave one.
    pub unionid: Option<String>,
    /// WeChat's session_key (base64 text as WeChat sent it); never leaves the server.
    pub session_key: SecretString,
    /// Epoch seconds of the login.
    pub created_at: i64,
    /// Epoch seconds after which the session is dead, whatever the store still holds.
    pub expires_at: i64,
    /// Epoch milliseconds of the login, ordered against the user's "log out everywhere".
    pub issued_at_ms: i64,
}

impl Session {
    /// A session in `appid` for `login`, issued at `now_ms` (epoch milliseconds) and
    /// lasting `ttl`.
    pub fn start(appid: &str, login: WeChatLogin, now_ms: i64, ttl: Duration) -> Self {
        let ttl_seconds = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let created_at = now_ms.div_euclid(1000);
        Self {
            appid: appid.to_owned(),
            openid: login.openid,
            unionid: login.unionid,
            session_key: login.session_key,
            created_at,
            expires_at: created_at.saturating_add(ttl_seconds),
            issued_at_ms: now_ms,
        }
    }

    /// True while the session may be used (TTL deletion is lazy, so every read checks).
    pub fn is_live_at(&self, now: i64) -> bool {
        self.expires_at > now
    }

    /// Time left at `now` (zero once expired).
    pub fn expires_in(&self, now: i64) -> Duration {
        Duration::from_secs(u64::try_from(self.expires_at - now).unwrap_or(0))
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("appid", &self.appid)
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .field("session_key", &"[REDACTED]")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("issued_at_ms", &self.issued_at_ms)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> WeChatLogin {
        WeChatLogin {
            openid: "o1".into(),
            unionid: None,
            session_key: SecretString::from("tiihtNczf5v6AKRyjwEUhQ==".to_owned()),
        }
    }

    #[test]
    fn a_session_lives_its_ttl_and_not_a_second_more() {
        let session = Session::start("wxA", login(), 1_000_000, Duration::from_secs(7200));
        assert_eq!(session.expires_at, 8_200);
        assert!(session.is_live_at(8_199));
        assert!(!session.is_live_at(8_200));
        assert_eq!(session.expires_in(1_000), Duration::from_secs(7200));
        assert_eq!(session.expires_in(9_000), Duration::ZERO);
    }

    #[test]
    fn debug_redacts_the_session_key() {
        let session = Session::start("wxA", login(), 0, Duration::from_secs(60));
        assert!(!format!("{session:?}").contains("tiiht"));
        assert!(!format!("{:?}", login()).contains("tiiht"));
    }
}
