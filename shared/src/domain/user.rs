//! A user: one per openid, created at their first login, holding the phone number they
//! verified and the list of their sessions. A session is live only while its user lists
//! it: logout, log out everywhere and erasure end sessions by taking them off the list,
//! and a user item deleted by hand takes every session with it.

use super::{PhoneNumber, RiskAssessment, Session, TokenHash};

/// Bytes of a [`UserKey`]: 128 bits, far beyond any collision between users.
pub const USER_KEY_BYTES: usize = 16;

/// The key a user is stored under, derived from their openid with the stack's key
/// ([`StackKey::user_key`](super::StackKey::user_key)). Every session token carries it (see
/// [`SessionToken::issue`](super::SessionToken::issue)), so the session and its user can
/// be read together in one round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey([u8; USER_KEY_BYTES]);

impl UserKey {
    /// The key of a stored item (`as_hex`'s form); `None` for anything else.
    pub fn from_hex(hex_key: &str) -> Option<Self> {
        let mut key = [0u8; USER_KEY_BYTES];
        hex::decode_to_slice(hex_key, &mut key).ok()?;
        Some(Self(key))
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
    /// A getRealtimePhoneNumber `code`: WeChat re-checked the number with the carrier.
    Realtime,
}

impl PhoneVerification {
    /// Its stored and logged name: `legacy`, `code` or `realtime`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Code => "code",
            Self::Realtime => "realtime",
        }
    }

    /// The form a stored name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "legacy" => Some(Self::Legacy),
            "code" => Some(Self::Code),
            "realtime" => Some(Self::Realtime),
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
    /// WeChat's risk rank at sign-up, when the stack asked for it and WeChat answered.
    pub risk: Option<RiskAssessment>,
    /// The sessions listed on the user: only these may be live.
    pub sessions: Vec<ListedSession>,
    /// Epoch milliseconds an erasure of the user began, while it is under way: every
    /// session is refused, and a login starts a brand-new user.
    pub erasing_since_ms: Option<i64>,
    /// Epoch seconds the user expires for inactivity (each login moves it), if the stack
    /// keeps inactive users only so long.
    pub expires_at: Option<i64>,
}

impl User {
    /// The user a first login creates (or a login replacing a user being erased or
    /// expired): nothing bound, only this login's session listed.
    pub fn created_by(login: &UserLogin) -> Self {
        Self {
            appid: login.appid.clone(),
            openid: login.openid.clone(),
            unionid: login.unionid.clone(),
            created_at: login.at,
            last_login_at: login.at,
            phone: None,
            risk: None,
            sessions: vec![login.session.clone()],
            erasing_since_ms: None,
            expires_at: login.keep_until,
        }
    }

    /// True while the user may hold live sessions: not being erased, not expired at `now`.
    pub fn is_current_at(&self, now: i64) -> bool {
        self.erasing_since_ms.is_none() && self.expires_at.is_none_or(|expires_at| expires_at > now)
    }
}

/// A session as its user's item lists it, stored as `<expires_at>:<created_at>:<token
/// hash>`: enough to count and show the user's sessions without reading them, and to
/// delete them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListedSession {
    /// Epoch seconds the session expires.
    pub expires_at: i64,
    /// Epoch seconds it was issued.
    pub created_at: i64,
    /// The hash of its token: the session item's key.
    pub token: TokenHash,
}

impl ListedSession {
    /// How the user lists `session`, stored under `token`.
    pub fn of(session: &Session, token: &TokenHash) -> Self {
        Self {
            expires_at: session.expires_at,
            created_at: session.created_at,
            token: token.clone(),
        }
    }

    /// The stored form.
    pub fn entry(&self) -> String {
        format!(
            "{}:{}:{}",
            self.expires_at,
            self.created_at,
            self.token.as_hex()
        )
    }

    /// A stored entry; `None` for anything [`entry`](Self::entry) did not write.
    pub fn parse(entry: &str) -> Option<Self> {
        let mut parts = entry.splitn(3, ':');
        Some(Self {
            expires_at: parts.next()?.parse().ok()?,
            created_at: parts.next()?.parse().ok()?,
            token: TokenHash::from_hex(parts.next()?)?,
        })
    }

    /// True until the session expires.
    pub fn is_live_at(&self, now: i64) -> bool {
        self.expires_at > now
    }
}

/// What every login records on the user: created if new (or if being erased), else
/// touched.
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
    /// The new session, listed on the user: from now on it is live.
    pub session: ListedSession,
    /// Epoch seconds the user expires unless they log in again; `None` keeps them.
    pub keep_until: Option<i64>,
}

/// What an erasure found when it began: every session item that may still be stored for
/// the user.
#[derive(Debug, Clone)]
pub struct ErasureTarget {
    /// Epoch milliseconds the erasure began (the first attempt's, on a retry).
    pub since_ms: i64,
    /// The sessions the user listed: live until the erasure began.
    pub sessions: Vec<ListedSession>,
    /// Sessions ended earlier whose items may not be deleted yet.
    pub ended: Vec<ListedSession>,
}

impl ErasureTarget {
    /// Every session whose item the erasure deletes.
    pub fn all_sessions(&self) -> impl Iterator<Item = &ListedSession> {
        self.sessions.iter().chain(&self.ended)
    }
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
    /// How the user lists it: what a write on its behalf checks is still there.
    pub listing: ListedSession,
}

impl LiveSession {
    /// The session stored under `token` and its user as read, if the session is live at
    /// `now_ms`: not expired, its user item present and its own (same openid and app),
    /// current (not being erased, not expired) and listing it. A session whose user item
    /// is gone (erased, or deleted by hand) or no longer lists it is refused.
    pub fn check(
        session: Session,
        token: &TokenHash,
        user: Option<User>,
        now_ms: i64,
    ) -> Option<Self> {
        let user = user?;
        let now = now_ms.div_euclid(1000);
        let listing = ListedSession::of(&session, token);
        let live = session.is_live_at(now)
            && user.openid == session.openid
            && user.appid == session.appid
            && user.is_current_at(now)
            && user.sessions.contains(&listing);
        live.then_some(Self {
            session,
            user,
            listing,
        })
    }

    /// The user's phone number, if they bound one.
    pub fn phone(&self) -> Option<&PhoneNumber> {
        self.bound_phone().map(|phone| &phone.number)
    }

    /// The user's phone number with how and when it was verified, if they bound one.
    pub fn bound_phone(&self) -> Option<&BoundPhone> {
        self.user.phone.as_ref()
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

    fn token_hash() -> TokenHash {
        crate::testing::unknown_token().hash()
    }

    /// A user of `openid` listing `session` under `token`.
    fn user_listing(openid: &str, session: &Session, token: &TokenHash) -> User {
        User {
            appid: "wxA".into(),
            openid: openid.into(),
            unionid: None,
            created_at: 1,
            last_login_at: 1,
            phone: None,
            risk: None,
            sessions: vec![ListedSession::of(session, token)],
            erasing_since_ms: None,
            expires_at: None,
        }
    }

    const NOW_MS: i64 = 2_000_000;

    #[test]
    fn a_session_is_live_only_while_its_user_lists_it() {
        let (token, session) = (token_hash(), session("o1", 5));
        let user = user_listing("o1", &session, &token);
        assert!(LiveSession::check(session.clone(), &token, Some(user.clone()), NOW_MS).is_some());
        let unlisted = User {
            sessions: Vec::new(),
            ..user.clone()
        };
        assert!(LiveSession::check(session.clone(), &token, Some(unlisted), NOW_MS).is_none());
        assert!(
            LiveSession::check(session, &token_hash(), Some(user), NOW_MS).is_none(),
            "listed under another token"
        );
    }

    #[test]
    fn a_session_without_its_user_item_is_refused() {
        assert!(LiveSession::check(session("o1", 1_500), &token_hash(), None, NOW_MS).is_none());
    }

    #[test]
    fn a_user_being_erased_or_expired_refuses_every_session() {
        let (token, session) = (token_hash(), session("o1", 5));
        let user = user_listing("o1", &session, &token);
        let erasing = User {
            erasing_since_ms: Some(1),
            ..user.clone()
        };
        assert!(LiveSession::check(session.clone(), &token, Some(erasing), NOW_MS).is_none());
        let expired = User {
            expires_at: Some(NOW_MS / 1000),
            ..user.clone()
        };
        assert!(LiveSession::check(session.clone(), &token, Some(expired), NOW_MS).is_none());
        let kept = User {
            expires_at: Some(NOW_MS / 1000 + 1),
            ..user
        };
        assert!(LiveSession::check(session, &token, Some(kept), NOW_MS).is_some());
    }

    #[test]
    fn a_user_item_of_another_openid_or_app_refuses_the_session() {
        let (token, session) = (token_hash(), session("o1", 5));
        let other = user_listing("o2", &session, &token);
        assert!(LiveSession::check(session.clone(), &token, Some(other), NOW_MS).is_none());
        let mut elsewhere = user_listing("o1", &session, &token);
        elsewhere.appid = "wxB".into();
        assert!(LiveSession::check(session, &token, Some(elsewhere), NOW_MS).is_none());
    }

    #[test]
    fn an_expired_session_is_dead_whatever_the_user() {
        let (token, session) = (token_hash(), session("o1", 5));
        let user = user_listing("o1", &session, &token);
        let expired_at_ms = (1_000 + 7_200) * 1000;
        assert!(LiveSession::check(session, &token, Some(user), expired_at_ms).is_none());
    }

    #[test]
    fn a_listing_reads_back_what_it_wrote_and_nothing_else() {
        let listed = ListedSession::of(&session("o1", 5), &token_hash());
        assert_eq!(ListedSession::parse(&listed.entry()), Some(listed.clone()));
        for bad in [
            "",
            "1:2",
            "x:2:ab",
            "1:2:ab",
            &listed.entry().to_uppercase(),
        ] {
            assert_eq!(ListedSession::parse(bad), None, "{bad}");
        }
    }
}
