//! The stack's audit key ([`AuditKey`]): given in configuration (`AUDIT_KEY`, local work
//! and tests), or read from Secrets Manager (`AUDIT_KEY_SECRET_ID`, a secret the template
//! generates) at the first erasure and held for the instance's life. Init never reads it.

use secrecy::ExposeSecret;
use tokio::sync::OnceCell;

use crate::adapters::secrets::read_secret;
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
    read_secret(id, "audit key", |text| {
        AuditKey::new(text.expose_secret().as_bytes())
            .ok_or("the SecretString is shorter than 32 bytes")
    })
    .await
}
