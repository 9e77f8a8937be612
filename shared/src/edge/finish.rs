//! The end of every invocation, HTTP or authorizer: one log line and its metrics.

use std::time::Instant;

use super::runner::Function;
use crate::telemetry::current::{RequestRecord, Upstream};
use crate::telemetry::metrics::{self, RequestMetrics};

/// How one invocation ended, as its log line and metrics tell it.
#[derive(Debug, Clone)]
pub struct Ending {
    /// `ok` or the API's error code (HTTP); `allow`, `deny` or `error` (authorizer).
    pub outcome: &'static str,
    /// The API's error code, when the invocation failed.
    pub error_code: Option<&'static str>,
    /// The upstream whose failure failed the invocation, if one did.
    pub failed_upstream: Option<Upstream>,
    /// The HTTP method and status, for an HTTP route.
    pub http: Option<(http::Method, u16)>,
}

/// Logs the invocation's one line (ids, route, status, outcome, latencies — never a body,
/// a token or a key) and records its metrics.
pub(super) fn finish(
    function: &Function,
    request_id: &str,
    started: Instant,
    record: &RequestRecord,
    ending: &Ending,
) {
    let (wechat, store) = (
        record.total(Upstream::WeChat),
        record.total(Upstream::Store),
    );
    let app = record.app();
    let route = ending
        .http
        .as_ref()
        .zip(function.path)
        .map(|((method, _), path)| tracing::field::display(RouteLabel(method, path)));
    tracing::info!(
        request_id = %request_id,
        function = function.name,
        appid = app.as_deref(),
        route,
        status = ending.http.as_ref().map(|(_, status)| *status),
        outcome = ending.outcome,
        error_code = ending.error_code,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        wechat_ms = wechat.as_secs_f64() * 1000.0,
        store_ms = store.as_secs_f64() * 1000.0,
        "request done"
    );
    metrics::record_request(&RequestMetrics {
        function: function.name,
        metric: function.outcome_metric,
        kind: function
            .kind_dimension
            .map(|dimension| (dimension, record.kind().unwrap_or("unknown"))),
        outcome: ending.outcome,
        app: app.as_deref(),
        failed_upstream: ending.failed_upstream.map(Upstream::metric_value),
        wechat,
        store,
    });
}

/// `POST /onlogin`, written straight into the log line (no string built per request).
struct RouteLabel<'a>(&'a http::Method, &'static str);

impl std::fmt::Display for RouteLabel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}
