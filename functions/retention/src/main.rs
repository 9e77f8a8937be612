//! `retention` Lambda: fed the table's DynamoDB stream (filtered by the template to the
//! user items its TTL removed when `UserInactiveDays` is set), it writes each one's
//! audit record with the reason `inactivity`, as every other erasure leaves one.
//!
//! The composition root: configuration (the appids, the stack key's secret), then the
//! table, then the account use-cases, handed to the runner.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::config::AccountConfig;
use wxlogin::edge::retention::{self, RETENTION};
use wxlogin::edge::{self, InitError};
use wxlogin::telemetry::metrics;
use wxlogin::usecases::Accounts;

// One batch at a time per instance: a single-threaded runtime starts faster and needs
// no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let accounts = edge::init(&RETENTION, build()).await?;
    edge::run(&RETENTION, async |event| {
        retention::handle(&accounts, event).await
    })
    .await
}

/// Once per instance: nothing here waits on DynamoDB or Secrets Manager.
async fn build() -> Result<Accounts<DynamoTable, StackKeySource>, InitError> {
    let config = AccountConfig::from_env()?;
    metrics::track_apps(config.appids.len());
    let table = DynamoTable::connect(config.sessions_table).await;
    Ok(
        Accounts::new(table, StackKeySource::new(&config.stack_key), config.appids)
            .with_audit_retention(config.audit_retention),
    )
}
