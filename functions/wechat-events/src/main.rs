//! `wechat-events` Lambda: each mini-program's message-push URL,
//! `/wechat/events/{appid}`. `GET` answers WeChat's URL check; `POST` receives a push and
//! acts on the user-data events (a deleted WeChat account erases the user, a withdrawn
//! phone authorization erases the phone).
//!
//! The composition root: configuration (the appids, the stack key's and the push keys'
//! secrets; never an AppSecret: this function never calls WeChat), then the table, then
//! the receiver over the account use-cases, handed to the runner with its route.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::push_keys::PushKeySource;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::config::PushConfig;
use wxlogin::edge::routes::{self, WECHAT_EVENTS};
use wxlogin::edge::{self, InitError};
use wxlogin::telemetry::metrics;
use wxlogin::usecases::{Accounts, PushReceiver};

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let receiver = edge::init(&WECHAT_EVENTS.function, build()).await?;
    edge::run_http(&WECHAT_EVENTS, async |request| {
        routes::wechat_events(&receiver, request).await
    })
    .await
}

/// Once per instance: nothing here waits on DynamoDB or Secrets Manager (both secrets
/// are read at the first push).
async fn build() -> Result<PushReceiver<DynamoTable, StackKeySource, PushKeySource>, InitError> {
    let config = PushConfig::from_env()?;
    let account = config.account;
    metrics::track_apps(account.appids.len());
    let table = DynamoTable::connect(account.sessions_table).await;
    let accounts = Accounts::new(
        table,
        StackKeySource::new(&account.stack_key),
        account.appids.clone(),
    )
    .with_audit_retention(account.audit_retention);
    Ok(PushReceiver::new(
        accounts,
        PushKeySource::new(&config.push_keys),
        account.appids,
    ))
}
