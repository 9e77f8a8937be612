//! The signing-key ring in its Secrets Manager secret (`SIGNING_KEYS_SECRET_ID`, created
//! by the template, filled by its rotation): read by the token function, held for a few
//! minutes so a rotation's new key reaches every instance long before it signs; and moved
//! through the rotation protocol's versions by the `signing-keys` function.
//!
//! Init never reads the secret: the first request does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, OnceCell};

use crate::adapters::secrets::{secret_string, secrets_client};
use crate::domain::clock::now_epoch_seconds;
use crate::domain::{KeyRing, StoreError};
use crate::ports::{KeyRingVersions, SigningKeys};

/// How long a held ring may serve when the secret cannot be read again: a rotation
/// publishes keys hours before they sign, so a ring this old still has the signer.
const STALE_RING_SERVES_FOR: Duration = Duration::from_secs(3600);

/// After a failed read, how long the held ring serves before the next attempt, so a
/// Secrets Manager outage costs one slow request per instance per interval, not each.
const RETRY_READ_AFTER: Duration = Duration::from_secs(30);

/// A ring read with no key in force yet (a new stack, its first rotation running) is
/// read again this soon, not after the full max age.
const EMPTY_RING_READ_AGAIN_AFTER: Duration = Duration::from_secs(5);

/// The staging labels of Secrets Manager's rotation protocol.
const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";

fn store_error(what: &str, err: impl Into<String>) -> StoreError {
    let reason = err.into();
    tracing::error!(reason, "{what}");
    StoreError::new(what.to_owned())
}

/// A failed SDK call as a [`StoreError`] saying `what` failed, logged with the SDK's reason.
fn failed<E: std::error::Error>(what: &'static str) -> impl FnOnce(E) -> StoreError {
    move |err| store_error(what, DisplayErrorContext(&err).to_string())
}

/// The ring as the token function reads it.
pub struct SecretsManagerKeyRing {
    id: String,
    max_age: Duration,
    client: OnceCell<aws_sdk_secretsmanager::Client>,
    held: Mutex<Option<Held>>,
}

struct Held {
    ring: Arc<KeyRing>,
    read_at: Instant,
    next_read_at: Instant,
}

impl SecretsManagerKeyRing {
    /// The ring of secret `id`, read again when the held copy is older than `max_age`.
    pub fn new(id: impl Into<String>, max_age: Duration) -> Self {
        Self {
            id: id.into(),
            max_age,
            client: OnceCell::new(),
            held: Mutex::new(None),
        }
    }

    async fn read(&self) -> Result<KeyRing, StoreError> {
        let client = self.client.get_or_init(secrets_client).await;
        let text = secret_string(client, &self.id)
            .await
            .map_err(|reason| store_error("the signing keys could not be read", reason))?;
        KeyRing::parse(&text)
            .map_err(|err| store_error("the signing keys are unusable", err.to_string()))
    }
}

impl SigningKeys for SecretsManagerKeyRing {
    async fn key_ring(&self) -> Result<Arc<KeyRing>, StoreError> {
        // One read at a time: concurrent requests of a multi-request runtime wait for it.
        let mut held = self.held.lock().await;
        let now = Instant::now();
        if let Some(current) = held.as_ref()
            && now < current.next_read_at
        {
            return Ok(current.ring.clone());
        }
        match self.read().await {
            Ok(ring) => {
                let in_force = ring.signer_at(now_epoch_seconds()).is_some();
                let ring = Arc::new(ring);
                *held = Some(Held {
                    ring: ring.clone(),
                    read_at: now,
                    next_read_at: now
                        + if in_force {
                            self.max_age
                        } else {
                            EMPTY_RING_READ_AGAIN_AFTER.min(self.max_age)
                        },
                });
                Ok(ring)
            }
            Err(err) => match held.as_mut() {
                Some(stale) if now.duration_since(stale.read_at) < STALE_RING_SERVES_FOR => {
                    tracing::warn!("serving the signing keys held since the last good read");
                    stale.next_read_at = now + RETRY_READ_AFTER;
                    Ok(stale.ring.clone())
                }
                _ => Err(err),
            },
        }
    }
}

/// The secret's versions as the rotation protocol moves them.
pub struct SecretsManagerVersions {
    id: String,
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerVersions {
    /// The versions of secret `id`.
    pub async fn connect(id: impl Into<String>) -> Self {
        Self::with_client(secrets_client().await, id)
    }

    /// The versions of secret `id` through `client` (a test's, for a local endpoint).
    pub fn with_client(client: aws_sdk_secretsmanager::Client, id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            client,
        }
    }
}

impl KeyRingVersions for SecretsManagerVersions {
    async fn current(&self) -> Result<Option<(String, SecretString)>, StoreError> {
        let read = self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .version_stage(CURRENT)
            .send()
            .await;
        match read {
            Ok(output) => Ok(Some((
                output.version_id().unwrap_or_default().to_owned(),
                SecretString::from(output.secret_string().unwrap_or_default().to_owned()),
            ))),
            Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(err) => Err(failed("the current signing keys could not be read")(err)),
        }
    }

    async fn pending(&self, version: &str) -> Result<Option<SecretString>, StoreError> {
        let read = self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .version_id(version)
            .version_stage(PENDING)
            .send()
            .await;
        match read {
            Ok(output) => Ok(output
                .secret_string()
                .map(|text| SecretString::from(text.to_owned()))),
            // No such version, or it is not pending (Secrets Manager says the same).
            Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(err) => Err(failed("the pending signing keys could not be read")(err)),
        }
    }

    async fn put_pending(&self, version: &str, ring: &SecretString) -> Result<(), StoreError> {
        self.client
            .put_secret_value()
            .secret_id(&self.id)
            .client_request_token(version)
            .secret_string(ring.expose_secret())
            .version_stages(PENDING)
            .send()
            .await
            .map(|_| ())
            .map_err(failed("the new signing keys could not be written"))
    }

    async fn make_current(&self, version: &str, previous: &str) -> Result<(), StoreError> {
        self.client
            .update_secret_version_stage()
            .secret_id(&self.id)
            .version_stage(CURRENT)
            .move_to_version_id(version)
            .remove_from_version_id(previous)
            .send()
            .await
            .map(|_| ())
            .map_err(failed("the new signing keys could not be made current"))
    }
}
