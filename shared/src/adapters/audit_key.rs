//! The stack's audit key ([`AuditKey`]): given in configuration (`AUDIT_KEY`, local work
//! and tests), or read from Secrets Manager (`AUDIT_KEY_SECRET_ID`, a secret the template
//! generates) at the first erasure and held for the instance's life. Init never reads it.

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use crate::adapters::aws::sdk_config;
use crate::config::AuditKeySetting;
use crate::domain::{AuditKey, StoreError};
use crate::ports::AuditKeys;

/// Where the audit key comes from.
pub enum AuditKeySource {
    /// Given whole.
    Fixed(AuditKey),
    /// The SecretString of a Secrets Manager secret.
    SecretsManager {
        /// The secret's name or ARN.
        id: String,
        /// Read once.
        held: OnceCell<AuditKey>,
    },
}

impl AuditKeySource {
    /// The source `setting` names.
    pub fn new(setting: &AuditKeySetting) -> Self {
        match setting {
            AuditKeySetting::Value(key) => Self::Fixed(key.clone()),
            AuditKeySetting::SecretsManager { id } => Self::SecretsManager {
                id: id.clone(),
                held: OnceCell::new(),
            },
        }
    }
}

impl AuditKeys for AuditKeySource {
    async fn audit_key(&self) -> Result<AuditKey, StoreError> {
        match self {
            Self::Fixed(key) => Ok(key.clone()),
            Self::SecretsManager { id, held } => held.get_or_try_init(|| read(id)).await.cloned(),
        }
    }
}

async fn read(id: &str) -> Result<AuditKey, StoreError> {
    let client =
        aws_sdk_secretsmanager::Client::new(&sdk_config("AWS_ENDPOINT_URL_SECRETS_MANAGER").await);
    let unavailable = |reason: String| {
        tracing::error!(secret_id = %id, reason, "audit key could not be read");
        StoreError::new("the audit key could not be read")
    };
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        // The SDK's error text names the operation and failure, never the value.
        .map_err(|err| unavailable(DisplayErrorContext(&err).to_string()))?;
    let text = SecretString::from(
        output
            .secret_string()
            .ok_or_else(|| unavailable("the secret has no SecretString".to_owned()))?
            .trim()
            .to_owned(),
    );
    AuditKey::new(text.expose_secret().as_bytes())
        .ok_or_else(|| unavailable("the SecretString is shorter than 32 bytes".to_owned()))
}
