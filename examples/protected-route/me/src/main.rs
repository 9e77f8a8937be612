//! `me`: an example of a team's own route behind the wxlogin authorizer. `GET /me` answers
//! who is calling, as the authorizer told API Gateway: `{"appid", "openid", "unionid"?,
//! "phoneNumber"?}`. The token was checked before this function ran; it never sees it.

use lambda_http::{Body, Error, Request, Response, service_fn};
use serde_json::{Value, json};
use wxlogin_caller::Caller;

/// The answer for one request: the caller, or a 500 naming what is missing (a route
/// deployed without the authorizer is a wiring mistake, not the client's fault).
fn answer(request: &Request) -> (u16, Value) {
    match Caller::from_request(request) {
        // The caller serializes as the context it was read from.
        Ok(caller) => (200, json!(caller)),
        Err(missing) => (
            500,
            json!({ "error": "no_caller", "message": missing.to_string() }),
        ),
    }
}

async fn me(request: Request) -> Result<Response<Body>, Error> {
    let (status, body) = answer(&request);
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        // The answer is personal data.
        .header("cache-control", "no-store")
        .body(Body::from(body.to_string()))?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(me)).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn request(authorizer: Value) -> Request {
        wxlogin_caller::testing::request_behind_authorizer(authorizer)
    }

    #[test]
    fn answers_the_caller_from_the_authorizer_context() {
        assert_eq!(
            answer(&request(
                json!({"lambda": {"appid": "wxA", "openid": "o1", "phoneNumber": "13800138000"}})
            )),
            (
                200,
                json!({"appid": "wxA", "openid": "o1", "phoneNumber": "13800138000"})
            )
        );
    }

    #[test]
    fn says_what_is_missing_without_the_authorizer() {
        let (status, body) = answer(&request(json!({})));
        assert_eq!((status, body["error"].as_str()), (500, Some("no_caller")));
        assert!(
            body["message"].as_str().unwrap().contains("authorizer"),
            "{body}"
        );
    }
}
