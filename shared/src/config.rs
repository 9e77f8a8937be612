//! Configuration, read once from the environment at init (see the contract's table).

use std::time::Duration;

use secrecy::SecretString;

/// Default WeChat API host; `WECHAT_API_BASE` points elsewhere (the sandbox) in dev and tests.
pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
/// Default session lifetime, matching the 2-hour order of WeChat's own access tokens.
pub const DEFAULT_SESSION_TTL_SECONDS: u64 = 7200;
/// Longest session we accept: a stolen token must not live for months.
pub const MAX_SESSION_TTL_SECONDS: u64 = 30 * 24 * 3600;

/// Everything a function needs to serve, validated; built once per Lambda instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// The mini-program's appid (`WECHAT_APPID`).
    pub appid: String,
    /// The AppSecret (`WECHAT_SECRET`); redacted in `Debug`.
    pub secret: SecretString,
    /// Base URL of the WeChat API, without a trailing slash (`WECHAT_API_BASE`).
    pub wechat_api_base: String,
    /// DynamoDB table holding sessions and code claims (`SESSIONS_TABLE`).
    pub sessions_table: String,
    /// Lifetime of a session (`SESSION_TTL_SECONDS`).
    pub session_ttl: Duration,
    /// Oldest legacy phone data accepted, by its watermark timestamp
    /// (`WATERMARK_MAX_AGE_SECONDS`); unset means the timestamp is not checked.
    pub watermark_max_age: Option<Duration>,
}

/// Why the environment does not make a usable [`Config`]; the message names the variable.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("{0} is required but not set")]
    Missing(&'static str),
    /// A variable is set to something we cannot use.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What is wrong with it (never its value: it may be a secret).
        reason: &'static str,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|value| !value.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));

        let appid = required("WECHAT_APPID")?;
        if !appid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::Invalid {
                name: "WECHAT_APPID",
                reason: "expected letters and digits only, like wx4f4bc4dec97d474b",
            });
        }
        let secret = SecretString::from(required("WECHAT_SECRET")?);
        let wechat_api_base = parse_api_base(
            get("WECHAT_API_BASE").unwrap_or_else(|| DEFAULT_WECHAT_API_BASE.to_owned()),
        )?;
        let sessions_table = sessions_table(&lookup)?;
        let session_ttl = match get("SESSION_TTL_SECONDS") {
            None => DEFAULT_SESSION_TTL_SECONDS,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(seconds) if (60..=MAX_SESSION_TTL_SECONDS).contains(&seconds) => seconds,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SESSION_TTL_SECONDS",
                        reason: "expected whole seconds between 60 and 2592000 (30 days)",
                    });
                }
            },
        };

        let watermark_max_age = match get("WATERMARK_MAX_AGE_SECONDS") {
            None => None,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(seconds) if seconds > 0 => Some(Duration::from_secs(seconds)),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "WATERMARK_MAX_AGE_SECONDS",
                        reason: "expected whole seconds above 0, or unset to skip the check",
                    });
                }
            },
        };

        Ok(Self {
            appid,
            secret,
            wechat_api_base,
            sessions_table,
            session_ttl: Duration::from_secs(session_ttl),
            watermark_max_age,
        })
    }
}

/// The table alone (`SESSIONS_TABLE`), for the authorizer: it never talks to WeChat, so
/// it is given no appid and no AppSecret.
pub fn sessions_table_from_env() -> Result<String, ConfigError> {
    sessions_table(&|name: &str| std::env::var(name).ok())
}

fn sessions_table(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let table = lookup("SESSIONS_TABLE")
        .filter(|value| !value.trim().is_empty())
        .ok_or(ConfigError::Missing("SESSIONS_TABLE"))?;
    if !is_valid_table_name(&table) {
        return Err(ConfigError::Invalid {
            name: "SESSIONS_TABLE",
            reason: "a DynamoDB table name is 3-255 characters of [A-Za-z0-9_.-]",
        });
    }
    Ok(table)
}

fn parse_api_base(raw: String) -> Result<String, ConfigError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let invalid = ConfigError::Invalid {
        name: "WECHAT_API_BASE",
        reason: "expected an http:// or https:// URL such as https://api.weixin.qq.com",
    };
    let parsed = reqwest::Url::parse(trimmed).map_err(|_| invalid.clone())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid);
    }
    Ok(trimmed.to_owned())
}

fn is_valid_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| env.get(name).cloned())
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("WECHAT_APPID", "wx4f4bc4dec97d474b"),
        ("WECHAT_SECRET", "s3cr3t"),
        ("SESSIONS_TABLE", "wxlogin-sessions"),
    ];

    #[test]
    fn minimal_environment_gets_the_contract_defaults() {
        let config = config_from(MINIMAL).unwrap();
        assert_eq!(config.appid, "wx4f4bc4dec97d474b");
        assert_eq!(config.secret.expose_secret(), "s3cr3t");
        assert_eq!(config.wechat_api_base, "https://api.weixin.qq.com");
        assert_eq!(config.sessions_table, "wxlogin-sessions");
        assert_eq!(config.session_ttl, Duration::from_secs(7200));
        assert_eq!(config.watermark_max_age, None);
    }

    #[test]
    fn watermark_max_age_is_optional_whole_seconds() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("WATERMARK_MAX_AGE_SECONDS", "600"));
        assert_eq!(
            config_from(&pairs).unwrap().watermark_max_age,
            Some(Duration::from_secs(600))
        );
        pairs.pop();
        pairs.push(("WATERMARK_MAX_AGE_SECONDS", "0"));
        assert!(matches!(
            config_from(&pairs).unwrap_err(),
            ConfigError::Invalid {
                name: "WATERMARK_MAX_AGE_SECONDS",
                ..
            }
        ));
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for missing in ["WECHAT_APPID", "WECHAT_SECRET", "SESSIONS_TABLE"] {
            let pairs: Vec<_> = MINIMAL
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = config_from(&pairs).unwrap_err();
            assert_eq!(err, ConfigError::Missing(missing));
            assert!(err.to_string().contains(missing));
        }
    }

    #[test]
    fn blank_values_count_as_missing() {
        let mut pairs = MINIMAL.to_vec();
        pairs[1] = ("WECHAT_SECRET", "  ");
        assert_eq!(
            config_from(&pairs).unwrap_err(),
            ConfigError::Missing("WECHAT_SECRET")
        );
    }

    #[test]
    fn api_base_loses_its_trailing_slash_and_must_be_http() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("WECHAT_API_BASE", "http://127.0.0.1:9100/"));
        assert_eq!(
            config_from(&pairs).unwrap().wechat_api_base,
            "http://127.0.0.1:9100"
        );
        pairs.pop();
        pairs.push(("WECHAT_API_BASE", "ftp://example.com"));
        assert!(matches!(
            config_from(&pairs).unwrap_err(),
            ConfigError::Invalid {
                name: "WECHAT_API_BASE",
                ..
            }
        ));
    }

    #[test]
    fn ttl_must_be_sane_whole_seconds() {
        for bad in ["0", "-5", "abc", "59", "2592001", "1.5"] {
            let mut pairs = MINIMAL.to_vec();
            pairs.push(("SESSION_TTL_SECONDS", bad));
            assert!(
                matches!(
                    config_from(&pairs).unwrap_err(),
                    ConfigError::Invalid {
                        name: "SESSION_TTL_SECONDS",
                        ..
                    }
                ),
                "{bad} should be rejected"
            );
        }
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("SESSION_TTL_SECONDS", "3600"));
        assert_eq!(
            config_from(&pairs).unwrap().session_ttl,
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn table_names_follow_dynamodb_rules() {
        let mut pairs = MINIMAL.to_vec();
        pairs[2] = ("SESSIONS_TABLE", "no spaces allowed");
        assert!(matches!(
            config_from(&pairs).unwrap_err(),
            ConfigError::Invalid {
                name: "SESSIONS_TABLE",
                ..
            }
        ));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let config = config_from(MINIMAL).unwrap();
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }
}
