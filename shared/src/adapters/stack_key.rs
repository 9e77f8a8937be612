//! The stack's stack key ([`StackKey`]): given in configuration (`STACK_KEY`, local work
//! and tests), or read from Secrets Manager (`STACK_KEY_SECRET_ID`, a secret the template
//! generates) at the first erasure and held for the instance's life. Init never reads it.

use secrecy::ExposeSecret;
use tokio::sync::OnceCell;

use crate::adapters::secrets::read_secret;
use crate::config::StackKeySetting;
use crate::domain::{StackKey, StoreError};
use crate::ports::StackKeys;

/// Where the stack key comes from.
pub enum StackKeySource {
    /// Given whole.
    Fixed(StackKey),
    /// The SecretString of a Secrets Manager secret.
    SecretsManager {
        /// The secret's name or ARN.
        id: String,
        /// Read once.
        held: OnceCell<StackKey>,
    },
}

impl StackKeySource {
    /// The source `setting` names.
    pub fn new(setting: &StackKeySetting) -> Self {
        match setting {
            StackKeySetting::Value(key) => Self::Fixed(key.clone()),
            StackKeySetting::SecretsManager { id } => Self::SecretsManager {
                id: id.clone(),
                held: OnceCell::new(),
            },
        }
    }
}

impl StackKeys for StackKeySource {
    async fn stack_key(&self) -> Result<StackKey, StoreError> {
        match self {
            Self::Fixed(key) => Ok(key.clone()),
            Self::SecretsManager { id, held } => held.get_or_try_init(|| read(id)).await.cloned(),
        }
    }
}

async fn read(id: &str) -> Result<StackKey, StoreError> {
    read_secret(id, "stack key", |text| {
        StackKey::new(text.expose_secret().as_bytes())
            .ok_or("the SecretString is shorter than 32 bytes")
    })
    .await
}
