//! Each app's message-push keys: given in configuration (`WECHAT_PUSH_KEYS`, local work
//! and tests), or read from Secrets Manager (`WECHAT_PUSH_SECRET_ID`) at the first push
//! and held, read again when a signature fails (the Token was changed on the 消息推送
//! page), at most once per pause. Both hold one JSON object by appid:
//! `{"wx…": {"token": "…", "encoding_aes_key": "…"}}`. Init never reads the secret.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::sync::Mutex;

use crate::adapters::secrets::read_secret;
use crate::config::{PushKeysSetting, parse_push_keys};
use crate::domain::StoreError;
use crate::domain::push::PushKeys;
use crate::ports::PushKeyring;

/// A failing signature reads the secret again at most this often: a forged push must not
/// cost a Secrets Manager call each.
const REREAD_PAUSE: Duration = Duration::from_secs(30);

/// Where the push keys come from.
pub enum PushKeySource {
    /// Given whole.
    Fixed(HashMap<String, PushKeys>),
    /// A Secrets Manager secret.
    SecretsManager {
        /// The secret's name or ARN.
        id: String,
        /// What was read, and when.
        held: Mutex<Option<(HashMap<String, PushKeys>, Instant)>>,
    },
}

impl PushKeySource {
    /// The source `setting` names.
    pub fn new(setting: &PushKeysSetting) -> Self {
        match setting {
            PushKeysSetting::Value(keys) => Self::Fixed(keys.clone()),
            PushKeysSetting::SecretsManager { id } => Self::SecretsManager {
                id: id.clone(),
                held: Mutex::new(None),
            },
        }
    }
}

impl PushKeyring for PushKeySource {
    async fn push_keys(&self, appid: &str) -> Result<Option<PushKeys>, StoreError> {
        match self {
            Self::Fixed(keys) => Ok(keys.get(appid).cloned()),
            Self::SecretsManager { id, held } => {
                let mut held = held.lock().await;
                if held.is_none() {
                    *held = Some((read(id).await?, Instant::now()));
                }
                Ok(held.as_ref().and_then(|(keys, _)| keys.get(appid).cloned()))
            }
        }
    }

    async fn reread_push_keys(&self, appid: &str) -> Result<Option<PushKeys>, StoreError> {
        let Self::SecretsManager { id, held } = self else {
            return Ok(None);
        };
        let mut held = held.lock().await;
        if held
            .as_ref()
            .is_some_and(|(_, read_at)| read_at.elapsed() < REREAD_PAUSE)
        {
            return Ok(None);
        }
        let keys = read(id).await?;
        let fresh = keys.get(appid).cloned();
        *held = Some((keys, Instant::now()));
        Ok(fresh)
    }
}

async fn read(id: &str) -> Result<HashMap<String, PushKeys>, StoreError> {
    read_secret(id, "push keys", |text| {
        parse_push_keys(text.expose_secret())
    })
    .await
}
