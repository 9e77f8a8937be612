//! `token` Lambda: `POST /token` (a standard token, a short-lived JWT, for the bearer's
//! live session), `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`
//! (what any verifier reads to check one).
//!
//! The composition root: configuration, then the table and the signing keys' secret
//! (read at the first request, then every few minutes), then the use-case, handed to the
//! runner with its route.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::signing_keys::SecretsManagerKeyRing;
use wxlogin::config::TokenConfig;
use wxlogin::edge::routes::{self, TOKEN};
use wxlogin::edge::{self, InitError};
use wxlogin::telemetry::metrics;
use wxlogin::usecases::StandardTokens;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let tokens = edge::init(&TOKEN.function, build()).await?;
    edge::run_http(&TOKEN, async |request| {
        routes::token(&tokens, request).await
    })
    .await
}

/// Once per instance: nothing here waits on DynamoDB or Secrets Manager.
async fn build() -> Result<StandardTokens<DynamoTable, SecretsManagerKeyRing>, InitError> {
    let config = TokenConfig::from_env()?;
    metrics::track_apps(config.appids.len());
    let table = DynamoTable::connect(&config.sessions_table).await;
    let keys = SecretsManagerKeyRing::new(config.signing_keys_secret, config.signing_keys_max_age);
    Ok(StandardTokens::new(
        table,
        keys,
        config.appids,
        config.settings,
    ))
}
