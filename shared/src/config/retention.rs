//! How long personal data and erasure records are kept, and the key that names users in
//! those records.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::limits::whole_number;
use super::{ConfigError, Env};
use crate::domain::StackKey;

/// Default days an erasure's audit record is kept.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 365;
/// Longest audit period accepted: ten years.
pub const MAX_AUDIT_RETENTION_DAYS: u64 = 3650;
/// Longest inactivity period accepted: ten years.
pub const MAX_USER_INACTIVE_DAYS: u64 = 3650;

const DAY: u64 = 24 * 3600;

/// Where the stack key is.
#[derive(Clone)]
pub enum StackKeySetting {
    /// In the environment (`STACK_KEY`): local work and tests.
    Value(StackKey),
    /// The SecretString of a Secrets Manager secret (`STACK_KEY_SECRET_ID`), read at the
    /// first erasure.
    SecretsManager {
        /// The secret's name or ARN.
        id: String,
    },
}

impl std::fmt::Debug for StackKeySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value([REDACTED])"),
            Self::SecretsManager { id } => {
                f.debug_struct("SecretsManager").field("id", id).finish()
            }
        }
    }
}

/// `STACK_KEY` (at least 32 bytes) or `STACK_KEY_SECRET_ID`: exactly one.
pub(super) fn stack_key(env: &Env<'_>) -> Result<StackKeySetting, ConfigError> {
    match (env.get("STACK_KEY"), env.get("STACK_KEY_SECRET_ID")) {
        (Some(value), None) => {
            let value = SecretString::from(value);
            StackKey::new(value.expose_secret().trim().as_bytes())
                .map(StackKeySetting::Value)
                .ok_or(ConfigError::Invalid {
                    name: "STACK_KEY",
                    reason: "expected at least 32 bytes of random text",
                })
        }
        (None, Some(id)) => Ok(StackKeySetting::SecretsManager {
            id: id.trim().to_owned(),
        }),
        _ => Err(ConfigError::ExactlyOne {
            first: "STACK_KEY",
            second: "STACK_KEY_SECRET_ID",
        }),
    }
}

/// [`stack_key`] for a function that needs it only to name users at login: `None` when
/// neither variable is set (decrypt-phone and session read the rest of the same
/// configuration and never the key).
pub(super) fn optional_stack_key(env: &Env<'_>) -> Result<Option<StackKeySetting>, ConfigError> {
    if env.get("STACK_KEY").is_none() && env.get("STACK_KEY_SECRET_ID").is_none() {
        return Ok(None);
    }
    stack_key(env).map(Some)
}

/// `AUDIT_RETENTION_DAYS`: 1 to 3650, default 365.
pub(super) fn audit_retention(env: &Env<'_>) -> Result<Duration, ConfigError> {
    let invalid = ConfigError::Invalid {
        name: "AUDIT_RETENTION_DAYS",
        reason: "expected whole days between 1 and 3650",
    };
    let days = whole_number(
        env,
        "AUDIT_RETENTION_DAYS",
        DEFAULT_AUDIT_RETENTION_DAYS,
        "",
    )
    .map_err(|_| invalid.clone())?;
    if !(1..=MAX_AUDIT_RETENTION_DAYS).contains(&days) {
        return Err(invalid);
    }
    Ok(Duration::from_secs(days * DAY))
}

/// `USER_INACTIVE_DAYS`: how long a user not seen again is kept; 0 (the default) keeps
/// users for good.
pub(super) fn user_inactivity(env: &Env<'_>) -> Result<Option<Duration>, ConfigError> {
    let invalid = ConfigError::Invalid {
        name: "USER_INACTIVE_DAYS",
        reason: "expected whole days up to 3650, or 0 to keep users",
    };
    let days = whole_number(env, "USER_INACTIVE_DAYS", 0, "").map_err(|_| invalid.clone())?;
    if days > MAX_USER_INACTIVE_DAYS {
        return Err(invalid);
    }
    Ok((days > 0).then(|| Duration::from_secs(days * DAY)))
}
