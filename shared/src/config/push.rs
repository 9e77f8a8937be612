//! Each app's message-push keys: where they are, and the one format they are written in.

use std::collections::HashMap;

use serde::Deserialize;

use super::{ConfigError, Env};
use crate::domain::push::PushKeys;

/// Where the push keys are.
#[derive(Clone)]
pub enum PushKeysSetting {
    /// In the environment (`WECHAT_PUSH_KEYS`): local work and tests.
    Value(HashMap<String, PushKeys>),
    /// A Secrets Manager secret (`WECHAT_PUSH_SECRET_ID`), read at the first push.
    SecretsManager {
        /// The secret's name or ARN.
        id: String,
    },
}

impl std::fmt::Debug for PushKeysSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(keys) => write!(f, "Value({} apps, [REDACTED])", keys.len()),
            Self::SecretsManager { id } => {
                f.debug_struct("SecretsManager").field("id", id).finish()
            }
        }
    }
}

/// One app's entry.
#[derive(Deserialize)]
struct Entry {
    token: String,
    encoding_aes_key: String,
    /// The page's mode: `safe` (the default), `compatible` or `plaintext`.
    #[serde(default)]
    mode: Option<String>,
}

/// The keys by appid in `text`, a JSON object by appid of `{"token", "encoding_aes_key",
/// "mode"?}` (`mode`: the 消息推送 page's, `safe` when absent); `Err` says what is wrong,
/// never a value.
pub fn parse_push_keys(text: &str) -> Result<HashMap<String, PushKeys>, &'static str> {
    let entries: HashMap<String, Entry> = serde_json::from_str(text.trim()).map_err(
        |_| "expected a JSON object by appid of {\"token\": …, \"encoding_aes_key\": …}",
    )?;
    entries
        .into_iter()
        .map(|(appid, entry)| {
            let plaintext = match entry.mode.as_deref().map(str::trim) {
                None | Some("safe" | "compatible") => false,
                Some("plaintext") => true,
                Some(_) => return Err("mode is safe, compatible or plaintext"),
            };
            PushKeys::new(entry.token.trim(), entry.encoding_aes_key.trim())
                .map(|keys| (appid, keys.accepting_plaintext(plaintext)))
                .ok_or(
                    "a token is 3-32 letters and digits, an encoding_aes_key 43 letters and digits",
                )
        })
        .collect()
}

/// `WECHAT_PUSH_KEYS` or `WECHAT_PUSH_SECRET_ID`: exactly one. Keys given in the
/// environment must be for `served` apps.
pub(super) fn push_keys(env: &Env<'_>, served: &[String]) -> Result<PushKeysSetting, ConfigError> {
    match (
        env.get("WECHAT_PUSH_KEYS"),
        env.get("WECHAT_PUSH_SECRET_ID"),
    ) {
        (Some(text), None) => {
            let keys = parse_push_keys(&text).map_err(|reason| ConfigError::Invalid {
                name: "WECHAT_PUSH_KEYS",
                reason,
            })?;
            if let Some(stranger) = keys.keys().find(|appid| !served.contains(appid)) {
                return Err(ConfigError::AppEntry {
                    name: "WECHAT_PUSH_KEYS",
                    appid: stranger.chars().take(32).collect(),
                    reason: "not an app this stack serves",
                });
            }
            Ok(PushKeysSetting::Value(keys))
        }
        (None, Some(id)) => Ok(PushKeysSetting::SecretsManager {
            id: id.trim().to_owned(),
        }),
        _ => Err(ConfigError::ExactlyOne {
            first: "WECHAT_PUSH_KEYS",
            second: "WECHAT_PUSH_SECRET_ID",
        }),
    }
}
