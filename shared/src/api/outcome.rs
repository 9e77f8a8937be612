//! The end of every request: one response in the contract's shape, one log line.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::{ApiError, error_response, json_response};
use crate::telemetry::metrics::{self, RequestMetrics};

/// Where a request spent its time, and what kind of request it turned out to be, for its
/// log line and metrics.
#[derive(Debug, Default)]
pub struct Timings {
    /// Time waiting on WeChat.
    pub wechat: Duration,
    /// Time waiting on DynamoDB.
    pub store: Duration,
    /// The value of the function's kind dimension (the phone form, the session action),
    /// once the request is parsed that far.
    pub kind: Option<&'static str>,
}

/// What `finish` needs to know about the function that served a request.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo<'a> {
    /// The function's name.
    pub function: &'static str,
    /// The request's method.
    pub method: &'a str,
    /// The path the function serves.
    pub path: &'static str,
    /// The function's outcome metric.
    pub outcome_metric: &'static str,
    /// The function's kind dimension, if it has one.
    pub kind_dimension: Option<&'static str>,
}

/// Awaits `work`, adding its duration to `total`.
pub async fn timed<T>(total: &mut Duration, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let output = work.await;
    *total += started.elapsed();
    output
}

/// Answer this long before Lambda's deadline, so the client gets the contract's 503
/// rather than API Gateway's own error when every upstream is slow at once.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1000);
/// The budget when there is no Lambda context (direct calls in tests and tools).
const DEFAULT_BUDGET: Duration = Duration::from_secs(25);

/// Runs `work` within the invocation's deadline; past it, 503 `wechat_unavailable`
/// (whose advice, a fresh `wx.login` and a retry, holds whichever upstream was slow).
pub async fn within_deadline<T>(
    request: &Request,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let budget = request
        .lambda_context_ref()
        .and_then(|context| {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_millis();
            let left_ms = u128::from(context.deadline).checked_sub(now_ms)?;
            Duration::from_millis(u64::try_from(left_ms).ok()?).checked_sub(DEADLINE_MARGIN)
        })
        .unwrap_or(DEFAULT_BUDGET);
    match tokio::time::timeout(budget, work).await {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::warn!(
                budget_ms = budget.as_millis() as u64,
                "request deadline reached"
            );
            Err(ApiError::WeChatUnavailable)
        }
    }
}

/// Turns a handler's outcome into its response, logs the request's one line (ids, route,
/// status, error code, latencies — never a body, a token or a key) and records its metrics.
pub fn finish<T: Serialize>(
    route: &RouteInfo<'_>,
    request_id: &str,
    started: Instant,
    timings: &Timings,
    outcome: &Result<T, ApiError>,
) -> Response<Body> {
    let response = match outcome {
        Ok(success) => json_response(StatusCode::OK, success, request_id),
        Err(err) => error_response(err, request_id),
    };
    let error = outcome.as_ref().err();
    tracing::info!(
        request_id = %request_id,
        function = route.function,
        route = %format_args!("{} {}", route.method, route.path),
        status = response.status().as_u16(),
        error_code = error.map(ApiError::code),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        wechat_ms = timings.wechat.as_secs_f64() * 1000.0,
        store_ms = timings.store.as_secs_f64() * 1000.0,
        "request done"
    );
    metrics::record_request(&RequestMetrics {
        function: route.function,
        metric: route.outcome_metric,
        kind: route
            .kind_dimension
            .map(|dimension| (dimension, timings.kind.unwrap_or("unknown"))),
        outcome: error.map_or("ok", ApiError::code),
        failed_upstream: error.and_then(ApiError::failed_upstream),
        wechat: timings.wechat,
        store: timings.store,
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Context;

    fn request_with_deadline_in(ms: u64) -> Request {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let mut context = Context::default();
        context.deadline = u64::try_from(now_ms).unwrap() + ms;
        Request::default().with_lambda_context(context)
    }

    #[tokio::test]
    async fn work_past_the_deadline_answers_503_a_second_early() {
        let request = request_with_deadline_in(1_300);
        let started = Instant::now();
        let outcome: Result<(), ApiError> = within_deadline(&request, async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        })
        .await;
        assert_eq!(outcome, Err(ApiError::WeChatUnavailable));
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn work_within_the_deadline_is_untouched() {
        let request = request_with_deadline_in(5_000);
        let outcome = within_deadline(&request, async { Ok::<_, ApiError>(7) }).await;
        assert_eq!(outcome, Ok(7));
    }
}
