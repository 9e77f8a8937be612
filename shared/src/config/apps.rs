//! Which mini-programs the stack serves, and where their AppSecrets come from. One parser
//! for every function: the authorizer reads the appids by the same rules, precedence and
//! checks as the functions that call WeChat, then stops before the secrets it never gets.

use secrecy::SecretString;

use super::{ConfigError, Env};

/// What is missing when no variable names an app.
pub(crate) const NO_APP: &str = "WECHAT_APPID (or WECHAT_APPIDS, or WECHAT_APPS)";

/// Where the stack's apps are configured; exactly one is set.
const APP_SOURCES: &str = "set exactly one of WECHAT_APPID (one mini-program), \
     WECHAT_APPIDS (several, with WECHAT_SECRET_ID naming a JSON secret of AppSecrets by appid) \
     and WECHAT_APPS (several, with their AppSecrets inline: local work and tests)";

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

/// The one variable that names the apps, parsed; the AppSecrets of `WECHAT_APPS` ride
/// along because that variable holds both.
enum AppSource {
    /// `WECHAT_APPID`: one app.
    One(String),
    /// `WECHAT_APPIDS`: several, their AppSecrets in one JSON secret.
    Listed(Vec<String>),
    /// `WECHAT_APPS`: several with their AppSecrets inline (local work and tests).
    Inline(Vec<(String, SecretString)>),
}

impl AppSource {
    /// Exactly one of the three variables, each checked the same way for every function.
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        match (
            env.get("WECHAT_APPID"),
            env.get("WECHAT_APPIDS"),
            env.get("WECHAT_APPS"),
        ) {
            (Some(appid), None, None) => {
                let appid = appid.trim();
                if !looks_like_an_appid(appid) {
                    return Err(ConfigError::Invalid {
                        name: "WECHAT_APPID",
                        reason: APPID_SHAPE,
                    });
                }
                Ok(Self::One(appid.to_owned()))
            }
            (None, Some(list), None) => Ok(Self::Listed(appid_list(&list)?)),
            (None, None, Some(json)) => Ok(Self::Inline(inline_apps(&json)?)),
            (None, None, None) => Err(ConfigError::Missing(NO_APP)),
            _ => Err(ConfigError::Invalid {
                name: "WECHAT_APPID",
                reason: APP_SOURCES,
            }),
        }
    }

    fn appids(self) -> Vec<String> {
        match self {
            Self::One(appid) => vec![appid],
            Self::Listed(appids) => appids,
            Self::Inline(apps) => apps.into_iter().map(|(appid, _)| appid).collect(),
        }
    }
}

/// The appids the stack serves, in the order configured, never empty: what the
/// authorizer needs (it is given no AppSecret).
pub(super) fn appids(env: &Env<'_>) -> Result<Vec<String>, ConfigError> {
    Ok(AppSource::read(env)?.appids())
}

/// The apps with where each one's AppSecret comes from: what the functions that call
/// WeChat need.
pub(super) fn apps(env: &Env<'_>) -> Result<Vec<AppConfig>, ConfigError> {
    let secret_value = env.get("WECHAT_SECRET");
    let secret_id = env.get("WECHAT_SECRET_ID").map(|id| id.trim().to_owned());
    match AppSource::read(env)? {
        AppSource::One(appid) => {
            let secret = match (secret_id, secret_value) {
                (Some(id), None) => AppSecretSetting::SecretsManager {
                    id: id.replace(APPID_PLACEHOLDER, &appid),
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
            Ok(vec![AppConfig { appid, secret }])
        }
        AppSource::Listed(appids) => {
            if secret_value.is_some() {
                return Err(ConfigError::Invalid {
                    name: "WECHAT_SECRET",
                    reason: "it holds one AppSecret: with WECHAT_APPIDS, name a JSON secret of \
                             AppSecrets by appid in WECHAT_SECRET_ID (or use WECHAT_APPS locally)",
                });
            }
            let id = secret_id.ok_or(ConfigError::Missing("WECHAT_SECRET_ID"))?;
            // `wxlogin/{appid}`: one secret per app, each holding its own AppSecret (so
            // each app's owner may be granted its secret alone); else one JSON secret.
            let per_app = id.contains(APPID_PLACEHOLDER);
            Ok(appids
                .into_iter()
                .map(|appid| AppConfig {
                    secret: AppSecretSetting::SecretsManager {
                        id: id.replace(APPID_PLACEHOLDER, &appid),
                        keyed_by_appid: !per_app,
                    },
                    appid,
                })
                .collect())
        }
        AppSource::Inline(apps) => {
            if secret_value.is_some() || secret_id.is_some() {
                return Err(ConfigError::Invalid {
                    name: "WECHAT_APPS",
                    reason: "it holds the apps and their AppSecrets: unset WECHAT_APPID, \
                             WECHAT_APPIDS, WECHAT_SECRET and WECHAT_SECRET_ID",
                });
            }
            Ok(apps
                .into_iter()
                .map(|(appid, secret)| AppConfig {
                    appid,
                    secret: AppSecretSetting::Value(secret),
                })
                .collect())
        }
    }
}

/// In `WECHAT_SECRET_ID`, stands for each app's appid: one secret per app.
pub const APPID_PLACEHOLDER: &str = "{appid}";

const APPID_SHAPE: &str =
    "every appid is wx and up to 30 letters and digits, like wx4f4bc4dec97d474b";

/// `wx` and letters and digits: an AppSecret written in the wrong place (hex) never is,
/// so an error may name what passes this check.
fn looks_like_an_appid(appid: &str) -> bool {
    (3..=32).contains(&appid.len())
        && appid.starts_with("wx")
        && appid.chars().all(|c| c.is_ascii_alphanumeric())
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

/// `WECHAT_APPS='{"wxA": "<AppSecret>", …}'`, in the order written.
fn inline_apps(json: &str) -> Result<Vec<(String, SecretString)>, ConfigError> {
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
    let mut apps = Vec::with_capacity(entries.len());
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
        apps.push((appid, SecretString::from(secret)));
    }
    Ok(apps)
}

/// A listed appid must look like one before an error may name it, and appear once.
fn check_listed_appid(
    name: &'static str,
    appid: &str,
    earlier: &[String],
) -> Result<(), ConfigError> {
    if !looks_like_an_appid(appid) {
        return Err(ConfigError::Invalid {
            name,
            reason: APPID_SHAPE,
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
