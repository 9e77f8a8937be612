//! What a WeChat answer means: its numeric `errcode`s as a typed enum (docs/wechat.md,
//! "Errcodes", after WeChat's code2Session / stable_token / getuserphonenumber /
//! checksession references), and every way a call can fail, with the rules the
//! use-cases decide by: was the login code consumed, may the call be repeated.

/// Why a WeChat call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeChatError {
    /// WeChat answered with a non-zero `errcode`.
    #[error("WeChat answered errcode {}", .0.raw())]
    Api(Errcode),
    /// No connection could be made, so the request was never sent.
    #[error("WeChat unreachable (connection failed before the request was sent)")]
    Unreachable,
    /// The request was sent but no answer came within our budget.
    #[error("WeChat did not answer in time")]
    Timeout,
    /// The connection failed after the request was sent.
    #[error("WeChat connection failed mid-request")]
    Transport,
    /// The AppSecret could not be read from Secrets Manager, so WeChat was not called.
    #[error("the AppSecret could not be read")]
    SecretUnavailable,
    /// An answer came but it is not what the API documents.
    #[error("WeChat's answer was unusable: {0}")]
    BadResponse(&'static str),
}

impl WeChatError {
    /// True when WeChat certainly did not consume the login code.
    pub fn leaves_code_unused(&self) -> bool {
        match self {
            Self::Api(errcode) => errcode.leaves_code_unused(),
            Self::Unreachable | Self::SecretUnavailable => true,
            Self::Timeout | Self::Transport | Self::BadResponse(_) => false,
        }
    }

    /// True when repeating the very same call cannot turn a success into 40163: only a
    /// busy answer or a request that never left. After a timeout the code may have been
    /// spent, so it is never sent again (docs/wechat.md, "Retries").
    pub fn safe_to_retry(&self) -> bool {
        matches!(self, Self::Api(Errcode::SystemBusy) | Self::Unreachable)
    }

    /// True when WeChat certainly did nothing with the request: never sent, busy, or the
    /// access token refused before anything else was looked at. A quota counted for such a
    /// call is given back.
    pub fn reached_nothing(&self) -> bool {
        match self {
            Self::Unreachable | Self::SecretUnavailable => true,
            Self::Api(errcode) => {
                *errcode == Errcode::SystemBusy || errcode.is_access_token_rejection()
            }
            Self::Timeout | Self::Transport | Self::BadResponse(_) => false,
        }
    }

    /// True when WeChat refused the access token itself (40001/42001): nothing was
    /// consumed, and the same call with a fresh token may succeed.
    pub fn rejects_access_token(&self) -> bool {
        matches!(self, Self::Api(errcode) if errcode.is_access_token_rejection())
    }

    /// The `Errcode` dimension of the `WeChatErrors` metric: WeChat's number, or what
    /// went wrong on the way.
    pub fn metric_label(&self) -> String {
        match self {
            Self::Api(errcode) => errcode.raw().to_string(),
            Self::Unreachable => "unreachable".to_owned(),
            Self::SecretUnavailable => "secret_unavailable".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Transport => "transport".to_owned(),
            Self::BadResponse(_) => "bad_response".to_owned(),
        }
    }
}

/// An `errcode` other than 0 from a WeChat API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Errcode {
    /// `-1`: system busy; nothing was consumed, retrying later is safe.
    SystemBusy,
    /// `40029`: the code is unknown, malformed or expired.
    InvalidCode,
    /// `40163`: the code was already exchanged.
    CodeUsed,
    /// `40226`: WeChat blocked this high-risk user.
    UserBlocked,
    /// `45011`: per-user rate limit; WeChat asks to retry next minute.
    RateLimited,
    /// `40125`: our AppSecret is wrong.
    InvalidAppSecret,
    /// `40013`: our appid is wrong.
    InvalidAppId,
    /// `40001`: the access token is invalid (refresh once and retry).
    InvalidAccessToken,
    /// `42001`: the access token expired (refresh once and retry).
    AccessTokenExpired,
    /// `45009`: the app's daily quota for this API is spent.
    QuotaExceeded,
    /// `87009`: checksession's signature does not match: the stored session_key is stale.
    InvalidSignature,
    /// `40164`: the caller's IP is not on the app's whitelist (Lambda needs a fixed egress IP).
    IpNotWhitelisted,
    /// `48001`: the app may not call this API (getuserriskrank: not enabled in 安全中心).
    ApiUnauthorized,
    /// Any other code, kept for logs and metrics.
    Other(i64),
}

impl Errcode {
    /// Types a raw `errcode`; `None` for 0, which means success.
    pub fn from_raw(raw: i64) -> Option<Self> {
        Some(match raw {
            0 => return None,
            -1 => Self::SystemBusy,
            40029 => Self::InvalidCode,
            40163 => Self::CodeUsed,
            40226 => Self::UserBlocked,
            45011 => Self::RateLimited,
            40125 => Self::InvalidAppSecret,
            40013 => Self::InvalidAppId,
            40001 => Self::InvalidAccessToken,
            42001 => Self::AccessTokenExpired,
            45009 => Self::QuotaExceeded,
            87009 => Self::InvalidSignature,
            40164 => Self::IpNotWhitelisted,
            48001 => Self::ApiUnauthorized,
            other => Self::Other(other),
        })
    }

    /// The number WeChat sent, for logs and metrics.
    pub fn raw(self) -> i64 {
        match self {
            Self::SystemBusy => -1,
            Self::InvalidCode => 40029,
            Self::CodeUsed => 40163,
            Self::UserBlocked => 40226,
            Self::RateLimited => 45011,
            Self::InvalidAppSecret => 40125,
            Self::InvalidAppId => 40013,
            Self::InvalidAccessToken => 40001,
            Self::AccessTokenExpired => 42001,
            Self::QuotaExceeded => 45009,
            Self::InvalidSignature => 87009,
            Self::IpNotWhitelisted => 40164,
            Self::ApiUnauthorized => 48001,
            Self::Other(raw) => raw,
        }
    }

    /// True for the two answers that mean "fetch a new access token and try once more".
    pub fn is_access_token_rejection(self) -> bool {
        matches!(self, Self::InvalidAccessToken | Self::AccessTokenExpired)
    }

    /// True when WeChat certainly did not consume the login code, so the user may send
    /// the same code again: busy and rate limiting reject before looking at it, an invalid
    /// code cannot be consumed, and a rejected appid/secret never reaches the code.
    pub fn leaves_code_unused(self) -> bool {
        matches!(
            self,
            Self::SystemBusy
                | Self::RateLimited
                | Self::InvalidCode
                | Self::InvalidAppSecret
                | Self::InvalidAppId
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_busy_and_unsent_calls_are_retried() {
        assert!(WeChatError::Api(Errcode::SystemBusy).safe_to_retry());
        assert!(WeChatError::Unreachable.safe_to_retry());
        assert!(!WeChatError::Timeout.safe_to_retry());
        assert!(!WeChatError::Transport.safe_to_retry());
        assert!(!WeChatError::Api(Errcode::RateLimited).safe_to_retry());
        assert!(!WeChatError::BadResponse("x").safe_to_retry());
    }

    #[test]
    fn metric_labels_name_the_errcode_or_the_failure() {
        let labels: Vec<String> = [
            WeChatError::Api(Errcode::SystemBusy),
            WeChatError::Api(Errcode::Other(61450)),
            WeChatError::Timeout,
            WeChatError::Unreachable,
            WeChatError::Transport,
            WeChatError::BadResponse("x"),
        ]
        .iter()
        .map(WeChatError::metric_label)
        .collect();
        assert_eq!(
            labels,
            [
                "-1",
                "61450",
                "timeout",
                "unreachable",
                "transport",
                "bad_response"
            ]
        );
    }

    #[test]
    fn a_timeout_may_have_consumed_the_code() {
        assert!(!WeChatError::Timeout.leaves_code_unused());
        assert!(WeChatError::Unreachable.leaves_code_unused());
        assert!(WeChatError::Api(Errcode::SystemBusy).leaves_code_unused());
    }

    #[test]
    fn only_40001_and_42001_reject_the_access_token() {
        assert!(WeChatError::Api(Errcode::InvalidAccessToken).rejects_access_token());
        assert!(WeChatError::Api(Errcode::AccessTokenExpired).rejects_access_token());
        assert!(!WeChatError::Api(Errcode::InvalidAppSecret).rejects_access_token());
        assert!(!WeChatError::Timeout.rejects_access_token());
    }

    #[test]
    fn raw_codes_round_trip() {
        for raw in [
            -1, 40029, 40163, 40226, 45011, 40125, 40013, 40001, 42001, 87009, 1,
        ] {
            assert_eq!(Errcode::from_raw(raw).unwrap().raw(), raw);
        }
    }

    #[test]
    fn zero_is_success() {
        assert_eq!(Errcode::from_raw(0), None);
    }

    #[test]
    fn only_codes_that_reject_before_exchange_leave_the_code_unused() {
        assert!(Errcode::SystemBusy.leaves_code_unused());
        assert!(Errcode::RateLimited.leaves_code_unused());
        assert!(!Errcode::CodeUsed.leaves_code_unused());
        assert!(!Errcode::UserBlocked.leaves_code_unused());
        assert!(!Errcode::Other(12345).leaves_code_unused());
    }
}
