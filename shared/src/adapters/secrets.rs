//! Reading one Secrets Manager secret's SecretString, for the keys read at run time (the
//! stack key, the push keys). A failure is logged once here, naming the secret and what
//! went wrong, never a value, and becomes a [`StoreError`] (503: retry).

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use secrecy::SecretString;

use crate::adapters::aws::sdk_config;
use crate::domain::StoreError;

/// A Secrets Manager client for the endpoint of `AWS_ENDPOINT_URL_SECRETS_MANAGER` (moto in
/// tests and `make dev`), else the region's.
pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config("AWS_ENDPOINT_URL_SECRETS_MANAGER").await)
}

/// The SecretString of secret `id`'s current version through `client`, trimmed; `Err` says
/// why not, naming the operation and failure, never a value.
pub async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<SecretString, String> {
    let output = client
        .get_secret_value()
        .secret_id(id)
        // AWSCURRENT named, though it is the default: moto's server (tests, make dev)
        // answers a secret's first version otherwise, after a rotation moved the label.
        .version_stage("AWSCURRENT")
        .send()
        .await
        // The SDK's error text names the operation and failure, never the value.
        .map_err(|err| DisplayErrorContext(&err).to_string())?;
    let text = output
        .secret_string()
        .ok_or_else(|| "the secret has no SecretString".to_owned())?;
    Ok(SecretString::from(text.trim().to_owned()))
}

/// The SecretString of secret `id`, for `what` (named in the log line), through a client
/// built for this one read; `check` turns it into what the caller keeps, or says why it
/// cannot.
pub async fn read_secret<T>(
    id: &str,
    what: &'static str,
    check: impl FnOnce(&SecretString) -> Result<T, &'static str>,
) -> Result<T, StoreError> {
    let unavailable = |reason: String| {
        tracing::error!(secret_id = %id, reason, "{what} could not be read");
        StoreError::new(format!("the {what} could not be read"))
    };
    let text = secret_string(&secrets_client().await, id)
        .await
        .map_err(unavailable)?;
    check(&text).map_err(|reason| unavailable(reason.to_owned()))
}
