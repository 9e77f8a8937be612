//! Requests as lambda_http hands them to a handler, for tests that call a route directly.

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt};
use serde_json::{Value, json};

/// A `POST` request with `body`, as lambda_http would hand it to a handler.
pub fn post(body: impl Into<Body>) -> Request {
    let mut request = Request::new(body.into());
    *request.method_mut() = http::Method::POST;
    request
}

/// A `POST` request with `body` and `Authorization: Bearer <token>`.
pub fn post_with_bearer(token: &str, body: impl Into<Body>) -> Request {
    with_bearer(token, post(body))
}

/// `request` with these query parameters (repeated keys kept), as API Gateway passes them.
pub fn with_query(request: Request, query: &[(&str, &str)]) -> Request {
    let mut parameters: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in query {
        parameters
            .entry((*key).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    request.with_query_string_parameters(parameters)
}

/// A bodiless request with `method` and `Authorization: Bearer <token>`.
pub fn bearer_request(method: http::Method, token: &str) -> Request {
    let mut request = Request::new(Body::Empty);
    *request.method_mut() = method;
    with_bearer(token, request)
}

fn with_bearer(token: &str, mut request: Request) -> Request {
    if let Ok(value) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
    }
    request
}

/// A `GET /me` request as API Gateway hands it to a route behind a Lambda authorizer:
/// `authorizer` is `requestContext.authorizer` (`{"lambda": {…}}` for ours).
///
/// # Panics
/// If lambda_http cannot read the event (it always can: the shape is API Gateway's).
pub fn request_behind_authorizer(authorizer: Value) -> Request {
    let event = json!({
        "version": "2.0", "routeKey": "GET /me", "rawPath": "/me", "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "accountId": "123", "apiId": "api", "domainName": "d", "domainPrefix": "d",
            "http": {"method": "GET", "path": "/me", "protocol": "HTTP/1.1",
                     "sourceIp": "1.2.3.4", "userAgent": "t"},
            "requestId": "r", "routeKey": "GET /me", "stage": "$default",
            "time": "26/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
            "authorizer": authorizer
        },
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string())
        .unwrap_or_else(|err| panic!("an API Gateway v2 event: {err}"))
}
