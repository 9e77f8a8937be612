//! Building responses: JSON, a request id on every one, never cached.

use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::ApiError;

/// Header carrying the request id, also logged with the request's log line.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What a route answers with when it succeeds: JSON for every serializable body, or
/// [`PlainText`].
pub trait Reply {
    /// The 200 response carrying this answer.
    fn into_response(self, request_id: &str) -> Response<Body>;
}

impl<T: Serialize> Reply for T {
    fn into_response(self, request_id: &str) -> Response<Body> {
        json_response(StatusCode::OK, &self, request_id)
    }
}

/// A plain-text answer: what WeChat's push URL must echo (`echostr`, `success`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainText(pub String);

impl Reply for PlainText {
    fn into_response(self, request_id: &str) -> Response<Body> {
        let mut response = Response::new(Body::Text(self.0));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert(REQUEST_ID_HEADER, value);
        }
        response
    }
}

/// A JSON response with `status`.
pub fn json_response(
    status: StatusCode,
    body: &impl Serialize,
    request_id: &str,
) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| {
        // Our response types always serialize; keep the API's shape even so.
        r#"{"error":"internal_error","message":"response could not be encoded"}"#.to_owned()
    });
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Responses carry tokens and personal data: no proxy or client cache may keep them.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

/// The API's `{"error", "message"}` body with the error's status and headers.
pub fn error_response(err: &ApiError, request_id: &str) -> Response<Body> {
    let body = ErrorBody {
        error: err.code(),
        message: err.to_string(),
    };
    let mut response = json_response(err.status(), &body, request_id);
    if let Some(seconds) = err.retry_after_seconds() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if *err == ApiError::InvalidToken {
        // RFC 6750: say which scheme the client must use.
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
    }
    if let ApiError::MethodNotAllowed { allow } = err {
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn errors_have_the_documented_shape_and_headers() {
        let response = error_response(
            &ApiError::RateLimited {
                retry_after_seconds: 60,
            },
            "req-1",
        );
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[RETRY_AFTER], "60");
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "req-1");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body = body_json(&response);
        assert_eq!(body["error"], "rate_limited");
        assert!(body["message"].as_str().unwrap().contains("60"));
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let response = error_response(
            &ApiError::MethodNotAllowed {
                allow: "GET, DELETE",
            },
            "r",
        );
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[http::header::ALLOW], "GET, DELETE");
    }
}
