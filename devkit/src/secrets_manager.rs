//! A real implementation of the Secrets Manager protocol for tests: moto's server (from
//! PyPI; `make test` installs it into `.cache/moto`), started on a free port per test and
//! stopped when dropped, with a client to create and rotate secrets in it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};

use crate::dynamodb_local::free_port;

/// Where `make test` installs moto's server; `WXLOGIN_MOTO_SERVER` names another.
const MOTO_SERVER_ENV: &str = "WXLOGIN_MOTO_SERVER";

/// moto's server on a free port; killed when dropped.
pub struct SecretsManagerServer {
    child: Child,
    endpoint: String,
    client: aws_sdk_secretsmanager::Client,
}

fn moto_server() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(MOTO_SERVER_ENV) {
        return Ok(PathBuf::from(path));
    }
    let installed =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/moto/bin/moto_server");
    anyhow::ensure!(
        installed.is_file(),
        "moto's server is not installed: run `make test` once (it installs it into .cache/moto), or set {MOTO_SERVER_ENV}"
    );
    Ok(installed)
}

impl SecretsManagerServer {
    /// Starts moto's server and waits until it answers.
    pub async fn start() -> anyhow::Result<Self> {
        let port = free_port()?;
        let child = Command::new(moto_server()?)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting moto_server")?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
            .endpoint_url(&endpoint)
            .build();
        let server = Self {
            child,
            endpoint,
            client: aws_sdk_secretsmanager::Client::from_conf(config),
        };
        server.wait_until_ready().await?;
        Ok(server)
    }

    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if self.client.list_secrets().send().await.is_ok() {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not answer within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The URL for `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Creates the secret `name` holding `value`.
    pub async fn create(&self, name: &str, value: &str) -> anyhow::Result<()> {
        self.client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .context("CreateSecret")?;
        Ok(())
    }

    /// Gives the secret `name` a new current value, as a rotation does.
    pub async fn rotate(&self, name: &str, value: &str) -> anyhow::Result<()> {
        self.client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .context("PutSecretValue")?;
        Ok(())
    }
}

impl Drop for SecretsManagerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
