//! Configuration, read once from the environment at init; every variable is read by
//! one parser, shared by every function that reads it (docs/configuration.md lists them).
//! [`Config`] is what the functions that call WeChat need; [`AuthorizerConfig`] is the
//! authorizer's part of it, and [`AccountConfig`] the account function's, read by the
//! same code.

mod apps;
mod limits;
mod push;
mod retention;
mod risk;
mod tokens;

use std::time::Duration;

use crate::domain::standard_token::TokenSettings;
use crate::domain::{RiskPolicy, RotationPolicy, RouteApps};

pub(crate) use apps::NO_APP;
pub use apps::{AppConfig, AppSecretSetting};
pub use limits::{
    DEFAULT_PHONE_VERIFICATIONS_PER_USER_PER_DAY, DEFAULT_SESSION_TTL_SECONDS,
    DEFAULT_WATERMARK_MAX_AGE_SECONDS, DEFAULT_WECHAT_CHECKS_PER_USER_PER_MINUTE,
    MAX_SESSION_TTL_SECONDS, QuotaLimits,
};
pub use push::{PushKeysSetting, parse_push_keys};
pub use retention::{
    DEFAULT_AUDIT_RETENTION_DAYS, MAX_AUDIT_RETENTION_DAYS, MAX_USER_INACTIVE_DAYS, StackKeySetting,
};
pub use tokens::{
    DEFAULT_SIGNING_KEYS_MAX_AGE_SECONDS, DEFAULT_TOKEN_LIFETIME_MINUTES,
    MAX_TOKEN_LIFETIME_MINUTES,
};

/// Default WeChat API host; `WECHAT_API_BASE` points elsewhere (the sandbox) in dev and tests.
pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";

/// Everything a function that calls WeChat needs, validated; built once per Lambda instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// The mini-programs served, never empty: one (`WECHAT_APPID`) or several
    /// (`WECHAT_APPIDS`, or `WECHAT_APPS` locally), in the order configured.
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
    /// How long a user not seen again is kept (`USER_INACTIVE_DAYS`); `None`: for good.
    pub user_inactivity: Option<Duration>,
    /// Live sessions one user may hold (`MAX_SESSIONS_PER_USER`, default 10): a login
    /// beyond it ends the oldest.
    pub max_sessions_per_user: usize,
    /// Where the stack's key is (`STACK_KEY` or `STACK_KEY_SECRET_ID`), which names users:
    /// required by onlogin (see [`Config::stack_key_for_login`]), unread elsewhere.
    pub stack_key: Option<StackKeySetting>,
    /// Behind the template's optional edge (`BEHIND_EDGE`): the value CloudFront sends in
    /// `X-Wxlogin-Edge` (`EDGE_ORIGIN_TOKEN`), which makes its `X-Forwarded-For` trusted.
    pub edge_origin_token: Option<String>,
    /// What a sign-up does with WeChat's risk rank (`RISK_CHECK`, `RISK_RANK_THRESHOLD`).
    pub risk_policy: RiskPolicy,
}

/// What the authorizer needs: the table and the appids it may vouch for. It never talks
/// to WeChat, so it is given no AppSecret; the appids are read exactly as [`Config`]
/// reads them.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// The apps whose sessions it lets through, never empty.
    pub appids: Vec<String>,
    /// Which of them each route accepts (`AUTHORIZER_ROUTE_APPS`; a stack of one app
    /// may leave it unset: every route accepts that app).
    pub routes: RouteApps,
    /// The table holding the sessions (`SESSIONS_TABLE`).
    pub sessions_table: String,
}

/// What the account function needs: the table, the appids whose users it serves, the
/// stack key and how long audit records are kept. It never talks to WeChat, so it is
/// given no AppSecret.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// The apps whose users it serves, never empty.
    pub appids: Vec<String>,
    /// The table (`SESSIONS_TABLE`).
    pub sessions_table: String,
    /// Where the stack key is (`STACK_KEY` or `STACK_KEY_SECRET_ID`).
    pub stack_key: StackKeySetting,
    /// How long an erasure's audit record is kept (`AUDIT_RETENTION_DAYS`, default 365).
    pub audit_retention: Duration,
    /// The per-user quotas, to show what is used of them.
    pub quotas: QuotaLimits,
}

/// What the message-push receiver needs: the account function's configuration (it
/// erases as `DELETE /account` does) and each app's push keys.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// As the account function's.
    pub account: AccountConfig,
    /// Where the Token and EncodingAESKey of each app are.
    pub push_keys: PushKeysSetting,
}

/// What the token function needs: the sessions of the apps served, and how it issues
/// standard tokens. It never talks to WeChat, so it is given no AppSecret.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// The apps whose sessions get tokens, never empty.
    pub appids: Vec<String>,
    /// The table (`SESSIONS_TABLE`).
    pub sessions_table: String,
    /// Issuer, audience and lifetime (`TOKEN_ISSUER`, `TOKEN_AUDIENCE`,
    /// `TOKEN_LIFETIME_MINUTES`).
    pub settings: TokenSettings,
    /// The secret holding the signing keys (`SIGNING_KEYS_SECRET_ID`).
    pub signing_keys_secret: String,
    /// How long the ring is held before it is read again (`SIGNING_KEYS_MAX_AGE_SECONDS`).
    pub signing_keys_max_age: Duration,
}

/// What the `signing-keys` rotation function needs.
#[derive(Debug, Clone)]
pub struct KeyRotationConfig {
    /// The secret it rotates (`SIGNING_KEYS_SECRET_ID`): it refuses any other.
    pub signing_keys_secret: String,
    /// How keys are spaced (`SIGNING_KEY_LEAD_SECONDS`, `RETIRED_SIGNING_KEY_KEPT_SECONDS`).
    pub policy: RotationPolicy,
}

impl TokenConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    /// Reads configuration through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            appids: apps::appids(&env)?,
            sessions_table: sessions_table(&env)?,
            settings: TokenSettings {
                issuer: tokens::issuer(&env)?,
                audience: tokens::audience(&env),
                lifetime: tokens::lifetime(&env)?,
            },
            signing_keys_secret: tokens::signing_keys_secret(&env)?,
            signing_keys_max_age: tokens::signing_keys_max_age(&env)?,
        })
    }
}

impl KeyRotationConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    /// Reads configuration through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            signing_keys_secret: tokens::signing_keys_secret(&env)?,
            policy: tokens::rotation_policy(&env)?,
        })
    }
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

/// The environment as the parsers see it: a blank value is an unset one.
pub(crate) struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            apps: apps::apps(&env)?,
            wechat_api_base: wechat_api_base(&env)?,
            sessions_table: sessions_table(&env)?,
            session_ttl: limits::session_ttl(&env)?,
            watermark_max_age: limits::watermark_max_age(&env)?,
            quotas: QuotaLimits::read(&env)?,
            user_inactivity: retention::user_inactivity(&env)?,
            max_sessions_per_user: limits::max_sessions_per_user(&env)?,
            edge_origin_token: edge_origin_token(&env)?,
            risk_policy: risk::risk_policy(&env)?,
            stack_key: retention::optional_stack_key(&env)?,
        })
    }
}

impl Config {
    /// The stack key's setting, which onlogin cannot do without: it names every user.
    pub fn stack_key_for_login(&self) -> Result<&StackKeySetting, ConfigError> {
        self.stack_key.as_ref().ok_or(ConfigError::ExactlyOne {
            first: "STACK_KEY",
            second: "STACK_KEY_SECRET_ID",
        })
    }
}

impl PushConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    /// Reads configuration through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let account = AccountConfig::from_lookup(&lookup)?;
        let env = Env(&lookup);
        Ok(Self {
            push_keys: push::push_keys(&env, &account.appids)?,
            account,
        })
    }
}

impl AccountConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    /// Reads configuration through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            appids: apps::appids(&env)?,
            sessions_table: sessions_table(&env)?,
            stack_key: retention::stack_key(&env)?,
            audit_retention: retention::audit_retention(&env)?,
            quotas: QuotaLimits::read(&env)?,
        })
    }
}

impl AuthorizerConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    /// Reads configuration through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let appids = apps::appids(&env)?;
        Ok(Self {
            routes: route_apps(&env, &appids)?,
            appids,
            sessions_table: sessions_table(&env)?,
        })
    }
}

/// `AUTHORIZER_ROUTE_APPS`: required with several apps, so that no route accepts every
/// app's sessions by default; optional with one (every route accepts it).
fn route_apps(env: &Env<'_>, appids: &[String]) -> Result<RouteApps, ConfigError> {
    const NAME: &str = "AUTHORIZER_ROUTE_APPS";
    match env.get(NAME) {
        Some(raw) => RouteApps::parse(&raw, appids)
            .map_err(|reason| ConfigError::Invalid { name: NAME, reason }),
        None if appids.len() == 1 => Ok(RouteApps::every_route(appids.to_vec())),
        None => Err(ConfigError::Invalid {
            name: NAME,
            reason: "required when several apps are served: bind each route to the apps whose \
                     sessions it accepts (`GET /orders=wxA;*=wxA,wxB`), so that one app's \
                     session is not let through on another's routes",
        }),
    }
}

/// `EDGE_ORIGIN_TOKEN` when `BEHIND_EDGE` is `true`; nothing otherwise.
fn edge_origin_token(env: &Env<'_>) -> Result<Option<String>, ConfigError> {
    match env.get("BEHIND_EDGE").as_deref().map(str::trim) {
        None | Some("false") => Ok(None),
        Some("true") => env
            .get("EDGE_ORIGIN_TOKEN")
            .map(|token| Some(token.trim().to_owned()))
            .ok_or(ConfigError::Missing("EDGE_ORIGIN_TOKEN")),
        Some(_) => Err(ConfigError::Invalid {
            name: "BEHIND_EDGE",
            reason: "expected true or false",
        }),
    }
}

/// `SESSIONS_TABLE`, a valid DynamoDB table name.
fn sessions_table(env: &Env<'_>) -> Result<String, ConfigError> {
    let table = env
        .get("SESSIONS_TABLE")
        .ok_or(ConfigError::Missing("SESSIONS_TABLE"))?;
    let valid = (3..=255).contains(&table.len())
        && table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(ConfigError::Invalid {
            name: "SESSIONS_TABLE",
            reason: "a DynamoDB table name is 3-255 characters of [A-Za-z0-9_.-]",
        });
    }
    Ok(table)
}

/// `WECHAT_API_BASE`, an http(s) URL without its trailing slash.
fn wechat_api_base(env: &Env<'_>) -> Result<String, ConfigError> {
    let raw = env
        .get("WECHAT_API_BASE")
        .unwrap_or_else(|| DEFAULT_WECHAT_API_BASE.to_owned());
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
    fn minimal_environment_gets_the_documented_defaults() {
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
                failed_logins_per_client_per_minute: Some(6),
            }
        );
    }

    #[test]
    fn behind_the_edge_the_origin_token_is_required() {
        let read = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = MINIMAL.to_vec();
            pairs.extend_from_slice(extra);
            let env: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Config::from_lookup(|name| env.get(name).cloned()).map(|c| c.edge_origin_token)
        };
        assert_eq!(read(&[]).unwrap(), None);
        assert_eq!(read(&[("BEHIND_EDGE", "false")]).unwrap(), None);
        assert_eq!(
            read(&[("BEHIND_EDGE", "true"), ("EDGE_ORIGIN_TOKEN", "t0k")]).unwrap(),
            Some("t0k".to_owned())
        );
        assert!(read(&[("BEHIND_EDGE", "true")]).is_err());
        assert!(read(&[("BEHIND_EDGE", "yes"), ("EDGE_ORIGIN_TOKEN", "t0k")]).is_err());
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
        pairs.push(("WECHAT_CHECKS_PER_USER_PER_MINUTE", "2"));
        let quotas = config_from(&pairs).unwrap().quotas;
        assert_eq!(quotas.phone_verifications_per_day, None);
        assert_eq!(quotas.wechat_checks_per_minute, Some(2));
        for name in [
            "PHONE_VERIFICATIONS_PER_USER_PER_DAY",
            "WECHAT_CHECKS_PER_USER_PER_MINUTE",
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
    fn several_apps_in_aws_may_each_have_their_own_secret() {
        let config = config_from(&[
            ("WECHAT_APPIDS", "wxaaaa,wxbbbb"),
            ("WECHAT_SECRET_ID", "wxlogin/{appid}/appsecret"),
            ("SESSIONS_TABLE", "wxlogin-sessions"),
        ])
        .unwrap();
        for app in &config.apps {
            let expected = format!("wxlogin/{}/appsecret", app.appid);
            assert!(matches!(
                &app.secret,
                AppSecretSetting::SecretsManager { id, keyed_by_appid: false } if *id == expected
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

    fn authorizer_config(pairs: &[(&str, &str)]) -> Result<AuthorizerConfig, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AuthorizerConfig::from_lookup(|name| env.get(name).cloned())
    }

    /// The appids, with every route bound to all of them.
    fn authorizer_from(pairs: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut pairs = pairs.to_vec();
        let several = pairs
            .iter()
            .any(|(name, _)| *name == "WECHAT_APPIDS" || *name == "WECHAT_APPS");
        if several {
            pairs.push(("AUTHORIZER_ROUTE_APPS", "*=wxaaaa,wxbbbb"));
        }
        authorizer_config(&pairs).map(|config| config.appids)
    }

    #[test]
    fn with_several_apps_the_authorizer_needs_every_route_bound() {
        let table = ("SESSIONS_TABLE", "wxlogin-sessions");
        let apps = ("WECHAT_APPIDS", "wxaaaa,wxbbbb");
        let err = authorizer_config(&[apps, table]).unwrap_err();
        assert!(err.to_string().contains("AUTHORIZER_ROUTE_APPS"), "{err}");
        let config =
            authorizer_config(&[apps, table, ("AUTHORIZER_ROUTE_APPS", "GET /me=wxaaaa")]).unwrap();
        assert!(config.routes.accepts(Some("GET /me"), "wxaaaa"));
        assert!(!config.routes.accepts(Some("GET /me"), "wxbbbb"));
        assert!(!config.routes.accepts(Some("GET /other"), "wxaaaa"));
        let one = authorizer_config(&[("WECHAT_APPID", "wxcccc"), table]).unwrap();
        assert!(one.routes.accepts(Some("GET /anything"), "wxcccc"));
        let unknown =
            authorizer_config(&[apps, table, ("AUTHORIZER_ROUTE_APPS", "GET /me=wxzzzz")])
                .unwrap_err();
        assert!(
            unknown.to_string().contains("does not serve"),
            "an appid not served: {unknown}"
        );
    }

    #[test]
    fn the_authorizer_reads_the_appids_by_the_same_rules_and_never_a_secret() {
        let table = ("SESSIONS_TABLE", "wxlogin-sessions");
        assert_eq!(
            authorizer_from(&[("WECHAT_APPID", "wxcccc"), table]).unwrap(),
            ["wxcccc"]
        );
        assert_eq!(
            authorizer_from(&[("WECHAT_APPIDS", "wxaaaa, wxbbbb"), table]).unwrap(),
            ["wxaaaa", "wxbbbb"]
        );
        assert_eq!(
            authorizer_from(&[
                ("WECHAT_APPS", r#"{"wxbbbb": "s3cr3t", "wxaaaa": "s3cr3t"}"#),
                table
            ])
            .unwrap(),
            ["wxbbbb", "wxaaaa"],
            "locally, the appids of WECHAT_APPS in order"
        );
        // Told no app, it refuses to start rather than vouch for sessions of any app.
        assert!(matches!(
            authorizer_from(&[table]).unwrap_err(),
            ConfigError::Missing(NO_APP)
        ));
        for bad in [
            ("WECHAT_APPIDS", "wxaaaa,wxaaaa"),
            ("WECHAT_APPS", r#"{"wxaaaa": ""}"#),
        ] {
            let text = authorizer_from(&[bad, table]).unwrap_err().to_string();
            assert!(
                text.contains("wxaaaa") && !text.contains("s3cr3t"),
                "{text}"
            );
        }
    }

    /// Both WECHAT_APPID and WECHAT_APPIDS set: every function refuses to start, the
    /// authorizer included (it once took the list and skipped the appid check).
    #[test]
    fn every_function_refuses_two_app_sources_alike() {
        let pairs = [
            ("WECHAT_APPIDS", "wxaaaa,wxbbbb"),
            ("WECHAT_APPID", "not an appid"),
            ("WECHAT_SECRET_ID", "id"),
            ("SESSIONS_TABLE", "wxlogin-sessions"),
        ];
        let functions = config_from(&pairs).unwrap_err();
        let authorizer = authorizer_from(&pairs).unwrap_err();
        assert_eq!(functions, authorizer);
        assert!(matches!(
            authorizer,
            ConfigError::Invalid {
                name: "WECHAT_APPID",
                ..
            }
        ));
        // And the appid itself is checked alike: what cannot be one is refused by both.
        let pairs = [
            ("WECHAT_APPID", "not an appid"),
            ("WECHAT_SECRET", "s3cr3t"),
            ("SESSIONS_TABLE", "wxlogin-sessions"),
        ];
        assert_eq!(
            config_from(&pairs).unwrap_err(),
            authorizer_from(&pairs).unwrap_err()
        );
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
