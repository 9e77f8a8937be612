//! The AppSecret: given in configuration (`WECHAT_SECRET`, local work and tests), or read
//! from Secrets Manager (`WECHAT_SECRET_ID`) the first time WeChat needs it, kept for the
//! instance's life, and read again once when WeChat says it is wrong (40125), so rotating
//! the AppSecret needs no redeploy. Init never reads it: cold starts stay at the floor.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, OnceCell};

use crate::adapters::secrets::{secret_string, secrets_client};
use crate::config::AppSecretSetting;
use crate::domain::WeChatError;
use crate::telemetry::metrics;

/// The AppSecret of one appid, and where to read it again.
pub struct AppSecret {
    source: Source,
    held: Mutex<Option<Held>>,
    /// When the last first read failed: further requests wait [`FAILED_READ_PAUSE`]
    /// before reading again.
    failed_read_at: Mutex<Option<Instant>>,
}

enum Source {
    Fixed(SecretString),
    SecretsManager(RemoteSecret),
}

/// After a re-read found the very secret WeChat rejects, further rejections do not read
/// again for this long: a wrong AppSecret must not cost a Secrets Manager call (and an
/// error line) per request.
const REREAD_PAUSE: Duration = Duration::from_secs(30);

/// After a read that failed (no such secret, no such appid in it, Secrets Manager down),
/// requests answer 503 without reading again for this long: a misconfigured app costs one
/// Secrets Manager call (and one error line) per 10 s, not one per request, and a fixed
/// secret is picked up within 10 s.
pub const FAILED_READ_PAUSE: Duration = Duration::from_secs(10);

/// A secret read, and which read it was: a rejection names the read it rejected, so
/// concurrent rejections of one read cause one re-read.
struct Held {
    secret: SecretString,
    generation: u64,
    /// When a re-read last found this same secret although WeChat rejects it.
    still_rejected_at: Option<Instant>,
}

/// The AppSecret to call WeChat with, and which read it came from.
pub struct CurrentSecret {
    /// The AppSecret.
    pub secret: SecretString,
    generation: u64,
}

impl AppSecret {
    /// The AppSecret of `appid` as `setting` says where it is.
    pub fn new(setting: &AppSecretSetting, appid: &str) -> Self {
        let source = match setting {
            AppSecretSetting::Value(secret) => Source::Fixed(secret.clone()),
            AppSecretSetting::SecretsManager { id, keyed_by_appid } => {
                Source::SecretsManager(RemoteSecret {
                    id: id.clone(),
                    appid: appid.to_owned(),
                    keyed_by_appid: *keyed_by_appid,
                    client: OnceCell::new(),
                })
            }
        };
        Self {
            source,
            held: Mutex::new(None),
            failed_read_at: Mutex::new(None),
        }
    }

    /// The secret to use now: the one held, else read for the first time.
    pub async fn current(&self) -> Result<CurrentSecret, WeChatError> {
        let remote = match &self.source {
            Source::Fixed(secret) => {
                return Ok(CurrentSecret {
                    secret: secret.clone(),
                    generation: 0,
                });
            }
            Source::SecretsManager(remote) => remote,
        };
        let mut held = self.held.lock().await;
        if let Some(held) = held.as_ref() {
            return Ok(held.current());
        }
        let mut failed_read_at = self.failed_read_at.lock().await;
        if failed_read_at.is_some_and(|at| at.elapsed() < FAILED_READ_PAUSE) {
            return Err(WeChatError::SecretUnavailable);
        }
        let secret = match remote.read().await {
            Ok(secret) => secret,
            Err(err) => {
                *failed_read_at = Some(Instant::now());
                return Err(err);
            }
        };
        *failed_read_at = None;
        Ok(held
            .insert(Held {
                secret,
                generation: 1,
                still_rejected_at: None,
            })
            .current())
    }

    /// After WeChat rejected `rejected` (40125): a different secret, read again from
    /// Secrets Manager, or `None` when there is none (a fixed secret, or the store still
    /// holds the rejected one).
    pub async fn after_rejection(
        &self,
        rejected: &CurrentSecret,
    ) -> Result<Option<CurrentSecret>, WeChatError> {
        let Source::SecretsManager(remote) = &self.source else {
            return Ok(None);
        };
        let mut held = self.held.lock().await;
        if let Some(newer) = held
            .as_ref()
            .filter(|held| held.generation != rejected.generation)
        {
            // Another request re-read it already.
            return Ok(Some(newer.current()));
        }
        if held
            .as_ref()
            .and_then(|held| held.still_rejected_at)
            .is_some_and(|at| at.elapsed() < REREAD_PAUSE)
        {
            return Ok(None);
        }
        let secret = remote.read().await?;
        if secret.expose_secret() == rejected.secret.expose_secret() {
            tracing::error!(
                secret_id = %remote.id,
                appid = %remote.appid,
                "WeChat rejects the AppSecret (40125) and Secrets Manager still holds it"
            );
            if let Some(held) = held.as_mut() {
                held.still_rejected_at = Some(Instant::now());
            }
            return Ok(None);
        }
        tracing::warn!(
            secret_id = %remote.id,
            appid = %remote.appid,
            "AppSecret read again after WeChat rejected it (40125): it was rotated"
        );
        let generation = rejected.generation + 1;
        Ok(Some(
            held.insert(Held {
                secret,
                generation,
                still_rejected_at: None,
            })
            .current(),
        ))
    }
}

impl Held {
    fn current(&self) -> CurrentSecret {
        CurrentSecret {
            secret: self.secret.clone(),
            generation: self.generation,
        }
    }
}

/// A Secrets Manager secret holding the AppSecret: the AppSecret itself, or a JSON object
/// of AppSecrets by appid.
struct RemoteSecret {
    id: String,
    appid: String,
    /// The secret serves several apps: only a JSON object will do.
    keyed_by_appid: bool,
    /// Built on the first read, not at init.
    client: OnceCell<aws_sdk_secretsmanager::Client>,
}

impl RemoteSecret {
    async fn read(&self) -> Result<SecretString, WeChatError> {
        let client = self.client.get_or_init(secrets_client).await;
        let unavailable = |reason: &str| {
            tracing::error!(secret_id = %self.id, appid = %self.appid, reason, "AppSecret could not be read");
            metrics::record_wechat_error(
                &self.appid,
                "secrets_manager",
                "secret_unavailable".to_owned(),
            );
            WeChatError::SecretUnavailable
        };
        let text = secret_string(client, &self.id)
            .await
            .map_err(|reason| unavailable(&reason))?;
        app_secret_in(text.expose_secret(), &self.appid, self.keyed_by_appid).ok_or_else(|| {
            if self.keyed_by_appid {
                unavailable("the SecretString is not a JSON object with a string for this appid")
            } else {
                unavailable("the SecretString is empty, or a JSON object without this appid")
            }
        })
    }
}

/// The AppSecret in a SecretString: the string under `appid` when it is a JSON object,
/// else the string itself, unless the secret is `keyed_by_appid` (it serves several apps).
fn app_secret_in(text: &str, appid: &str, keyed_by_appid: bool) -> Option<SecretString> {
    let text = text.trim();
    let secret = if text.starts_with('{') {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
        object.get(appid)?.as_str()?.trim().to_owned()
    } else if keyed_by_appid {
        return None;
    } else {
        text.to_owned()
    };
    (!secret.is_empty()).then(|| SecretString::from(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_string_is_the_app_secret_or_an_object_by_appid() {
        let read =
            |text: &str| app_secret_in(text, "wxA", false).map(|s| s.expose_secret().to_owned());
        assert_eq!(read("  s3cr3t\n").as_deref(), Some("s3cr3t"));
        assert_eq!(read(r#"{"wxA": "a", "wxB": "b"}"#).as_deref(), Some("a"));
        assert_eq!(read(r#"{"wxB": "b"}"#), None);
        assert_eq!(read(r#"{"wxA": 5}"#), None);
        assert_eq!(read("   "), None);
        assert_eq!(read("{not json"), None);
    }

    #[test]
    fn a_secret_serving_several_apps_must_be_an_object_by_appid() {
        let read =
            |text: &str| app_secret_in(text, "wxB", true).map(|s| s.expose_secret().to_owned());
        assert_eq!(read(r#"{"wxA": "a", "wxB": "b"}"#).as_deref(), Some("b"));
        assert_eq!(
            read("s3cr3t"),
            None,
            "one bare secret cannot serve several apps"
        );
        assert_eq!(read(r#"{"wxA": "a"}"#), None);
    }

    #[tokio::test]
    async fn a_fixed_secret_is_never_read_again() {
        let secret = AppSecret::new(&AppSecretSetting::Value("s".to_owned().into()), "wxA");
        let current = secret.current().await.unwrap();
        assert_eq!(current.secret.expose_secret(), "s");
        assert!(secret.after_rejection(&current).await.unwrap().is_none());
    }
}
