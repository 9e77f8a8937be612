//! `session` Lambda: `GET /session` (who is calling; `?check=wechat` asks WeChat too) and
//! `DELETE /session` (log out; `?all=true` everywhere).
//!
//! The composition root: configuration, then the table and WeChat clients, then the
//! session use-case with its limit, handed to the runner with its route.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::config::Config;
use wxlogin::edge::routes::{self, SESSION};
use wxlogin::edge::{self, InitError};
use wxlogin::usecases::SessionQueries;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let queries = edge::init(&SESSION.function, build()).await?;
    edge::run_http(&SESSION, async |request| {
        routes::session(&queries, request).await
    })
    .await
}

/// Once per instance: nothing here waits on DynamoDB or WeChat.
async fn build() -> Result<SessionQueries<DynamoTable, WeChatClient>, InitError> {
    let config = Config::from_env()?;
    let table = DynamoTable::connect(&config.sessions_table).await;
    let apps = edge::wechat_apps(&config)?;
    Ok(SessionQueries::new(table, apps).with_check_limit(config.quotas.wechat_checks_per_minute))
}
