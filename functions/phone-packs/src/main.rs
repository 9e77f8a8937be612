//! `phone-packs` Lambda: invoked by the template's EventBridge Scheduler schedule
//! (`PhonePackCheckSchedule`, hourly by default), it reads each served app's
//! phone-verification packs and writes what is used and left, and the days left at the
//! recent rate, as metrics (docs/operations.md, "Phone-verification packs").
//!
//! The composition root: configuration (the apps and their AppSecrets, the table, the
//! WeChat API base, as every function calling WeChat reads them), then the table and
//! WeChat clients, then the check, handed to the runner.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::config::Config;
use wxlogin::edge::phone_packs::{self, PHONE_PACKS};
use wxlogin::edge::{self, InitError};
use wxlogin::usecases::PhonePacks;

// One run at a time per instance: a single-threaded runtime starts faster and needs no
// worker threads (the apps are read at once on it all the same).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let packs = edge::init(&PHONE_PACKS, build()).await?;
    edge::run(&PHONE_PACKS, async |event| {
        phone_packs::handle(&packs, event).await
    })
    .await
}

/// Once per instance: nothing here waits on DynamoDB or WeChat.
async fn build() -> Result<PhonePacks<DynamoTable, WeChatClient>, InitError> {
    let config = Config::from_env()?;
    let table = DynamoTable::connect(&config.sessions_table).await;
    let apps = edge::wechat_apps(&config)?;
    Ok(PhonePacks::new(table, apps))
}
