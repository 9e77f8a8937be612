//! How each use-case can fail, in the domain's words. The HTTP edge turns each into the
//! API's status and code in one place (`edge::ApiError`'s `From` impls).

use super::{Errcode, WeChatError};

/// The store (DynamoDB) could not do what was asked: unreachable, throttled after
/// retries, a deadline. The text names the operation and failure, never item values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct StoreError(String);

impl StoreError {
    /// A failure described by `reason` (no item values: it is logged).
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// Why `POST /onlogin` gave no session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// The stack serves several mini-programs and the request names none.
    #[error("the request does not name its mini-program")]
    AppNotNamed,
    /// The request names a mini-program this stack does not serve.
    #[error("this stack does not serve that mini-program")]
    UnknownApp,
    /// The client's address sent too many codes WeChat refused this minute: nothing was
    /// claimed or sent to WeChat.
    #[error("too many logins from this client")]
    ClientRateLimited {
        /// Seconds until its minute ends.
        retry_after_seconds: u64,
    },
    /// Another request already holds a live claim on this code (a replay or a race).
    #[error("the login code is already claimed")]
    CodeAlreadyClaimed,
    /// WeChat ranks the user at or above the stack's risk threshold (`RISK_CHECK=enforce`):
    /// the session was ended before anyone saw its token.
    #[error("WeChat ranks this user too risky to sign up")]
    RiskyUser,
    /// WeChat refused the code or failed; the claim was released when the code is unused.
    #[error(transparent)]
    WeChat(#[from] WeChatError),
    /// The store failed (claiming the code or writing the session).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operating system's random source failed, so no token could be drawn.
    #[error("the OS random source failed")]
    RandomSource,
}

impl LoginError {
    /// A code refused as invalid, expired or already used: what a sender of junk codes
    /// gets, and a real user almost never.
    pub fn is_the_clients_fault(&self) -> bool {
        matches!(
            self,
            Self::CodeAlreadyClaimed
                | Self::WeChat(WeChatError::Api(Errcode::InvalidCode | Errcode::CodeUsed))
        )
    }
}

/// Why `POST /decrypt-phone` gave no phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The bearer token has no live session (unknown, logged out or expired).
    #[error("no live session for this token")]
    NoSession,
    /// Legacy form: the data does not decrypt with the session's key to this app's JSON,
    /// or its watermark is too old (made before a re-login, or for another app).
    #[error("the data does not match the session_key")]
    KeyMismatch,
    /// Legacy form: the data decrypted and is this app's, but holds no phone number.
    #[error("the data is not getPhoneNumber data")]
    NotPhoneData,
    /// Code form: WeChat says the phone code is invalid, used or expired (40029/40163).
    #[error("the phone code was refused")]
    PhoneCodeRejected,
    /// The user's phone verifications for the day are spent.
    #[error("phone verification quota spent")]
    RateLimited {
        /// Seconds until the quota's window ends.
        retry_after_seconds: u64,
    },
    /// Code form: WeChat failed otherwise.
    #[error(transparent)]
    WeChat(#[from] WeChatError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a `/session` request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The bearer token has no live session (unknown, logged out or expired).
    #[error("no live session for this token")]
    NoSession,
    /// WeChat no longer holds the stored session_key (87009): the user logged in again
    /// elsewhere.
    #[error("the session_key is no longer WeChat's")]
    KeyMismatch,
    /// The session's `?check=wechat` calls for the minute are spent.
    #[error("WeChat check quota spent")]
    RateLimited {
        /// Seconds until the quota's window ends.
        retry_after_seconds: u64,
    },
    /// WeChat failed.
    #[error(transparent)]
    WeChat(#[from] WeChatError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a message push (or WeChat's URL check) was refused: nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The URL names an app the stack does not serve.
    #[error("this stack does not serve that appid")]
    UnknownApp,
    /// The app has no Token and EncodingAESKey configured.
    #[error("message push is not configured for this app")]
    NotConfigured,
    /// The signature does not hold under the app's Token.
    #[error("the push is not signed with this app's Token")]
    BadSignature,
    /// The timestamp is outside the accepted window (or not a number).
    #[error("the push's timestamp is outside the accepted window")]
    StaleTimestamp,
    /// The body or query is malformed, or the message is for another app.
    #[error("{0}")]
    Malformed(&'static str),
    /// The keys or the store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}
