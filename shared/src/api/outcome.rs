//! The end of every request: one response in the contract's shape, one log line.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::{ApiError, error_response, json_response};
use crate::telemetry::metrics::{self, RequestMetrics};

/// An upstream a request waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// api.weixin.qq.com.
    WeChat,
    /// DynamoDB.
    Store,
}

/// Where a request spent its time, which upstream it is waiting on right now, and what
/// kind of request it turned out to be: for its log line, its metrics, and for blaming the
/// right upstream when the deadline cuts a wait short.
///
/// Shared by reference (a lock held only between awaits), so one wait can be timed deep
/// inside a call that another wait does not cover: the access-token cache's DynamoDB reads
/// count as store time even inside a WeChat exchange.
#[derive(Debug, Default)]
pub struct Timings(Mutex<TimingsState>);

#[derive(Debug, Default)]
struct TimingsState {
    wechat: Duration,
    store: Duration,
    in_flight: Option<(Upstream, Instant)>,
    kind: Option<&'static str>,
}

impl Upstream {
    /// Its value of the metrics' `Upstream` dimension.
    pub fn metric_value(self) -> &'static str {
        match self {
            Self::WeChat => metrics::WECHAT,
            Self::Store => metrics::DYNAMODB,
        }
    }
}

impl Timings {
    fn state(&self) -> MutexGuard<'_, TimingsState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Awaits `work`, a call to `upstream`, adding its duration to that upstream's total.
    pub async fn wait<T>(&self, upstream: Upstream, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        self.state().in_flight = Some((upstream, started));
        let output = work.await;
        let mut state = self.state();
        state.in_flight = None;
        *state.total(upstream) += started.elapsed();
        output
    }

    /// Records the value of the function's kind dimension (the phone form, the session
    /// action), once the request is parsed that far.
    pub fn set_kind(&self, kind: &'static str) {
        self.state().kind = Some(kind);
    }

    /// The kind set by [`Timings::set_kind`], if any.
    pub fn kind(&self) -> Option<&'static str> {
        self.state().kind
    }

    /// The upstream a wait is still open on (the deadline cut it short).
    pub fn in_flight(&self) -> Option<Upstream> {
        self.state().in_flight.map(|(upstream, _)| upstream)
    }

    /// Time spent waiting on `upstream`, an unfinished wait included.
    pub fn total(&self, upstream: Upstream) -> Duration {
        let mut state = self.state();
        let open = match state.in_flight {
            Some((waiting, started)) if waiting == upstream => started.elapsed(),
            _ => Duration::ZERO,
        };
        *state.total(upstream) + open
    }
}

impl TimingsState {
    fn total(&mut self, upstream: Upstream) -> &mut Duration {
        match upstream {
            Upstream::WeChat => &mut self.wechat,
            Upstream::Store => &mut self.store,
        }
    }
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

/// Answer this long before Lambda's deadline, so the client gets the contract's 503
/// rather than API Gateway's own error when every upstream is slow at once.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1000);
/// The budget when there is no Lambda context (direct calls in tests and tools).
const DEFAULT_BUDGET: Duration = Duration::from_secs(25);

/// Runs `work` within the invocation's deadline; past it, 503 for the upstream that was
/// being waited on (`store_unavailable` for DynamoDB, else `wechat_unavailable`, whose
/// advice — a fresh `wx.login` and a retry — holds either way).
pub async fn within_deadline<T>(
    request: &Request,
    timings: &Timings,
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
            let waiting_on = timings.in_flight();
            tracing::warn!(
                budget_ms = budget.as_millis() as u64,
                waiting_on = ?waiting_on,
                "request deadline reached"
            );
            Err(match waiting_on {
                Some(Upstream::Store) => ApiError::StoreUnavailable,
                Some(Upstream::WeChat) | None => ApiError::WeChatUnavailable,
            })
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
    let (wechat, store) = (
        timings.total(Upstream::WeChat),
        timings.total(Upstream::Store),
    );
    tracing::info!(
        request_id = %request_id,
        function = route.function,
        route = %format_args!("{} {}", route.method, route.path),
        status = response.status().as_u16(),
        error_code = error.map(ApiError::code),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        wechat_ms = wechat.as_secs_f64() * 1000.0,
        store_ms = store.as_secs_f64() * 1000.0,
        "request done"
    );
    metrics::record_request(&RequestMetrics {
        function: route.function,
        metric: route.outcome_metric,
        kind: route
            .kind_dimension
            .map(|dimension| (dimension, timings.kind().unwrap_or("unknown"))),
        outcome: error.map_or("ok", ApiError::code),
        failed_upstream: error
            .and_then(ApiError::failed_upstream)
            .map(Upstream::metric_value),
        wechat,
        store,
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
        let timings = Timings::default();
        let outcome: Result<(), ApiError> = within_deadline(&request, &timings, async {
            timings
                .wait(
                    Upstream::WeChat,
                    tokio::time::sleep(Duration::from_secs(10)),
                )
                .await;
            Ok(())
        })
        .await;
        assert_eq!(outcome, Err(ApiError::WeChatUnavailable));
        assert!(timings.total(Upstream::WeChat) >= Duration::from_millis(250));
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_deadline_reached_while_waiting_on_dynamodb_blames_the_store() {
        let request = request_with_deadline_in(1_200);
        let timings = Timings::default();
        let outcome: Result<(), ApiError> = within_deadline(&request, &timings, async {
            timings.wait(Upstream::WeChat, async {}).await;
            timings
                .wait(Upstream::Store, tokio::time::sleep(Duration::from_secs(10)))
                .await;
            Ok(())
        })
        .await;
        assert_eq!(outcome, Err(ApiError::StoreUnavailable));
        assert_eq!(timings.in_flight(), Some(Upstream::Store));
        assert!(timings.total(Upstream::Store) > timings.total(Upstream::WeChat));
    }

    #[tokio::test]
    async fn work_within_the_deadline_is_untouched() {
        let request = request_with_deadline_in(5_000);
        let timings = Timings::default();
        let outcome = within_deadline(&request, &timings, async { Ok::<_, ApiError>(7) }).await;
        assert_eq!(outcome, Ok(7));
        assert_eq!(timings.in_flight(), None);
    }

    #[tokio::test]
    async fn waits_add_up_per_upstream() {
        let timings = Timings::default();
        for _ in 0..2 {
            timings
                .wait(
                    Upstream::Store,
                    tokio::time::sleep(Duration::from_millis(5)),
                )
                .await;
        }
        assert!(timings.total(Upstream::Store) >= Duration::from_millis(10));
        assert_eq!(timings.total(Upstream::WeChat), Duration::ZERO);
        assert_eq!(timings.in_flight(), None);
    }
}
