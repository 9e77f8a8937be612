//! How long sessions and legacy phone data live, and how many costly calls one user or
//! session may make.

use std::time::Duration;

use super::{ConfigError, Env};
pub use crate::usecases::client_limit::DEFAULT_FAILED_LOGINS_PER_CLIENT_PER_MINUTE;

/// Default session lifetime, matching the 2-hour order of WeChat's own access tokens.
pub const DEFAULT_SESSION_TTL_SECONDS: u64 = 7200;
/// Longest session we accept: a stolen token must not live for months.
pub const MAX_SESSION_TTL_SECONDS: u64 = 30 * 24 * 3600;
/// Oldest legacy phone data accepted by default: without a bound, data captured once
/// would decrypt for the whole life of the session_key.
pub const DEFAULT_WATERMARK_MAX_AGE_SECONDS: u64 = 300;
/// Phone verifications one user may make per day (each may cost a paid WeChat call).
pub const DEFAULT_PHONE_VERIFICATIONS_PER_USER_PER_DAY: u32 = 5;
/// `?check=wechat` calls one user may make per minute, over all their sessions (each
/// spends WeChat quota).
pub const DEFAULT_WECHAT_CHECKS_PER_USER_PER_MINUTE: u32 = 6;

/// How many of each costly call one user or session may make; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Phone verifications per user per day (`PHONE_VERIFICATIONS_PER_USER_PER_DAY`).
    pub phone_verifications_per_day: Option<u32>,
    /// `?check=wechat` calls per user per minute (`WECHAT_CHECKS_PER_USER_PER_MINUTE`).
    pub wechat_checks_per_minute: Option<u32>,
    /// Codes WeChat refuses one client address may send per minute
    /// (`FAILED_LOGINS_PER_CLIENT_PER_MINUTE`).
    pub failed_logins_per_client_per_minute: Option<u32>,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        Self {
            phone_verifications_per_day: Some(DEFAULT_PHONE_VERIFICATIONS_PER_USER_PER_DAY),
            wechat_checks_per_minute: Some(DEFAULT_WECHAT_CHECKS_PER_USER_PER_MINUTE),
            failed_logins_per_client_per_minute: Some(DEFAULT_FAILED_LOGINS_PER_CLIENT_PER_MINUTE),
        }
    }
}

impl QuotaLimits {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            phone_verifications_per_day: limit(
                env,
                "PHONE_VERIFICATIONS_PER_USER_PER_DAY",
                DEFAULT_PHONE_VERIFICATIONS_PER_USER_PER_DAY,
            )?,
            wechat_checks_per_minute: limit(
                env,
                "WECHAT_CHECKS_PER_USER_PER_MINUTE",
                DEFAULT_WECHAT_CHECKS_PER_USER_PER_MINUTE,
            )?,
            failed_logins_per_client_per_minute: limit(
                env,
                "FAILED_LOGINS_PER_CLIENT_PER_MINUTE",
                DEFAULT_FAILED_LOGINS_PER_CLIENT_PER_MINUTE,
            )?,
        })
    }
}

/// `SESSION_TTL_SECONDS`: between a minute and 30 days.
pub(super) fn session_ttl(env: &Env<'_>) -> Result<Duration, ConfigError> {
    let invalid = ConfigError::Invalid {
        name: "SESSION_TTL_SECONDS",
        reason: "expected whole seconds between 60 and 2592000 (30 days)",
    };
    let seconds = whole_number(env, "SESSION_TTL_SECONDS", DEFAULT_SESSION_TTL_SECONDS, "")
        .map_err(|_| invalid.clone())?;
    if !(60..=MAX_SESSION_TTL_SECONDS).contains(&seconds) {
        return Err(invalid);
    }
    Ok(Duration::from_secs(seconds))
}

/// `WATERMARK_MAX_AGE_SECONDS`: `0` turns the check off.
pub(super) fn watermark_max_age(env: &Env<'_>) -> Result<Option<Duration>, ConfigError> {
    let seconds = whole_number(
        env,
        "WATERMARK_MAX_AGE_SECONDS",
        DEFAULT_WATERMARK_MAX_AGE_SECONDS,
        "expected whole seconds, or 0 to skip the check",
    )?;
    Ok((seconds > 0).then(|| Duration::from_secs(seconds)))
}

/// Default live sessions one user may hold (`MAX_SESSIONS_PER_USER`).
pub const DEFAULT_MAX_SESSIONS_PER_USER: u64 = 10;
/// Most live sessions per user accepted: the user item lists each one.
pub const MAX_MAX_SESSIONS_PER_USER: u64 = 100;

/// `MAX_SESSIONS_PER_USER`: 1 to 100, default 10.
pub(super) fn max_sessions_per_user(env: &Env<'_>) -> Result<usize, ConfigError> {
    let invalid = ConfigError::Invalid {
        name: "MAX_SESSIONS_PER_USER",
        reason: "expected a whole number of sessions between 1 and 100",
    };
    let count = whole_number(
        env,
        "MAX_SESSIONS_PER_USER",
        DEFAULT_MAX_SESSIONS_PER_USER,
        "",
    )
    .map_err(|_| invalid.clone())?;
    if !(1..=MAX_MAX_SESSIONS_PER_USER).contains(&count) {
        return Err(invalid);
    }
    usize::try_from(count).map_err(|_| invalid)
}

/// A whole number from `name`, or `default` when unset.
pub(super) fn whole_number(
    env: &Env<'_>,
    name: &'static str,
    default: u64,
    reason: &'static str,
) -> Result<u64, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .map_err(|_| ConfigError::Invalid { name, reason }),
    }
}

/// A quota from `name`: a count, `0` for no limit, `default` when unset.
fn limit(env: &Env<'_>, name: &'static str, default: u32) -> Result<Option<u32>, ConfigError> {
    let reason = "expected a whole number of calls, or 0 for no limit";
    let count = whole_number(env, name, u64::from(default), reason)?;
    let count = u32::try_from(count).map_err(|_| ConfigError::Invalid { name, reason })?;
    Ok((count > 0).then_some(count))
}
