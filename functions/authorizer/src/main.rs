//! `authorizer` Lambda: the HTTP API Lambda authorizer (payload 2.0, simple responses)
//! for the app's own routes. A live wxlogin token of a served app is allowed, with the
//! caller in the context; anything else is denied; a store failure fails the invocation.
//!
//! The composition root: configuration (the appids, never an AppSecret), then the
//! table, then the authorize use-case, handed to the runner.

use lambda_http::Error;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::config::AuthorizerConfig;
use wxlogin::edge::authorizer::{self, AUTHORIZER};
use wxlogin::edge::{self, InitError};
use wxlogin::telemetry::metrics;
use wxlogin::usecases::Authorize;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let authorize = edge::init(&AUTHORIZER, build()).await?;
    edge::run(&AUTHORIZER, async |event| {
        authorizer::handle(&authorize, event).await
    })
    .await
}

/// Once per instance: nothing here waits on DynamoDB.
async fn build() -> Result<Authorize<DynamoTable>, InitError> {
    let config = AuthorizerConfig::from_env()?;
    metrics::track_apps(config.appids.len());
    let table = DynamoTable::connect(config.sessions_table).await;
    Ok(Authorize::new(table, config.appids).with_routes(config.routes))
}
