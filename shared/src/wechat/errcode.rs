//! WeChat's numeric `errcode`s as a typed enum (codes from wechat-facts.md and WeChat's
//! code2Session / stable_token / getuserphonenumber references).

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
