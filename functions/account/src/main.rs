//! `account` Lambda: `GET /account` (a copy of everything stored about the caller) and
//! `DELETE /account` (cancel the account: erase the user, their sessions and counters).
//!
//! The composition root: configuration (the appids and the stack key, never an
//! AppSecret: this function never calls WeChat), then the table, then the account
//! use-cases, handed to the runner with their route.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::config::AccountConfig;
use wxlogin::edge::routes::{self, ACCOUNT};
use wxlogin::edge::{self, InitError};
use wxlogin::telemetry::metrics;
use wxlogin::usecases::Accounts;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let accounts = edge::init(&ACCOUNT.function, build()).await?;
    edge::run_http(&ACCOUNT, async |request| {
        routes::account(&accounts, request).await
    })
    .await
}

/// Once per instance: nothing here waits on DynamoDB or Secrets Manager (the stack key
/// is read at the first erasure).
async fn build() -> Result<Accounts<DynamoTable, StackKeySource>, InitError> {
    let config = AccountConfig::from_env()?;
    metrics::track_apps(config.appids.len());
    let table = DynamoTable::connect(config.sessions_table).await;
    let stack_keys = StackKeySource::new(&config.stack_key);
    Ok(Accounts::new(table, stack_keys, config.appids)
        .with_audit_retention(config.audit_retention)
        .with_phone_daily_limit(config.quotas.phone_verifications_per_day))
}
