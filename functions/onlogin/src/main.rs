//! `onlogin` Lambda: `POST /onlogin`, a `wx.login` code in, a session token out.
//!
//! The composition root: configuration, then the table and WeChat clients, then the
//! login use-case, handed to the runner with its route.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::config::Config;
use wxlogin::edge::routes::{self, LOGIN};
use wxlogin::edge::{self, InitError};
use wxlogin::usecases::Login;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let login = edge::init(&LOGIN.function, build()).await?;
    edge::run_http(&LOGIN, async |request| routes::login(&login, request).await).await
}

/// Once per instance: nothing here waits on DynamoDB, WeChat or Secrets Manager (the
/// AppSecret and the stack key are read on the first login that needs them).
async fn build() -> Result<Login<DynamoTable, WeChatClient, StackKeySource>, InitError> {
    let config = Config::from_env()?;
    if let Some(token) = config.edge_origin_token.clone() {
        edge::trust_edge_origin(token);
    }
    let table = DynamoTable::connect(&config.sessions_table).await;
    let apps = edge::wechat_apps(&config)?;
    edge::login_service(&config, table, apps)
}
