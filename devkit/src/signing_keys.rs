//! The signing keys of `make dev`, as AWS keeps them: a Secrets Manager secret (moto)
//! holding the ring, made and rotated by the real `signing-keys` function, invoked with
//! the four steps of Secrets Manager's rotation protocol through cargo lambda watch's
//! invoke API (moto would invoke the function through a Lambda it does not have here).

use anyhow::{Context, bail};
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

use wxlogin::usecases::RotationStep;

use crate::stack::unique_suffix;

/// The ring before the first rotation: no key.
pub const EMPTY_RING: &str = r#"{"keys":[]}"#;

/// A Secrets Manager client for the local endpoint.
pub fn local_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "devkit"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// Creates `secret` with an empty ring unless it exists; `true` when created.
pub async fn create_secret(endpoint: &str, secret: &str) -> anyhow::Result<bool> {
    let client = local_client(endpoint);
    if client
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    client
        .create_secret()
        .name(secret)
        .secret_string(EMPTY_RING)
        .send()
        .await
        .context("CreateSecret")?;
    Ok(true)
}

/// A new rotation's version id: Secrets Manager's ClientRequestToken, 32 to 64
/// characters (a UUID in AWS).
pub fn rotation_version() -> String {
    format!("{}{}{}", unique_suffix(), unique_suffix(), unique_suffix())
}

/// One rotation of `secret` by the `signing-keys` function behind `lambda`'s invoke API
/// (`http://127.0.0.1:<watch port>`), as Secrets Manager runs one: the kids of the ring
/// it made current.
pub async fn rotate(lambda: &str, secret: &str) -> anyhow::Result<Vec<String>> {
    let http = reqwest::Client::new();
    let version = rotation_version();
    let url = format!("{lambda}/2015-03-31/functions/signing-keys/invocations");
    let mut keys = Vec::new();
    for step in RotationStep::ALL.map(RotationStep::name) {
        let event = json!({"SecretId": secret, "ClientRequestToken": version, "Step": step});
        let answer: Value = http
            .post(&url)
            .json(&event)
            .send()
            .await
            .with_context(|| format!("invoking signing-keys for {step}"))?
            .json()
            .await
            .with_context(|| format!("signing-keys' answer to {step}"))?;
        if answer.get("errorType").is_some() {
            bail!("signing-keys failed {step}: {answer}");
        }
        keys = answer["keys"]
            .as_array()
            .with_context(|| format!("signing-keys' answer to {step} has no keys: {answer}"))?
            .iter()
            .filter_map(|kid| kid.as_str().map(str::to_owned))
            .collect();
    }
    Ok(keys)
}
