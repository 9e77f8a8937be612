//! The API's error table in code: each variant has one status and one stable code,
//! and every domain error becomes one of them here, in one place.

use http::StatusCode;

use crate::domain::{
    DecryptError, Errcode, LoginError, PhoneError, PushError, SessionError, StoreError, WeChatError,
};
use crate::telemetry::current::Upstream;
use crate::usecases::TokenError;

/// A new stack's first key is made seconds after it is created; a key store outage is
/// retried by the function every 30 s.
const SIGNING_RETRY_AFTER_SECONDS: u64 = 30;

/// WeChat's 45011 says "retry next minute".
const RATE_LIMIT_RETRY_AFTER_SECONDS: u64 = 60;

/// Every way a request can fail, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; the text says what to send instead.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// 413: body over the API's 16 KiB.
    #[error("request body exceeds 16 KiB")]
    PayloadTooLarge,
    /// 400: the login names a mini-program (in `appid` or WeChat's Referer) this stack
    /// does not serve.
    #[error("this stack does not serve that appid")]
    UnknownApp,
    /// 405: the route does not serve this method; `allow` lists the ones it does.
    #[error("this route accepts only {allow}")]
    MethodNotAllowed {
        /// The route's methods, as the `Allow` header spells them.
        allow: &'static str,
    },
    /// 401: WeChat says the code is invalid or expired.
    #[error("the login code is invalid or expired: call wx.login again")]
    InvalidCode,
    /// 409: the code was already exchanged (by us or, per WeChat, by someone).
    #[error("the login code was already used: call wx.login again")]
    CodeUsed,
    /// 403: WeChat blocked this user as high-risk.
    #[error("WeChat refused this user")]
    UserBlocked,
    /// 403: WeChat's risk rank of this user is at or above the stack's threshold.
    #[error("this user may not sign up: WeChat ranks them too risky")]
    RiskyUser,
    /// 429: WeChat rate-limits this user or app.
    #[error("too many requests: retry after {retry_after_seconds}s")]
    RateLimited {
        /// Seconds the client should wait.
        retry_after_seconds: u64,
    },
    /// 503: WeChat is busy, slow or unreachable; the same code may work again.
    #[error("WeChat is temporarily unavailable: retry shortly")]
    WeChatUnavailable,
    /// 503: WeChat did not answer a login in time, and may have used the code: it is
    /// never sent again, so the client needs a new one.
    #[error(
        "WeChat did not answer in time and may have used the login code: call wx.login for a new code, then retry"
    )]
    WeChatUnavailableNewCodeNeeded,
    /// 502: WeChat answered something we cannot use.
    #[error("WeChat returned an unexpected error")]
    WeChatUnexpected,
    /// 401: WeChat says the getPhoneNumber code is invalid, used or expired.
    #[error("the phone code is invalid, used or expired: ask the user to tap the button again")]
    InvalidPhoneCode,
    /// 400: the data decrypted and is this app's, but it holds no phone number (userInfo
    /// data sent to the phone endpoint, say).
    #[error("encryptedData is not getPhoneNumber data")]
    NotPhoneData,
    /// 401: no valid session for the bearer token (missing, malformed, unknown, expired).
    #[error("missing, malformed, unknown or expired token: log in again through /onlogin")]
    InvalidToken,
    /// 422: the stored session_key is not the one WeChat now holds for the user, or the
    /// data does not decrypt with it (made before a re-login, or for another app):
    /// `wx.login` + `/onlogin`, then retry.
    #[error(
        "the session_key of this session no longer matches WeChat's or the data: call wx.login and /onlogin again, then retry"
    )]
    SessionKeyMismatch,
    /// 503: DynamoDB is unreachable or throttling after retries.
    #[error("the session store is temporarily unavailable: retry shortly")]
    StoreUnavailable,
    /// 401: a message push (or WeChat's URL check) not signed with the app's Token.
    #[error("the signature does not hold under this app's Token")]
    InvalidSignature,
    /// 401: a message push whose timestamp is not within 5 minutes of ours.
    #[error("the timestamp is missing or more than 5 minutes away")]
    StaleTimestamp,
    /// 404: the app has no message-push keys configured.
    #[error("message push is not configured for this app")]
    PushNotConfigured,
    /// 503: the signing keys cannot be read, or none signs yet (a new stack's first
    /// rotation has not finished): retry shortly.
    #[error("tokens cannot be signed right now: retry shortly")]
    SigningUnavailable,
    /// 403: a live session of another mini-program than the one the caller expects
    /// (`GET /session?appid=`): one app's session must not pass as another's.
    #[error("the session belongs to another mini-program than the one expected")]
    WrongApp,
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::NotPhoneData | Self::UnknownApp => {
                StatusCode::BAD_REQUEST
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidCode
            | Self::InvalidPhoneCode
            | Self::InvalidToken
            | Self::InvalidSignature
            | Self::StaleTimestamp => StatusCode::UNAUTHORIZED,
            Self::PushNotConfigured => StatusCode::NOT_FOUND,
            Self::SessionKeyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Self::CodeUsed => StatusCode::CONFLICT,
            Self::UserBlocked | Self::RiskyUser | Self::WrongApp => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::WeChatUnavailable
            | Self::WeChatUnavailableNewCodeNeeded
            | Self::StoreUnavailable
            | Self::SigningUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::WeChatUnexpected => StatusCode::BAD_GATEWAY,
        }
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::NotPhoneData => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnknownApp => "unknown_app",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::InvalidCode | Self::InvalidPhoneCode => "invalid_code",
            Self::InvalidToken => "invalid_token",
            Self::SessionKeyMismatch => "session_key_mismatch",
            Self::CodeUsed => "code_used",
            Self::UserBlocked => "user_blocked",
            Self::RiskyUser => "risky_user",
            Self::RateLimited { .. } => "rate_limited",
            Self::WeChatUnavailable | Self::WeChatUnavailableNewCodeNeeded => "wechat_unavailable",
            Self::WeChatUnexpected => "wechat_error",
            Self::StoreUnavailable => "store_unavailable",
            Self::SigningUnavailable => "signing_unavailable",
            Self::InvalidSignature => "invalid_signature",
            Self::StaleTimestamp => "stale_timestamp",
            Self::PushNotConfigured => "push_not_configured",
            Self::WrongApp => "wrong_app",
        }
    }

    /// Seconds for a `retry-after` header, where the error has one.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::RateLimited {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            Self::SigningUnavailable => Some(SIGNING_RETRY_AFTER_SECONDS),
            _ => None,
        }
    }
}

impl ApiError {
    /// The upstream whose failure this error reports; `None` for the client's own mistakes
    /// and WeChat's per-user answers (a bad code, a rate limit). The signing keys' secret
    /// is not DynamoDB: its failures have their own alarm (`TokenSigningAlarm`).
    pub fn failed_upstream(&self) -> Option<Upstream> {
        match self {
            Self::WeChatUnavailable
            | Self::WeChatUnavailableNewCodeNeeded
            | Self::WeChatUnexpected => Some(Upstream::WeChat),
            Self::StoreUnavailable => Some(Upstream::Store),
            _ => None,
        }
    }
}

/// The one place a store failure becomes a client-facing error, logged (the SDK's error
/// text names the operation and failure, never item values).
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "DynamoDB call failed");
        Self::StoreUnavailable
    }
}

/// The one place WeChat failures become client-facing errors.
impl From<WeChatError> for ApiError {
    fn from(err: WeChatError) -> Self {
        match err {
            WeChatError::Api(Errcode::InvalidCode) => Self::InvalidCode,
            WeChatError::Api(Errcode::CodeUsed) => Self::CodeUsed,
            WeChatError::Api(Errcode::UserBlocked) => Self::UserBlocked,
            WeChatError::Api(Errcode::RateLimited) => Self::RateLimited {
                retry_after_seconds: RATE_LIMIT_RETRY_AFTER_SECONDS,
            },
            WeChatError::Api(Errcode::SystemBusy)
            | WeChatError::Unreachable
            | WeChatError::SecretUnavailable
            | WeChatError::Timeout
            | WeChatError::Transport => Self::WeChatUnavailable,
            WeChatError::Api(_) | WeChatError::BadResponse(_) => Self::WeChatUnexpected,
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::AppNotNamed => Self::InvalidRequest(
                "this stack serves several mini-programs: name yours in the field \"appid\" \
                 (WeChat's Referer names it on requests from a mini-program)",
            ),
            LoginError::UnknownApp => Self::UnknownApp,
            LoginError::ClientRateLimited {
                retry_after_seconds,
            } => Self::RateLimited {
                retry_after_seconds,
            },
            LoginError::CodeAlreadyClaimed => Self::CodeUsed,
            LoginError::RiskyUser => Self::RiskyUser,
            LoginError::WeChat(err) => {
                let spent = !err.leaves_code_unused();
                match Self::from(err) {
                    Self::WeChatUnavailable if spent => Self::WeChatUnavailableNewCodeNeeded,
                    other => other,
                }
            }
            LoginError::Store(err) => err.into(),
            // No token can be drawn: as unavailable as the store, and as retryable.
            LoginError::RandomSource => Self::StoreUnavailable,
        }
    }
}

impl From<PhoneError> for ApiError {
    fn from(err: PhoneError) -> Self {
        match err {
            PhoneError::NoSession => Self::InvalidToken,
            PhoneError::KeyMismatch => Self::SessionKeyMismatch,
            PhoneError::NotPhoneData => Self::NotPhoneData,
            PhoneError::PhoneCodeRejected => Self::InvalidPhoneCode,
            PhoneError::RateLimited {
                retry_after_seconds,
            } => Self::RateLimited {
                retry_after_seconds,
            },
            PhoneError::WeChat(err) => err.into(),
            PhoneError::Store(err) => err.into(),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::NoSession => Self::InvalidToken,
            TokenError::NoSigningKey => {
                tracing::error!("no signing key is in force: has the first rotation run?");
                Self::SigningUnavailable
            }
            TokenError::Keys(err) => {
                tracing::error!(error = %err, "signing keys unavailable");
                Self::SigningUnavailable
            }
            TokenError::Store(err) => err.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::NoSession => Self::InvalidToken,
            SessionError::KeyMismatch => Self::SessionKeyMismatch,
            SessionError::RateLimited {
                retry_after_seconds,
            } => Self::RateLimited {
                retry_after_seconds,
            },
            SessionError::WeChat(err) => err.into(),
            SessionError::Store(err) => err.into(),
        }
    }
}

impl From<PushError> for ApiError {
    fn from(err: PushError) -> Self {
        match err {
            PushError::UnknownApp => Self::UnknownApp,
            PushError::NotConfigured => Self::PushNotConfigured,
            PushError::BadSignature => Self::InvalidSignature,
            PushError::StaleTimestamp => Self::StaleTimestamp,
            PushError::Malformed(what) => Self::InvalidRequest(what),
            PushError::Store(err) => err.into(),
        }
    }
}

/// Malformed `encryptedData`/`iv` is the client's mistake; anything else the parser
/// reports means the data cannot be this session's.
impl From<DecryptError> for ApiError {
    fn from(err: DecryptError) -> Self {
        match err {
            DecryptError::BadInput(message) => Self::InvalidRequest(message),
            DecryptError::KeyMismatch => Self::SessionKeyMismatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechat_errors_map_to_the_api_table() {
        let cases = [
            (WeChatError::Api(Errcode::InvalidCode), 401, "invalid_code"),
            (WeChatError::Api(Errcode::CodeUsed), 409, "code_used"),
            (WeChatError::Api(Errcode::UserBlocked), 403, "user_blocked"),
            (WeChatError::Api(Errcode::RateLimited), 429, "rate_limited"),
            (
                WeChatError::Api(Errcode::SystemBusy),
                503,
                "wechat_unavailable",
            ),
            (WeChatError::Timeout, 503, "wechat_unavailable"),
            (
                WeChatError::Api(Errcode::QuotaExceeded),
                502,
                "wechat_error",
            ),
            (
                WeChatError::Api(Errcode::InvalidAccessToken),
                502,
                "wechat_error",
            ),
            (
                WeChatError::Api(Errcode::InvalidSignature),
                502,
                "wechat_error",
            ),
            (WeChatError::Unreachable, 503, "wechat_unavailable"),
            (WeChatError::Transport, 503, "wechat_unavailable"),
            (
                WeChatError::Api(Errcode::InvalidAppSecret),
                502,
                "wechat_error",
            ),
            (WeChatError::Api(Errcode::Other(99999)), 502, "wechat_error"),
            (WeChatError::BadResponse("x"), 502, "wechat_error"),
        ];
        for (wechat, status, code) in cases {
            let api = ApiError::from(wechat.clone());
            assert_eq!(
                (api.status().as_u16(), api.code()),
                (status, code),
                "{wechat:?}"
            );
        }
    }

    #[test]
    fn domain_errors_map_to_the_api_table() {
        let store = || StoreError::new("down");
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (LoginError::CodeAlreadyClaimed.into(), 409, "code_used"),
            (LoginError::AppNotNamed.into(), 400, "invalid_request"),
            (LoginError::UnknownApp.into(), 400, "unknown_app"),
            (
                LoginError::ClientRateLimited {
                    retry_after_seconds: 7,
                }
                .into(),
                429,
                "rate_limited",
            ),
            (LoginError::Store(store()).into(), 503, "store_unavailable"),
            (LoginError::RandomSource.into(), 503, "store_unavailable"),
            (
                LoginError::WeChat(WeChatError::Timeout).into(),
                503,
                "wechat_unavailable",
            ),
            (
                LoginError::WeChat(WeChatError::Api(Errcode::CodeUsed)).into(),
                409,
                "code_used",
            ),
            (PhoneError::NoSession.into(), 401, "invalid_token"),
            (PhoneError::KeyMismatch.into(), 422, "session_key_mismatch"),
            (PhoneError::NotPhoneData.into(), 400, "invalid_request"),
            (PhoneError::PhoneCodeRejected.into(), 401, "invalid_code"),
            (
                PhoneError::WeChat(WeChatError::Timeout).into(),
                503,
                "wechat_unavailable",
            ),
            (PhoneError::Store(store()).into(), 503, "store_unavailable"),
            (SessionError::NoSession.into(), 401, "invalid_token"),
            (
                SessionError::KeyMismatch.into(),
                422,
                "session_key_mismatch",
            ),
            (
                SessionError::WeChat(WeChatError::Api(Errcode::RateLimited)).into(),
                429,
                "rate_limited",
            ),
            (
                SessionError::Store(store()).into(),
                503,
                "store_unavailable",
            ),
            (DecryptError::BadInput("x").into(), 400, "invalid_request"),
            (
                DecryptError::KeyMismatch.into(),
                422,
                "session_key_mismatch",
            ),
        ];
        for (api, status, code) in cases {
            assert_eq!(
                (api.status().as_u16(), api.code()),
                (status, code),
                "{api:?}"
            );
        }
    }

    #[test]
    fn only_rate_limiting_carries_retry_after() {
        assert_eq!(
            ApiError::from(WeChatError::Api(Errcode::RateLimited)).retry_after_seconds(),
            Some(60)
        );
        assert_eq!(ApiError::StoreUnavailable.retry_after_seconds(), None);
    }

    #[test]
    fn a_login_503_says_whether_the_code_can_be_sent_again() {
        let timed_out = ApiError::from(LoginError::WeChat(WeChatError::Timeout));
        assert_eq!(timed_out, ApiError::WeChatUnavailableNewCodeNeeded);
        assert!(timed_out.to_string().contains("wx.login"));
        let busy = ApiError::from(LoginError::WeChat(WeChatError::Api(Errcode::SystemBusy)));
        assert_eq!(busy, ApiError::WeChatUnavailable);
    }
}
