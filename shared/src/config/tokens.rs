//! The standard tokens' settings: who issues them (`TOKEN_ISSUER`), for whom
//! (`TOKEN_AUDIENCE`), for how long (`TOKEN_LIFETIME_MINUTES`), where the signing keys
//! are (`SIGNING_KEYS_SECRET_ID`) and how often they are read again
//! (`SIGNING_KEYS_MAX_AGE_SECONDS`); and how rotations space keys
//! (`SIGNING_KEY_LEAD_SECONDS`, `RETIRED_SIGNING_KEY_KEPT_SECONDS`).

use std::time::Duration;

use super::{ConfigError, Env};
use crate::domain::RotationPolicy;
use crate::domain::standard_token::Audience;

/// Default token lifetime: short, since a JWT cannot be recalled before `exp`.
pub const DEFAULT_TOKEN_LIFETIME_MINUTES: u64 = 15;
/// Longest token lifetime allowed.
pub const MAX_TOKEN_LIFETIME_MINUTES: u64 = 60;
/// Default for how long the token function holds the ring before reading it again.
pub const DEFAULT_SIGNING_KEYS_MAX_AGE_SECONDS: u64 = 300;

fn number(
    env: &Env<'_>,
    name: &'static str,
    reason: &'static str,
) -> Result<Option<u64>, ConfigError> {
    env.get(name)
        .map(|raw| {
            raw.trim()
                .parse::<u64>()
                .map_err(|_| ConfigError::Invalid { name, reason })
        })
        .transpose()
}

/// `TOKEN_ISSUER`: an absolute https URL without a trailing slash, query or fragment
/// (`iss` must match what verifiers are configured with, byte for byte); http only for a
/// loopback host (`make dev`).
pub(super) fn issuer(env: &Env<'_>) -> Result<String, ConfigError> {
    const NAME: &str = "TOKEN_ISSUER";
    let raw = env.get(NAME).ok_or(ConfigError::Missing(NAME))?;
    let issuer = raw.trim();
    let invalid = |reason| ConfigError::Invalid { name: NAME, reason };
    let rest = if let Some(rest) = issuer.strip_prefix("https://") {
        rest
    } else if let Some(rest) = issuer.strip_prefix("http://") {
        let authority = rest.split('/').next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6
                .split_once(']')
                .filter(|(_, port)| port.is_empty() || port.starts_with(':'))
                .map(|(inside, _)| format!("[{inside}]")),
            None => authority.split(':').next().map(str::to_owned),
        };
        let loopback = !authority.contains('@')
            && host
                .is_some_and(|host| ["127.0.0.1", "localhost", "[::1]"].contains(&host.as_str()));
        if !loopback {
            return Err(invalid("http is for a loopback host only: use https"));
        }
        rest
    } else {
        return Err(invalid(
            "expected an absolute https URL (the API's base URL)",
        ));
    };
    if rest.is_empty() || rest.contains(['?', '#', ' ']) || issuer.ends_with('/') {
        return Err(invalid(
            "expected the API's base URL without a trailing slash, query or fragment",
        ));
    }
    Ok(issuer.to_owned())
}

/// `TOKEN_AUDIENCE`: unset for the session's appid; else that string for every app.
pub(super) fn audience(env: &Env<'_>) -> Audience {
    env.get("TOKEN_AUDIENCE").map_or(Audience::App, |audience| {
        Audience::Fixed(audience.trim().to_owned())
    })
}

/// `TOKEN_LIFETIME_MINUTES`: 1 to 60, default 15.
pub(super) fn lifetime(env: &Env<'_>) -> Result<Duration, ConfigError> {
    const NAME: &str = "TOKEN_LIFETIME_MINUTES";
    const REASON: &str = "expected whole minutes, 1 to 60";
    let minutes = number(env, NAME, REASON)?.unwrap_or(DEFAULT_TOKEN_LIFETIME_MINUTES);
    if !(1..=MAX_TOKEN_LIFETIME_MINUTES).contains(&minutes) {
        return Err(ConfigError::Invalid {
            name: NAME,
            reason: REASON,
        });
    }
    Ok(Duration::from_secs(minutes * 60))
}

/// `SIGNING_KEYS_SECRET_ID`: the secret holding the ring (the template creates it).
pub(super) fn signing_keys_secret(env: &Env<'_>) -> Result<String, ConfigError> {
    const NAME: &str = "SIGNING_KEYS_SECRET_ID";
    env.get(NAME)
        .map(|id| id.trim().to_owned())
        .ok_or(ConfigError::Missing(NAME))
}

/// `SIGNING_KEYS_MAX_AGE_SECONDS`: 1 to 3600, default 300. It must stay well under the
/// rotation's lead, so every instance has a new key before it signs.
pub(super) fn signing_keys_max_age(env: &Env<'_>) -> Result<Duration, ConfigError> {
    const NAME: &str = "SIGNING_KEYS_MAX_AGE_SECONDS";
    const REASON: &str = "expected seconds, 1 to 3600";
    let seconds = number(env, NAME, REASON)?.unwrap_or(DEFAULT_SIGNING_KEYS_MAX_AGE_SECONDS);
    if !(1..=3600).contains(&seconds) {
        return Err(ConfigError::Invalid {
            name: NAME,
            reason: REASON,
        });
    }
    Ok(Duration::from_secs(seconds))
}

/// `SIGNING_KEY_LEAD_SECONDS` (default 3 hours) and `RETIRED_SIGNING_KEY_KEPT_SECONDS`
/// (default a day, at least the longest token lifetime, so no token outlives its key's
/// publication).
pub(super) fn rotation_policy(env: &Env<'_>) -> Result<RotationPolicy, ConfigError> {
    let defaults = RotationPolicy::default();
    let lead = number(env, "SIGNING_KEY_LEAD_SECONDS", "expected seconds")?
        .map_or(defaults.lead, Duration::from_secs);
    const KEPT: &str = "RETIRED_SIGNING_KEY_KEPT_SECONDS";
    const KEPT_REASON: &str = "expected seconds, at least 3600 (the longest token lifetime)";
    let retired_kept = match number(env, KEPT, KEPT_REASON)? {
        None => defaults.retired_kept,
        Some(seconds) if seconds >= MAX_TOKEN_LIFETIME_MINUTES * 60 => Duration::from_secs(seconds),
        Some(_) => {
            return Err(ConfigError::Invalid {
                name: KEPT,
                reason: KEPT_REASON,
            });
        }
    };
    Ok(RotationPolicy { lead, retired_kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<T>(pairs: &[(&str, &str)], read: impl Fn(&Env<'_>) -> T) -> T {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        read(&Env(&lookup))
    }

    #[test]
    fn the_issuer_is_an_https_base_url_or_local() {
        for good in [
            "https://login.example.com",
            "https://abc123.execute-api.us-east-1.amazonaws.com",
            "https://api.example.cn/prod",
            "http://127.0.0.1:9200",
            "http://localhost:9200",
        ] {
            assert_eq!(with(&[("TOKEN_ISSUER", good)], issuer), Ok(good.to_owned()));
        }
        for bad in [
            "login.example.com",
            "http://login.example.com",
            "https://login.example.com/",
            "https://",
            "https://a.example.com?x=1",
            "ftp://a.example.com",
            "http://localhost:1@evil.example",
            "http://[::1].evil.example",
        ] {
            assert!(
                matches!(
                    with(&[("TOKEN_ISSUER", bad)], issuer),
                    Err(ConfigError::Invalid { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(with(&[], issuer), Err(ConfigError::Missing("TOKEN_ISSUER")));
    }

    #[test]
    fn lifetime_audience_and_key_ages_have_short_safe_defaults() {
        assert_eq!(with(&[], lifetime), Ok(Duration::from_secs(900)));
        assert_eq!(
            with(&[("TOKEN_LIFETIME_MINUTES", "60")], lifetime),
            Ok(Duration::from_secs(3600))
        );
        for bad in ["0", "61", "ten"] {
            assert!(
                with(&[("TOKEN_LIFETIME_MINUTES", bad)], lifetime).is_err(),
                "{bad}"
            );
        }
        assert_eq!(with(&[], audience), Audience::App);
        assert_eq!(
            with(&[("TOKEN_AUDIENCE", "api.example.com")], audience),
            Audience::Fixed("api.example.com".into())
        );
        assert_eq!(
            with(&[], signing_keys_max_age),
            Ok(Duration::from_secs(300))
        );
        assert!(
            with(
                &[("SIGNING_KEYS_MAX_AGE_SECONDS", "0")],
                signing_keys_max_age
            )
            .is_err()
        );
        assert_eq!(with(&[], rotation_policy), Ok(RotationPolicy::default()));
        assert!(
            with(
                &[("RETIRED_SIGNING_KEY_KEPT_SECONDS", "60")],
                rotation_policy
            )
            .is_err(),
            "a key must outlive its last token"
        );
        assert_eq!(
            with(&[("SIGNING_KEY_LEAD_SECONDS", "2")], rotation_policy).map(|policy| policy.lead),
            Ok(Duration::from_secs(2))
        );
    }
}
