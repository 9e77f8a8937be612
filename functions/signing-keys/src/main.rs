//! `signing-keys` Lambda: the rotation function of the signing-key secret. Secrets
//! Manager invokes it for each step of a rotation (on the template's schedule, and once
//! when the stack is created, which makes the first key).
//!
//! The composition root: configuration, then the secret's versions, then the rotation.

use lambda_http::Error;
use wxlogin::adapters::signing_keys::SecretsManagerVersions;
use wxlogin::config::KeyRotationConfig;
use wxlogin::edge::key_rotation::{self, SIGNING_KEYS};
use wxlogin::edge::{self, InitError};
use wxlogin::usecases::KeyRotation;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (rotation, secret) = edge::init(&SIGNING_KEYS, build()).await?;
    edge::run(&SIGNING_KEYS, async |event| {
        key_rotation::handle(&rotation, &secret, event).await
    })
    .await
}

/// Once per instance: nothing here calls Secrets Manager.
async fn build() -> Result<(KeyRotation<SecretsManagerVersions>, String), InitError> {
    let config = KeyRotationConfig::from_env()?;
    let versions = SecretsManagerVersions::connect(config.signing_keys_secret.clone()).await;
    Ok((
        KeyRotation::new(versions, config.policy),
        config.signing_keys_secret,
    ))
}
