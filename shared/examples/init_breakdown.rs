//! Where a function's init time goes, step by step (release build):
//! `cargo run --release -p wxlogin --example init_breakdown` with `AWS_REGION`,
//! `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` set as Lambda sets them. Set
//! `INIT_BREAKDOWN_FULL_CHAIN=1` to time aws-config's full provider chain instead.

use std::time::Instant;

fn report(name: &str, started: Instant) {
    eprintln!(
        "{name:<44} {:>8.3} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let total = Instant::now();
    let started = Instant::now();
    wxlogin::telemetry::init("onlogin");
    report("telemetry::init", started);

    let started = Instant::now();
    let config = wxlogin::config::Config::from_lookup(|name| match name {
        "WECHAT_APPID" => Some("wx00000000sandbox1".into()),
        "WECHAT_SECRET" => Some("secret".into()),
        "SESSIONS_TABLE" => Some("sessions".into()),
        _ => None,
    })
    .unwrap_or_else(|err| panic!("{err}"));
    report("Config::from_lookup", started);

    let started = Instant::now();
    if std::env::var_os("INIT_BREAKDOWN_FULL_CHAIN").is_some() {
        let sdk_config = wxlogin::adapters::aws::tuned_config_loader().load().await;
        let _client = aws_sdk_dynamodb::Client::new(&sdk_config);
        report("DynamoDB client (aws-config full chain)", started);
    } else {
        let _table = wxlogin::adapters::dynamodb::DynamoTable::connect("sessions").await;
        report("DynamoDB client (DynamoTable::connect)", started);
    }

    for round in 0..2 {
        let started = Instant::now();
        let _table = wxlogin::adapters::dynamodb::DynamoTable::connect("sessions").await;
        report(
            &format!("DynamoTable::connect again (warm #{round})"),
            started,
        );
    }

    let started = Instant::now();
    let _wechat = wxlogin::adapters::wechat::WeChatClient::for_each_app(&config);
    report("WeChatClient::new (reqwest + rustls)", started);
    report("total", total);
}
