//! HTTP routes on the one runner: API Gateway's HTTP API event in, the API's
//! response out, within the invocation's deadline.

use http::header::SET_COOKIE;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::lambda_runtime::{self, Diagnostic, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, RequestExt, Response};

use super::finish::Ending;
use super::runner::{Function, invocation, invocation_id, run};
use super::{ApiError, Reply, error_response, within_deadline};

/// An HTTP route: its function, and what the client is told when the deadline comes
/// while WeChat is being waited on (a login says its code may be spent).
#[derive(Debug)]
pub struct Route {
    /// The function serving it.
    pub function: Function,
    /// The error for a deadline reached while waiting on WeChat.
    pub deadline_on_wechat: ApiError,
}

/// Serves `route` with `serve` on the one runner: each event becomes a [`Request`],
/// each outcome an API response with a request id.
pub async fn run_http<T: Reply>(
    route: &'static Route,
    serve: impl AsyncFn(&Request) -> Result<T, ApiError>,
) -> Result<(), lambda_runtime::Error> {
    run(
        &route.function,
        async |event: LambdaEvent<LambdaRequest>| {
            // The runner settled the invocation's id in its context: one id for the log
            // line and x-request-id.
            let request_id = event.context.request_id.clone();
            let request = Request::from(event.payload).with_lambda_context(event.context);
            let (response, ending) = answer(route, &request, &request_id, &serve).await;
            (Ok::<_, Diagnostic>(http_api_response(response)), ending)
        },
    )
    .await
}

/// Serves one request as the deployed function does, minus the Lambda runtime: the log
/// line and metrics included. The fast tier and the in-process black-box tests drive
/// every route through this.
pub async fn respond<T: Reply>(
    route: &Route,
    request: Request,
    serve: impl AsyncFnOnce(&Request) -> Result<T, ApiError>,
) -> Response<Body> {
    let request_id = invocation_id(request.lambda_context_ref());
    invocation(
        &route.function,
        &request_id,
        answer(route, &request, &request_id, serve),
    )
    .await
}

async fn answer<T: Reply>(
    route: &Route,
    request: &Request,
    request_id: &str,
    serve: impl AsyncFnOnce(&Request) -> Result<T, ApiError>,
) -> (Response<Body>, Ending) {
    // Boxed: a route's future nests every layer below it (use-case, ports, SDK calls),
    // more than rustc's default recursion limit lets it lay out inline.
    let work = Box::pin(serve(request));
    let outcome = within_deadline(request, route.deadline_on_wechat.clone(), work).await;
    let (response, error) = match outcome {
        Ok(success) => (success.into_response(request_id), None),
        Err(err) => (error_response(&err, request_id), Some(err)),
    };
    let error = error.as_ref();
    let ending = Ending {
        outcome: error.map_or("ok", ApiError::code),
        error_code: error.map(ApiError::code),
        failed_upstream: error.and_then(ApiError::failed_upstream),
        http: Some((request.method().clone(), response.status().as_u16())),
    };
    (response, ending)
}

/// The HTTP API's (payload 2.0) response for `response`; cookies go where API Gateway
/// reads them.
fn http_api_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (mut parts, body) = response.into_parts();
    let cookies = parts
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect();
    parts.headers.remove(SET_COOKIE);
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.cookies = cookies;
    (answer.body, answer.is_base64_encoded) = match body {
        Body::Empty => (None, false),
        Body::Text(text) => (Some(Body::Text(text)), false),
        Body::Binary(bytes) => {
            use base64::Engine;
            let text = base64::engine::general_purpose::STANDARD.encode(bytes);
            (Some(Body::Text(text)), true)
        }
        _ => (None, false),
    };
    answer.headers = parts.headers;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::json_response;
    use http::StatusCode;

    #[test]
    fn a_response_becomes_the_http_apis_shape() {
        let mut response = json_response(StatusCode::CREATED, &serde_json::json!({"a": 1}), "r1");
        response
            .headers_mut()
            .append(SET_COOKIE, "a=1".parse().unwrap());
        let answer = serde_json::to_value(http_api_response(response)).unwrap();
        assert_eq!(answer["statusCode"], 201);
        assert_eq!(answer["body"], r#"{"a":1}"#);
        assert_eq!(answer["isBase64Encoded"], false);
        assert_eq!(answer["headers"]["x-request-id"], "r1");
        assert_eq!(answer["headers"]["cache-control"], "no-store");
        assert_eq!(answer["cookies"], serde_json::json!(["a=1"]));
        assert!(answer["headers"].get("set-cookie").is_none());
    }
}
