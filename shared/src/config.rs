//! Configuration, read once from the environment at init (see the contract's table).

use std::time::Duration;

use secrecy::SecretString;

/// Default WeChat API host; `WECHAT_API_BASE` points elsewhere (the sandbox) in dev and tests.
pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
/// Default session lifetime, matching the 2-hour order of WeChat's own access tokens.
pub const DEFAULT_SESSION_TTL_SECONDS: u64 = 7200;
/// Longest session we accept: a stolen token must not live for months.
pub const MAX_SESSION_TTL_SECONDS: u64 = 30 * 24 * 3600;
/// Oldest legacy phone data accepted by default: without a bound, data captured once
/// would decrypt for the whole life of the session_key.
pub const DEFAULT_WATERMARK_MAX_AGE_SECONDS: u64 = 300;
/// Phone verifications one user may make per day (each may cost a paid WeChat call).
pub const DEFAULT_PHONE_VERIFICATIONS_PER_USER_PER_DAY: u32 = 5;
/// `?check=wechat` calls one session may make per minute (each spends WeChat quota).
pub const DEFAULT_WECHAT_CHECKS_PER_SESSION_PER_MINUTE: u32 = 6;

/// Where the AppSecret comes from.
#[derive(Debug, Clone)]
pub enum AppSecretSetting {
    /// The AppSecret itself (`WECHAT_SECRET`, or an entry of `WECHAT_APPS`): local work
    /// and tests.
    Value(SecretString),
    /// The Secrets Manager secret holding it (`WECHAT_SECRET_ID`, a name or ARN), read
    /// the first time WeChat is needed and again when WeChat rejects it.
    SecretsManager {
        /// The secret's name or ARN.
        id: String,
        /// True when the secret serves several apps: its value must be a JSON object of
        /// AppSecrets by appid (one app's secret may also be the bare AppSecret).
        keyed_by_appid: bool,
    },
}

/// One mini-program the stack serves.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Its appid.
    pub appid: String,
    /// Where its AppSecret comes from; a value is redacted in `Debug`.
    pub secret: AppSecretSetting,
}

/// How many of each costly call one user or session may make; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Phone verifications per user per day (`PHONE_VERIFICATIONS_PER_USER_PER_DAY`).
    pub phone_verifications_per_day: Option<u32>,
    /// `?check=wechat` calls per session per minute (`WECHAT_CHECKS_PER_SESSION_PER_MINUTE`).
    pub wechat_checks_per_minute: Option<u32>,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        Self {
            phone_verifications_per_day: Some(DEFAULT_PHONE_VERIFICATIONS_PER_USER_PER_DAY),
            wechat_checks_per_minute: Some(DEFAULT_WECHAT_CHECKS_PER_SESSION_PER_MINUTE),
        }
    }
}

/// Everything a function needs to serve, validated; built once per Lambda instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// The mini-programs served, never empty: one (`WECHAT_APPID`) or several
    /// (`WECHAT_APPIDS`, or `WECHAT_APPS` locally). The first is the app of sessions
    /// stored before sessions recorded their app.
    pub apps: Vec<AppConfig>,
    /// Base URL of the WeChat API, without a trailing slash (`WECHAT_API_BASE`).
    pub wechat_api_base: String,
    /// DynamoDB table holding sessions and code claims (`SESSIONS_TABLE`).
    pub sessions_table: String,
    /// Lifetime of a session (`SESSION_TTL_SECONDS`).
    pub session_ttl: Duration,
    /// Oldest legacy phone data accepted, by its watermark timestamp
    /// (`WATERMARK_MAX_AGE_SECONDS`, default 300); `0` turns the check off.
    pub watermark_max_age: Option<Duration>,
    /// Per-user and per-session limits on calls that cost money or WeChat quota.
    pub quotas: QuotaLimits,
}

/// Why the environment does not make a usable [`Config`]; the message names the variable.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("{0} is required but not set")]
    Missing(&'static str),
    /// Two variables are alternatives and not exactly one of them is set.
    #[error("set exactly one of {first} and {second}")]
    ExactlyOne {
        /// One alternative.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A variable is set to something we cannot use.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What is wrong with it (never its value: it may be a secret).
        reason: &'static str,
    },
    /// One app's entry in a list of apps is unusable.
    #[error("{name}: the entry for {appid} is invalid: {reason}")]
    AppEntry {
        /// The environment variable holding the list.
        name: &'static str,
        /// The entry's appid (checked to look like one first: never a misplaced secret).
        appid: String,
        /// What is wrong with it (never the secret).
        reason: &'static str,
    },
}

/// What is missing when no variable names an app.
pub(crate) const NO_APP: &str = "WECHAT_APPID (or WECHAT_APPIDS, or WECHAT_APPS)";

/// Where the stack's apps are configured; exactly one is set.
const APP_SOURCES: &str = "set exactly one of WECHAT_APPID (one mini-program), \
     WECHAT_APPIDS (several, with WECHAT_SECRET_ID naming a JSON secret of AppSecrets by appid) \
     and WECHAT_APPS (several, with their AppSecrets inline: local work and tests)";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|value| !value.trim().is_empty());

        let apps = apps(&get)?;
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

        let watermark_max_age = match whole_number(
            &get,
            "WATERMARK_MAX_AGE_SECONDS",
            DEFAULT_WATERMARK_MAX_AGE_SECONDS,
            "expected whole seconds, or 0 to skip the check",
        )? {
            0 => None,
            seconds => Some(Duration::from_secs(seconds)),
        };
        let quotas = QuotaLimits {
            phone_verifications_per_day: limit(
                &get,
                "PHONE_VERIFICATIONS_PER_USER_PER_DAY",
                DEFAULT_PHONE_VERIFICATIONS_PER_USER_PER_DAY,
            )?,
            wechat_checks_per_minute: limit(
                &get,
                "WECHAT_CHECKS_PER_SESSION_PER_MINUTE",
                DEFAULT_WECHAT_CHECKS_PER_SESSION_PER_MINUTE,
            )?,
        };

        Ok(Self {
            apps,
            wechat_api_base,
            sessions_table,
            session_ttl: Duration::from_secs(session_ttl),
            watermark_max_age,
            quotas,
        })
    }
}

/// The apps, from whichever of the three sources is set.
fn apps(get: &impl Fn(&'static str) -> Option<String>) -> Result<Vec<AppConfig>, ConfigError> {
    let conflict = ConfigError::Invalid {
        name: "WECHAT_APPS",
        reason: "it holds the apps and their AppSecrets: unset WECHAT_APPID, WECHAT_APPIDS, \
                 WECHAT_SECRET and WECHAT_SECRET_ID",
    };
    match (
        get("WECHAT_APPID"),
        get("WECHAT_APPIDS"),
        get("WECHAT_APPS"),
    ) {
        (Some(appid), None, None) => single_app(get, appid.trim()),
        (None, Some(list), None) => listed_apps(get, &list),
        (None, None, Some(json)) => {
            if ["WECHAT_SECRET", "WECHAT_SECRET_ID"]
                .iter()
                .any(|name| get(name).is_some())
            {
                return Err(conflict);
            }
            inline_apps(&json)
        }
        (None, None, None) => Err(ConfigError::Missing(NO_APP)),
        _ => Err(ConfigError::Invalid {
            name: "WECHAT_APPID",
            reason: APP_SOURCES,
        }),
    }
}

/// One app: `WECHAT_APPID`, and exactly one of `WECHAT_SECRET_ID` and `WECHAT_SECRET`.
fn single_app(
    get: &impl Fn(&'static str) -> Option<String>,
    appid: &str,
) -> Result<Vec<AppConfig>, ConfigError> {
    if !appid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ConfigError::Invalid {
            name: "WECHAT_APPID",
            reason: "expected letters and digits only, like wx4f4bc4dec97d474b",
        });
    }
    let secret = match (get("WECHAT_SECRET_ID"), get("WECHAT_SECRET")) {
        (Some(id), None) => AppSecretSetting::SecretsManager {
            id: id.trim().to_owned(),
            keyed_by_appid: false,
        },
        (None, Some(value)) => AppSecretSetting::Value(SecretString::from(value)),
        _ => {
            return Err(ConfigError::ExactlyOne {
                first: "WECHAT_SECRET_ID (the Secrets Manager secret, in AWS)",
                second: "WECHAT_SECRET (the AppSecret itself, for local work and tests)",
            });
        }
    };
    Ok(vec![AppConfig {
        appid: appid.to_owned(),
        secret,
    }])
}

/// Several apps in AWS: `WECHAT_APPIDS=wxA,wxB`, their AppSecrets in the JSON secret
/// `WECHAT_SECRET_ID` names (read at run time, like one app's).
fn listed_apps(
    get: &impl Fn(&'static str) -> Option<String>,
    list: &str,
) -> Result<Vec<AppConfig>, ConfigError> {
    if get("WECHAT_SECRET").is_some() {
        return Err(ConfigError::Invalid {
            name: "WECHAT_SECRET",
            reason: "it holds one AppSecret: with WECHAT_APPIDS, name a JSON secret of \
                     AppSecrets by appid in WECHAT_SECRET_ID (or use WECHAT_APPS locally)",
        });
    }
    let id = get("WECHAT_SECRET_ID").ok_or(ConfigError::Missing("WECHAT_SECRET_ID"))?;
    Ok(appid_list(list)?
        .into_iter()
        .map(|appid| AppConfig {
            appid,
            secret: AppSecretSetting::SecretsManager {
                id: id.trim().to_owned(),
                keyed_by_appid: true,
            },
        })
        .collect())
}

/// The appids of `WECHAT_APPIDS`: comma-separated, each once.
fn appid_list(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut appids = Vec::new();
    for appid in list.split(',').map(str::trim) {
        check_listed_appid("WECHAT_APPIDS", appid, &appids)?;
        appids.push(appid.to_owned());
    }
    Ok(appids)
}

/// Several apps locally: `WECHAT_APPS='{"wxA": "<AppSecret>", …}'`, in the order written.
fn inline_apps(json: &str) -> Result<Vec<AppConfig>, ConfigError> {
    const NAME: &str = "WECHAT_APPS";
    let entries = serde_json::from_str::<OrderedEntries>(json)
        .map_err(|_| ConfigError::Invalid {
            name: NAME,
            reason: r#"expected a JSON object of AppSecrets by appid, like {"wxA": "<AppSecret>", "wxB": "<AppSecret>"}"#,
        })?
        .0;
    if entries.is_empty() {
        return Err(ConfigError::Invalid {
            name: NAME,
            reason: "the object names no app",
        });
    }
    let mut apps: Vec<AppConfig> = Vec::with_capacity(entries.len());
    let mut seen = Vec::with_capacity(entries.len());
    for (appid, secret) in entries {
        check_listed_appid(NAME, &appid, &seen)?;
        seen.push(appid.clone());
        let secret = match secret {
            serde_json::Value::String(secret) if !secret.trim().is_empty() => secret,
            _ => {
                return Err(ConfigError::AppEntry {
                    name: NAME,
                    appid,
                    reason: "its AppSecret is not a non-empty string",
                });
            }
        };
        apps.push(AppConfig {
            appid,
            secret: AppSecretSetting::Value(SecretString::from(secret)),
        });
    }
    Ok(apps)
}

/// A listed appid must look like one (`wx` and letters and digits: never an AppSecret
/// written in the wrong place, which is hex) before an error may name it, and appear once.
fn check_listed_appid(
    name: &'static str,
    appid: &str,
    earlier: &[String],
) -> Result<(), ConfigError> {
    let looks_like_an_appid = appid.len() <= 32
        && appid.len() > 2
        && appid.starts_with("wx")
        && appid.chars().all(|c| c.is_ascii_alphanumeric());
    if !looks_like_an_appid {
        return Err(ConfigError::Invalid {
            name,
            reason: "every appid is wx and up to 30 letters and digits, like wx4f4bc4dec97d474b",
        });
    }
    if earlier.iter().any(|seen| seen == appid) {
        return Err(ConfigError::AppEntry {
            name,
            appid: appid.to_owned(),
            reason: "it is listed twice",
        });
    }
    Ok(())
}

/// A JSON object's entries in the order written (serde_json's map sorts them), duplicates
/// kept so they can be refused.
struct OrderedEntries(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for OrderedEntries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = OrderedEntries;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedEntries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(OrderedEntries(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// A whole number from `name`, or `default` when unset.
fn whole_number(
    get: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    default: u64,
    reason: &'static str,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .map_err(|_| ConfigError::Invalid { name, reason }),
    }
}

/// A quota from `name`: a count, `0` for no limit, `default` when unset.
fn limit(
    get: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    default: u32,
) -> Result<Option<u32>, ConfigError> {
    let reason = "expected a whole number of calls, or 0 for no limit";
    let count = whole_number(get, name, u64::from(default), reason)?;
    let count = u32::try_from(count).map_err(|_| ConfigError::Invalid { name, reason })?;
    Ok((count > 0).then_some(count))
}

/// The appids the stack serves, for the authorizer (which gets no AppSecret):
/// `WECHAT_APPIDS`, else `WECHAT_APPID`, else the appids of `WECHAT_APPS` (local work);
/// `None` when none is set (then the authorizer vouches for sessions of any app).
pub fn served_appids_from_env() -> Result<Option<Vec<String>>, ConfigError> {
    served_appids(&|name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    })
}

fn served_appids(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<Option<Vec<String>>, ConfigError> {
    let appids = if let Some(list) = get("WECHAT_APPIDS") {
        appid_list(&list)?
    } else if let Some(appid) = get("WECHAT_APPID") {
        vec![appid.trim().to_owned()]
    } else if let Some(json) = get("WECHAT_APPS") {
        inline_apps(&json)?
            .into_iter()
            .map(|app| app.appid)
            .collect()
    } else {
        return Ok(None);
    };
    Ok(Some(appids))
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
        assert_eq!(config.apps.len(), 1);
        assert_eq!(config.apps[0].appid, "wx4f4bc4dec97d474b");
        assert!(
            matches!(&config.apps[0].secret, AppSecretSetting::Value(secret) if secret.expose_secret() == "s3cr3t")
        );
        assert_eq!(config.wechat_api_base, "https://api.weixin.qq.com");
        assert_eq!(config.sessions_table, "wxlogin-sessions");
        assert_eq!(config.session_ttl, Duration::from_secs(7200));
        assert_eq!(config.watermark_max_age, Some(Duration::from_secs(300)));
        assert_eq!(
            config.quotas,
            QuotaLimits {
                phone_verifications_per_day: Some(5),
                wechat_checks_per_minute: Some(6),
            }
        );
    }

    #[test]
    fn watermark_max_age_is_whole_seconds_and_zero_turns_it_off() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("WATERMARK_MAX_AGE_SECONDS", "600"));
        assert_eq!(
            config_from(&pairs).unwrap().watermark_max_age,
            Some(Duration::from_secs(600))
        );
        pairs.pop();
        pairs.push(("WATERMARK_MAX_AGE_SECONDS", "0"));
        assert_eq!(config_from(&pairs).unwrap().watermark_max_age, None);
        pairs.pop();
        pairs.push(("WATERMARK_MAX_AGE_SECONDS", "-1"));
        assert!(matches!(
            config_from(&pairs).unwrap_err(),
            ConfigError::Invalid {
                name: "WATERMARK_MAX_AGE_SECONDS",
                ..
            }
        ));
    }

    #[test]
    fn quotas_are_counts_and_zero_means_no_limit() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("PHONE_VERIFICATIONS_PER_USER_PER_DAY", "0"));
        pairs.push(("WECHAT_CHECKS_PER_SESSION_PER_MINUTE", "2"));
        let quotas = config_from(&pairs).unwrap().quotas;
        assert_eq!(quotas.phone_verifications_per_day, None);
        assert_eq!(quotas.wechat_checks_per_minute, Some(2));
        for name in [
            "PHONE_VERIFICATIONS_PER_USER_PER_DAY",
            "WECHAT_CHECKS_PER_SESSION_PER_MINUTE",
        ] {
            let mut pairs = MINIMAL.to_vec();
            pairs.push((name, "many"));
            assert!(
                matches!(config_from(&pairs).unwrap_err(), ConfigError::Invalid { name: n, .. } if n == name)
            );
        }
    }

    #[test]
    fn the_secret_comes_from_exactly_one_of_two_variables() {
        let mut pairs: Vec<_> = MINIMAL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "WECHAT_SECRET")
            .collect();
        let neither = config_from(&pairs).unwrap_err();
        pairs.push(("WECHAT_SECRET_ID", "wxlogin/appsecret"));
        assert!(matches!(
            &config_from(&pairs).unwrap().apps[0].secret,
            AppSecretSetting::SecretsManager { id, keyed_by_appid: false } if id == "wxlogin/appsecret"
        ));
        pairs.push(("WECHAT_SECRET", "s3cr3t"));
        let both = config_from(&pairs).unwrap_err();
        for err in [neither, both] {
            let text = err.to_string();
            assert!(
                text.contains("WECHAT_SECRET_ID") && text.contains("WECHAT_SECRET "),
                "{text}"
            );
            assert!(!text.contains("s3cr3t"));
        }
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for missing in ["WECHAT_APPID", "SESSIONS_TABLE"] {
            let pairs: Vec<_> = MINIMAL
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = config_from(&pairs).unwrap_err();
            assert!(matches!(err, ConfigError::Missing(name) if name.starts_with(missing)));
            assert!(err.to_string().contains(missing));
        }
    }

    #[test]
    fn blank_values_count_as_missing() {
        let mut pairs = MINIMAL.to_vec();
        pairs[1] = ("WECHAT_SECRET", "  ");
        assert!(matches!(
            config_from(&pairs).unwrap_err(),
            ConfigError::ExactlyOne { .. }
        ));
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

    const SEVERAL_INLINE: &[(&str, &str)] = &[
        (
            "WECHAT_APPS",
            r#"{"wxbbbb": "secret-b", "wxaaaa": "secret-a"}"#,
        ),
        ("SESSIONS_TABLE", "wxlogin-sessions"),
    ];

    #[test]
    fn several_apps_inline_keep_their_order_and_secrets() {
        let config = config_from(SEVERAL_INLINE).unwrap();
        let apps = config
            .apps
            .iter()
            .map(|app| match &app.secret {
                AppSecretSetting::Value(secret) => {
                    (app.appid.as_str(), secret.expose_secret().to_owned())
                }
                AppSecretSetting::SecretsManager { .. } => panic!("inline secrets"),
            })
            .collect::<Vec<_>>();
        assert_eq!(
            apps,
            [
                ("wxbbbb", "secret-b".to_owned()),
                ("wxaaaa", "secret-a".to_owned())
            ]
        );
        assert_eq!(config.apps[0].appid, "wxbbbb", "the first written");
        assert!(!format!("{config:?}").contains("secret-"));
    }

    #[test]
    fn several_apps_in_aws_share_one_json_secret() {
        let config = config_from(&[
            ("WECHAT_APPIDS", " wxaaaa , wxbbbb"),
            ("WECHAT_SECRET_ID", "wxlogin/appsecrets"),
            ("SESSIONS_TABLE", "wxlogin-sessions"),
        ])
        .unwrap();
        let appids = config
            .apps
            .iter()
            .map(|app| app.appid.as_str())
            .collect::<Vec<_>>();
        assert_eq!(appids, ["wxaaaa", "wxbbbb"]);
        for app in &config.apps {
            assert!(matches!(
                &app.secret,
                AppSecretSetting::SecretsManager { id, keyed_by_appid: true } if id == "wxlogin/appsecrets"
            ));
        }
    }

    #[test]
    fn a_bad_entry_fails_naming_its_appid_never_a_secret() {
        let table = "wxlogin-sessions";
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("WECHAT_APPS", r#"{"wxaaaa": "s3cr3t", "wxbbbb": ""}"#)],
                "wxbbbb",
            ),
            (
                &[("WECHAT_APPS", r#"{"wxaaaa": "s3cr3t", "wxbbbb": 7}"#)],
                "wxbbbb",
            ),
            (
                &[("WECHAT_APPS", r#"{"wxaaaa": "s3cr3t", "wxaaaa": "s3cr3t"}"#)],
                "wxaaaa",
            ),
            (
                &[
                    ("WECHAT_APPIDS", "wxaaaa,wxaaaa"),
                    ("WECHAT_SECRET_ID", "id"),
                ],
                "wxaaaa",
            ),
        ];
        for (pairs, appid) in cases {
            let mut pairs = pairs.to_vec();
            pairs.push(("SESSIONS_TABLE", table));
            let err = config_from(&pairs).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(&err, ConfigError::AppEntry { appid: named, .. } if named == appid),
                "{text}"
            );
            assert!(text.contains(appid) && !text.contains("s3cr3t"), "{text}");
        }
    }

    #[test]
    fn what_is_not_an_appid_is_refused_without_being_echoed() {
        // An AppSecret pasted where the appid goes: hex, never starting with "wx".
        for (name, value) in [
            (
                "WECHAT_APPS",
                r#"{"0123456789abcdef0123456789abcdef": "wxaaaa"}"#,
            ),
            ("WECHAT_APPS", r#"{"": "s3cr3t"}"#),
            ("WECHAT_APPS", "{}"),
            ("WECHAT_APPS", "[\"wxaaaa\"]"),
            ("WECHAT_APPS", "s3cr3t"),
            ("WECHAT_APPIDS", "wxaaaa,,wxbbbb"),
            ("WECHAT_APPIDS", "wxaaaa,0123456789abcdef0123456789abcdef"),
        ] {
            let mut pairs = vec![(name, value), ("SESSIONS_TABLE", "wxlogin-sessions")];
            if name == "WECHAT_APPIDS" {
                pairs.push(("WECHAT_SECRET_ID", "id"));
            }
            let err = config_from(&pairs).map(|_| ()).unwrap_err();
            // Refused for what it is, not for a conflict between variables.
            assert!(
                matches!(err, ConfigError::Invalid { name: refused, .. } if refused == name),
                "{value}: {err}"
            );
            let text = err.to_string();
            assert!(
                !text.contains("0123456789abcdef") && !text.contains("s3cr3t"),
                "{text}"
            );
        }
    }

    fn served_from(pairs: &[(&'static str, &str)]) -> Result<Option<Vec<String>>, ConfigError> {
        served_appids(&|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn the_authorizer_learns_the_appids_and_never_a_secret() {
        assert_eq!(served_from(&[]).unwrap(), None, "told nothing: any app");
        assert_eq!(
            served_from(&[
                ("WECHAT_APPIDS", "wxaaaa, wxbbbb"),
                ("WECHAT_APPID", "wxcccc")
            ])
            .unwrap(),
            Some(vec!["wxaaaa".to_owned(), "wxbbbb".to_owned()]),
            "the list first"
        );
        assert_eq!(
            served_from(&[("WECHAT_APPID", "wxcccc")]).unwrap(),
            Some(vec!["wxcccc".to_owned()])
        );
        assert_eq!(
            served_from(&[("WECHAT_APPS", r#"{"wxbbbb": "s3cr3t", "wxaaaa": "s3cr3t"}"#)]).unwrap(),
            Some(vec!["wxbbbb".to_owned(), "wxaaaa".to_owned()]),
            "locally, the appids of WECHAT_APPS in order"
        );
        for bad in [
            ("WECHAT_APPIDS", "wxaaaa,wxaaaa"),
            ("WECHAT_APPS", r#"{"wxaaaa": ""}"#),
        ] {
            let text = served_from(&[bad]).unwrap_err().to_string();
            assert!(
                text.contains("wxaaaa") && !text.contains("s3cr3t"),
                "{text}"
            );
        }
    }

    #[test]
    fn the_app_sources_exclude_each_other() {
        let table = ("SESSIONS_TABLE", "wxlogin-sessions");
        let apps = ("WECHAT_APPS", r#"{"wxaaaa": "s3cr3t"}"#);
        let refused: &[&[(&str, &str)]] = &[
            &[
                ("WECHAT_APPID", "wxaaaa"),
                ("WECHAT_APPIDS", "wxaaaa"),
                ("WECHAT_SECRET_ID", "id"),
            ],
            &[apps, ("WECHAT_APPID", "wxaaaa")],
            &[apps, ("WECHAT_SECRET", "s3cr3t")],
            &[apps, ("WECHAT_SECRET_ID", "id")],
            &[("WECHAT_APPIDS", "wxaaaa"), ("WECHAT_SECRET", "s3cr3t")],
            &[("WECHAT_APPIDS", "wxaaaa")],
        ];
        for pairs in refused {
            let mut pairs = pairs.to_vec();
            pairs.push(table);
            let text = config_from(&pairs).unwrap_err().to_string();
            assert!(!text.contains("s3cr3t"), "{text}");
        }
        assert_eq!(config_from(&[apps, table]).unwrap().apps.len(), 1);
    }
}
