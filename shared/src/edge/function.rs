//! What every wxlogin Lambda binary does: logs, config, adapters once, then serve.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use lambda_http::{Body, Request, Response, run, service_fn};
use serde::Serialize;

use super::{ApiError, RouteInfo, finish, request_id, within_deadline};
use crate::adapters::dynamodb::{self, DynamoTable};
use crate::adapters::wechat::{ClientBuildError, WeChatClient};
use crate::config::{Config, ConfigError};
use crate::telemetry::timings::Timings;
use crate::usecases::Apps;

/// Why a function could not start; the text names what to fix, never a secret.
#[derive(thiserror::Error)]
pub enum InitError {
    /// The environment is not a usable configuration.
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    /// The WeChat HTTP client could not be built.
    #[error("could not build the WeChat HTTP client: {0}")]
    WeChatClient(#[from] ClientBuildError),
}

/// `main` returning this error prints it with `Debug`: make that the readable text.
impl std::fmt::Debug for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The production adapters every function needs, built from validated config at init:
/// the table, and WeChat for each app the stack serves.
pub async fn production_adapters(
    config: &Config,
) -> Result<(DynamoTable, Apps<WeChatClient>), InitError> {
    let table = DynamoTable::new(dynamodb::connect().await, &config.sessions_table);
    Ok((table, wechat_apps(config)?))
}

/// A WeChat client for each app `config` names, sharing one connection pool.
pub fn wechat_apps(config: &Config) -> Result<Apps<WeChatClient>, InitError> {
    // Config never holds an empty list; the error keeps that promise checked, not assumed.
    Ok(Apps::new(WeChatClient::for_each_app(config)?)
        .ok_or(ConfigError::Missing(crate::config::NO_APP))?)
}

/// A route served by one binary: parse the request, run its use-case, answer.
pub trait HttpFunction: Sized + Sync {
    /// The binary's name, for start-up errors, logs and the `Function` dimension.
    const NAME: &'static str;

    /// The path the function serves, as API Gateway routes it (`/onlogin`).
    const PATH: &'static str;

    /// The metric counting this function's requests by `Outcome` (docs/operations.md).
    const OUTCOME_METRIC: &'static str;

    /// A second dimension of [`Self::OUTCOME_METRIC`], whose value `serve` sets with
    /// [`set_kind`](crate::telemetry::timings::set_kind) (`unknown` when the request failed
    /// before it was known).
    const KIND_DIMENSION: Option<&'static str> = None;

    /// What the client is told when the invocation's deadline comes while WeChat is being
    /// waited on (`/onlogin` says the code may be spent: a new one is needed).
    const DEADLINE_ON_WECHAT: ApiError = ApiError::WeChatUnavailable;

    /// The 200 body.
    type Success: Serialize + Send;

    /// The route's work: its success body or the contract's error. Routes box their
    /// use-case's future: a request's whole future would otherwise nest every layer's
    /// inline, tens of kilobytes in a debug build (the test threads' stacks).
    fn serve(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Self::Success, ApiError>> + Send;

    /// Serves one request within the invocation's deadline; every outcome is a contract
    /// response with a request id, one log line and its metrics, flushed before the
    /// response goes back (Lambda may freeze the instance right after).
    fn handle(&self, request: Request) -> impl Future<Output = Response<Body>> + Send {
        async move {
            let started = Instant::now();
            let request_id = request_id(&request);
            let timings = Arc::new(Timings::default());
            let outcome = timings
                .scope(within_deadline(
                    &request,
                    &timings,
                    Self::DEADLINE_ON_WECHAT,
                    self.serve(&request),
                ))
                .await;
            let route = RouteInfo {
                function: Self::NAME,
                method: request.method().as_str(),
                path: Self::PATH,
                outcome_metric: Self::OUTCOME_METRIC,
                kind_dimension: Self::KIND_DIMENSION,
            };
            let response = finish(&route, &request_id, started, &timings, &outcome);
            crate::telemetry::metrics::flush();
            response
        }
    }
}

/// A function that builds itself, with its production adapters, from configuration.
pub trait FromConfig: Sized {
    /// Builds the function once per Lambda instance.
    fn from_config(config: &Config) -> impl Future<Output = Result<Self, InitError>> + Send;
}

/// The whole of a function's `main`. A bad configuration ends init with an error naming
/// the variable (Lambda shows it and marks the init failed), never a panic.
pub async fn run_function<F: HttpFunction + FromConfig>() -> Result<(), lambda_http::Error> {
    crate::telemetry::init(F::NAME);
    let function = match build::<F>().await {
        Ok(function) => function,
        Err(err) => {
            tracing::error!(function = F::NAME, error = %err, "init failed");
            return Err(err.into());
        }
    };
    let function = &function;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(function.handle(request).await)
    }))
    .await
}

async fn build<F: FromConfig>() -> Result<F, InitError> {
    let config = Config::from_env()?;
    crate::telemetry::metrics::track_apps(config.apps.len());
    F::from_config(&config).await
}
