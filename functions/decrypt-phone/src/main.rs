//! `decrypt-phone` Lambda: `POST /decrypt-phone`, either getPhoneNumber form in, the
//! caller's verified phone number out.
//!
//! The composition root: configuration, then the table and WeChat clients, then the
//! phone-number use-case with its limits, handed to the runner with its route.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::config::Config;
use wxlogin::domain::WatermarkPolicy;
use wxlogin::edge::routes::{self, PHONE};
use wxlogin::edge::{self, InitError};
use wxlogin::usecases::PhoneNumbers;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let phones = edge::init(&PHONE.function, build()).await?;
    edge::run_http(&PHONE, async |request| {
        routes::phone(&phones, request).await
    })
    .await
}

/// Once per instance: nothing here waits on DynamoDB or WeChat.
async fn build() -> Result<PhoneNumbers<DynamoTable, WeChatClient>, InitError> {
    let config = Config::from_env()?;
    let table = DynamoTable::connect(&config.sessions_table).await;
    let apps = edge::wechat_apps(&config)?;
    let watermark = WatermarkPolicy {
        max_age: config.watermark_max_age,
    };
    Ok(PhoneNumbers::new(table, apps, watermark)
        .with_daily_limit(config.quotas.phone_verifications_per_day))
}
