//! What every wxlogin Lambda binary does: logs, config, clients once, then serve.

use std::convert::Infallible;

use std::time::Instant;

use lambda_http::{Body, Request, Response, run, service_fn};
use serde::Serialize;

use crate::api::{ApiError, RouteInfo, Timings, finish, request_id, within_deadline};
use crate::config::Config;
use crate::session::SessionStore;
use crate::wechat::WeChatClient;

/// Why a function could not be built at init.
#[derive(Debug, thiserror::Error)]
#[error("could not build the WeChat HTTP client: {0}")]
pub struct InitError(#[from] crate::wechat::ClientBuildError);

/// The clients every function needs, built from validated config at init.
pub async fn clients(config: &Config) -> Result<(WeChatClient, SessionStore), InitError> {
    let store = SessionStore::new(crate::session::connect().await, &config.sessions_table);
    Ok((WeChatClient::new(config)?, store))
}

/// A handler service that a binary runs; built once per Lambda instance.
pub trait HttpFunction: Sized + Sync {
    /// The binary's name, for start-up errors, logs and the `Function` dimension.
    const NAME: &'static str;

    /// The path the function serves, as API Gateway routes it (`/onlogin`).
    const PATH: &'static str;

    /// The metric counting this function's requests by `Outcome` (docs/operations.md).
    const OUTCOME_METRIC: &'static str;

    /// A second dimension of [`Self::OUTCOME_METRIC`], whose value `serve` sets with
    /// [`Timings::set_kind`] (`unknown` when the request failed before it was known).
    const KIND_DIMENSION: Option<&'static str> = None;

    /// The 200 body.
    type Success: Serialize + Send;

    /// Builds the service and its clients from validated config.
    fn from_config(config: &Config) -> impl Future<Output = Result<Self, InitError>> + Send;

    /// The route's work: its success body or the contract's error.
    fn serve(
        &self,
        request: &Request,
        timings: &Timings,
    ) -> impl Future<Output = Result<Self::Success, ApiError>> + Send;

    /// Serves one request within the invocation's deadline; every outcome is a contract
    /// response with a request id, one log line and its metrics, flushed before the
    /// response goes back (Lambda may freeze the instance right after).
    fn handle(&self, request: Request) -> impl Future<Output = Response<Body>> + Send {
        async move {
            let started = Instant::now();
            let request_id = request_id(&request);
            let timings = Timings::default();
            let outcome = within_deadline(&request, &timings, self.serve(&request, &timings)).await;
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

/// The whole of a function's `main`: a bad configuration ends init with a message naming
/// the variable (Lambda shows it and marks the init failed), never a panic.
pub async fn run_function<F: HttpFunction>() -> Result<(), lambda_http::Error> {
    crate::telemetry::init(F::NAME);
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{}: configuration error: {err}", F::NAME);
            std::process::exit(2);
        }
    };
    let function = F::from_config(&config).await?;
    let function = &function;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(function.handle(request).await)
    }))
    .await
}
