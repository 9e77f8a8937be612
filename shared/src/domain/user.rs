//! A user: one per openid, created at their first login, holding the phone number they
//! verified and when their sessions were last revoked all at once.

use sha2::{Digest, Sha256};

use super::{PhoneNumber, Session};

/// Bytes of a [`UserKey`]: 128 bits, far beyond any collision between users.
pub const USER_KEY_BYTES: usize = 16;

/// The key a user is stored under, derived from their openid. Every session token carries
/// it (see [`SessionToken::issue`](super::SessionToken::issue)), so the session and its
/// user can be read together in one round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey([u8; USER_KEY_BYTES]);

impl UserKey {
    /// The key of the user with `openid`.
    pub fn of(openid: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(b"wxlogin user\0")
            .chain_update(openid.as_bytes())
            .finalize();
        let mut key = [0u8; USER_KEY_BYTES];
        key.copy_from_slice(&digest[..USER_KEY_BYTES]);
        Self(key)
    }

    /// The key as it appears at the front of a token.
    pub(crate) fn from_bytes(bytes: [u8; USER_KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; USER_KEY_BYTES] {
        &self.0
    }

    /// Lower-case hex, as the store keys it.
    pub fn as_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Which getPhoneNumber form verified a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneVerification {
    /// `encryptedData` + `iv`, decrypted with the session_key.
    Legacy,
    /// A `code` redeemed at WeChat.
    Code,
}

impl PhoneVerification {
    /// Its stored and logged name: `legacy` or `code`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Code => "code",
        }
    }

    /// The form a stored name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "legacy" => Some(Self::Legacy),
            "code" => Some(Self::Code),
            _ => None,
        }
    }
}

/// A phone number bound to a user: verified, when, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundPhone {
    /// The number.
    pub number: PhoneNumber,
    /// Epoch seconds of the verification.
    pub verified_at: i64,
    /// The form that verified it.
    pub verified_by: PhoneVerification,
}

/// A stored user: one person in one mini-program (WeChat gives each app its own openids;
/// the unionid links them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The mini-program.
    pub appid: String,
    /// The user's openid.
    pub openid: String,
    /// The unionid, once WeChat has sent one.
    pub unionid: Option<String>,
    /// Epoch seconds of the first login.
    pub created_at: i64,
    /// Epoch seconds of the latest login.
    pub last_login_at: i64,
    /// The verified phone number, if any.
    pub phone: Option<BoundPhone>,
    /// Epoch milliseconds before which every session of the user is refused (their
    /// last "log out everywhere"); 0 when never.
    pub sessions_revoked_before_ms: i64,
}

/// What every login records on the user: created if new, else touched.
#[derive(Debug, Clone)]
pub struct UserLogin {
    /// The mini-program logged in to.
    pub appid: String,
    /// The user's openid.
    pub openid: String,
    /// The unionid WeChat sent with this login, if any (never erases a known one).
    pub unionid: Option<String>,
    /// Epoch seconds of the login.
    pub at: i64,
    /// The new session, listed on the user so "log out everywhere" can count it.
    pub session_expires_at: i64,
}

/// The user after a login, and whether it was their first.
#[derive(Debug, Clone)]
pub struct RecordedLogin {
    /// The user as stored now.
    pub user: User,
    /// True on the user's first login.
    pub new_user: bool,
}

/// A live session and its user, read together.
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

impl LiveSession {
    /// The session and user as read, if the session is live at `now_ms`: not expired, its
    /// user item present and its own (same openid and app), and not revoked by a "log out
    /// everywhere" at or after its issue. A session whose user item is gone (erased, or
    /// deleted by hand) is refused: nothing may skip the revocation check.
    pub fn check(session: Session, user: Option<User>, now_ms: i64) -> Option<Self> {
        let user = user?;
        let revoked = user.sessions_revoked_before_ms > 0
            && session.issued_at_ms <= user.sessions_revoked_before_ms;
        let live = session.is_live_at(now_ms.div_euclid(1000))
            && user.openid == session.openid
            && user.appid == session.appid
            && !revoked;
        live.then_some(Self { session, user })
    }

    /// The user's phone number, if they bound one.
    pub fn phone(&self) -> Option<&PhoneNumber> {
        self.user.phone.as_ref().map(|phone| &phone.number)
    }

    /// The user's unionid: the one stored on the user (never erased by a login without
    /// one), else the session's.
    pub fn unionid(&self) -> Option<&str> {
        self.user
            .unionid
            .as_deref()
            .or(self.session.unionid.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::WeChatLogin;

    fn session(openid: &str, issued_at_ms: i64) -> Session {
        let login = WeChatLogin {
            openid: openid.into(),
            unionid: None,
            session_key: "k".to_owned().into(),
        };
        let mut session = Session::start("wxA", login, 1_000_000, Duration::from_secs(7200));
        session.issued_at_ms = issued_at_ms;
        session
    }

    fn user(openid: &str, revoked_before_ms: i64) -> User {
        User {
            appid: "wxA".into(),
            openid: openid.into(),
            unionid: None,
            created_at: 1,
            last_login_at: 1,
            phone: None,
            sessions_revoked_before_ms: revoked_before_ms,
        }
    }

    #[test]
    fn revocation_ends_sessions_issued_up_to_its_millisecond() {
        let now = 2_000_000;
        assert!(LiveSession::check(session("o1", 1_500), Some(user("o1", 0)), now).is_some());
        assert!(LiveSession::check(session("o1", 1_500), Some(user("o1", 1_500)), now).is_none());
        assert!(LiveSession::check(session("o1", 1_501), Some(user("o1", 1_500)), now).is_some());
    }

    #[test]
    fn a_session_without_its_user_item_is_refused() {
        assert!(LiveSession::check(session("o1", 1_500), None, 2_000_000).is_none());
    }

    #[test]
    fn a_user_item_of_another_openid_or_app_refuses_the_session() {
        assert!(LiveSession::check(session("o1", 5), Some(user("o2", 0)), 2_000_000).is_none());
        let mut elsewhere = user("o1", 0);
        elsewhere.appid = "wxB".into();
        assert!(LiveSession::check(session("o1", 5), Some(elsewhere), 2_000_000).is_none());
    }

    #[test]
    fn an_expired_session_is_dead_whatever_the_user() {
        let expired_at_ms = (1_000 + 7_200) * 1000;
        assert!(LiveSession::check(session("o1", 5), Some(user("o1", 0)), expired_at_ms).is_none());
    }
}
