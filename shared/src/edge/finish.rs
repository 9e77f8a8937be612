//! The end of every request: one response in the contract's shape, one log line.

use std::time::Instant;

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use super::{ApiError, error_response, json_response};
use crate::telemetry::metrics::{self, RequestMetrics};
use crate::telemetry::timings::{Timings, Upstream};

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
    let app = timings.app();
    tracing::info!(
        request_id = %request_id,
        function = route.function,
        appid = app.as_deref(),
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
        app: app.as_deref(),
        failed_upstream: error
            .and_then(ApiError::failed_upstream)
            .map(Upstream::metric_value),
        wechat,
        store,
    });
    response
}
