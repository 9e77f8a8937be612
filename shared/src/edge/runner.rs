//! The one runner every binary's `main` ends in, HTTP routes and the authorizer alike:
//! init once, then one invocation at a time, each ending in one log line and its metrics
//! ([`finish`](super::finish)).

use std::sync::Arc;
use std::time::Instant;

use lambda_http::lambda_runtime::{self, Context, Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::finish::{Ending, finish};
use crate::adapters::dynamodb::DynamoTable;
use crate::adapters::stack_key::StackKeySource;
use crate::adapters::wechat::{ClientBuildError, WeChatClient};
use crate::config::{Config, ConfigError, NO_APP};
use crate::telemetry::current::RequestRecord;
use crate::telemetry::{self, metrics};
use crate::usecases::{Apps, ClientLimit, Login};

/// A Lambda function as its log lines and metrics name it.
#[derive(Debug)]
pub struct Function {
    /// The binary's name: the log lines' `function`, the `Function` dimension.
    pub name: &'static str,
    /// The path an HTTP function serves, as API Gateway routes it (`/onlogin`).
    pub path: Option<&'static str>,
    /// The metric counting its invocations by `Outcome` (docs/operations.md).
    pub outcome_metric: &'static str,
    /// A second dimension of that metric, whose value the request sets with
    /// [`set_kind`](crate::telemetry::current::set_kind) (`unknown` when it failed first).
    pub kind_dimension: Option<&'static str>,
}

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

/// Starts `function`: logs and metrics, then `build` (config → clients → use-case). A
/// failure ends init with an error line naming what to fix (Lambda shows it and marks
/// the init failed), never a panic.
pub async fn init<T>(
    function: &Function,
    build: impl Future<Output = Result<T, InitError>>,
) -> Result<T, InitError> {
    telemetry::init(function.name);
    build.await.inspect_err(|err| {
        tracing::error!(function = function.name, error = %err, "init failed");
    })
}

/// A WeChat client for each app `config` names, sharing one connection pool; also tells
/// the metrics how many apps there are (an `AppId` dimension only for several).
pub fn wechat_apps(config: &Config) -> Result<Apps<WeChatClient>, InitError> {
    metrics::track_apps(config.apps.len());
    // Config never holds an empty list; the error keeps that promise checked, not assumed.
    Ok(Apps::new(WeChatClient::for_each_app(config)?).ok_or(ConfigError::Missing(NO_APP))?)
}

/// The login use-case as `config` sets it up, over `table` and `apps`: the stack key,
/// the session lifetime and cap, the inactivity expiry and the per-client limit. One
/// place, for onlogin's composition root and the test stacks that mirror it.
pub fn login_service(
    config: &Config,
    table: DynamoTable,
    apps: Apps<WeChatClient>,
) -> Result<Login<DynamoTable, WeChatClient, StackKeySource>, InitError> {
    let stack_keys = StackKeySource::new(config.stack_key_for_login()?);
    Ok(Login::new(table, apps, stack_keys, config.session_ttl)
        .keeping_inactive_users_for(config.user_inactivity)
        .with_session_cap(config.max_sessions_per_user)
        .with_client_limit(
            config
                .quotas
                .failed_logins_per_client_per_minute
                .map(ClientLimit::new),
        )
        .with_risk_check(config.risk_policy))
}

/// Serves `function`'s invocations with `handler`, one at a time, until Lambda stops the
/// instance. Each invocation gets a fresh [`RequestRecord`], then one log line and its
/// metrics, flushed before the answer goes back (Lambda may freeze the instance right
/// after).
pub async fn run<E, R>(
    function: &'static Function,
    handler: impl AsyncFn(LambdaEvent<E>) -> (Result<R, Diagnostic>, Ending),
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned,
    R: Serialize,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        // Boxed: the runtime's service layers would otherwise nest the handler's future
        // deeper than rustc's default recursion limit lets it compute its layout.
        Box::pin(async move {
            // One id for the log line and the handler (an HTTP route's x-request-id).
            let mut event = event;
            event.context.request_id = invocation_id(Some(&event.context));
            let request_id = event.context.request_id.clone();
            invocation(function, &request_id, handler(event)).await
        })
    }))
    .await
}

/// One invocation of `function`: `work` runs with its own [`RequestRecord`], then the
/// log line and metrics are written from what it recorded and how it ended.
pub(super) async fn invocation<R>(
    function: &Function,
    request_id: &str,
    work: impl Future<Output = (R, Ending)>,
) -> R {
    let started = Instant::now();
    let record = Arc::new(RequestRecord::default());
    let (answer, ending) = record.scope(work).await;
    finish(function, request_id, started, &record, &ending);
    metrics::flush();
    answer
}

/// Lambda's request id, or a random one where there is none (tools, direct calls).
pub(super) fn invocation_id(context: Option<&Context>) -> String {
    context
        .map(|context| context.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 16];
            match getrandom::fill(&mut bytes) {
                Ok(()) => hex::encode(bytes),
                Err(_) => "unavailable".to_owned(),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocation_ids_are_lambdas_or_fresh_random_ones() {
        let mut context = Context::default();
        context.request_id = "abc".to_owned();
        assert_eq!(invocation_id(Some(&context)), "abc");
        context.request_id.clear();
        let fresh = invocation_id(Some(&context));
        assert_eq!(fresh.len(), 32);
        assert_ne!(fresh, invocation_id(None));
    }
}
