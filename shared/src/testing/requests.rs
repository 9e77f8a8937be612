//! Requests as lambda_http hands them to a handler, for tests that call a route directly.

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt};

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

/// A request to the push URL of `appid`, as API Gateway hands it over: the path with its
/// `{appid}` parameter, the query, the body.
pub fn push_request(
    method: http::Method,
    appid: &str,
    query: &[(String, String)],
    body: impl Into<Body>,
) -> Request {
    let mut request = Request::new(body.into());
    *request.method_mut() = method;
    if let Ok(uri) = format!("/wechat/events/{appid}").parse() {
        *request.uri_mut() = uri;
    }
    let request =
        request.with_path_parameters(HashMap::from([("appid".to_owned(), appid.to_owned())]));
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    with_query(request, &query)
}
