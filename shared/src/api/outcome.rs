//! The end of every request: one response in the contract's shape, one log line.

use std::time::{Duration, Instant};

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use super::{ApiError, error_response, json_response};

/// Where a request spent its time, for its log line.
#[derive(Debug, Default)]
pub struct Timings {
    /// Time waiting on WeChat.
    pub wechat: Duration,
    /// Time waiting on DynamoDB.
    pub store: Duration,
}

/// Awaits `work`, adding its duration to `total`.
pub async fn timed<T>(total: &mut Duration, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let output = work.await;
    *total += started.elapsed();
    output
}

/// Turns a handler's outcome into its response and logs the request's one line: ids,
/// status, error code and latencies — never a body, a token or a key.
pub fn finish<T: Serialize>(
    route: &'static str,
    request_id: &str,
    started: Instant,
    timings: &Timings,
    outcome: &Result<T, ApiError>,
) -> Response<Body> {
    let response = match outcome {
        Ok(success) => json_response(StatusCode::OK, success, request_id),
        Err(err) => error_response(err, request_id),
    };
    tracing::info!(
        request_id = %request_id,
        route,
        status = response.status().as_u16(),
        error_code = outcome.as_ref().err().map(ApiError::code),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        wechat_ms = timings.wechat.as_secs_f64() * 1000.0,
        store_ms = timings.store.as_secs_f64() * 1000.0,
        "request done"
    );
    response
}
