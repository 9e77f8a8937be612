//! `me`: an example of a team's own route behind the wxlogin authorizer. `GET /me` answers
//! who is calling, as the authorizer told API Gateway: `{"appid", "openid", "unionid"?,
//! "phoneNumber"?}`. The token was checked before this function ran; it never sees it.
//! The route serves the mini-programs named in `APPIDS` (comma-separated): a session of
//! any other app of the stack gets 403.

use lambda_http::{Body, Error, Request, Response, service_fn};
use serde_json::{Value, json};
use wxlogin_caller::Caller;

/// The answer for one request: the caller; 403 for a session of an app this route does
/// not serve; a 500 naming what is missing when the route is deployed without the
/// authorizer (a wiring mistake, not the client's fault).
fn answer(request: &Request, apps: &[&str]) -> (u16, Value) {
    match Caller::from_request(request, apps) {
        // The caller serializes as the context it was read from.
        Ok(caller) => (200, json!(caller)),
        Err(refused) => {
            let error = if refused.status() == 403 {
                "wrong_app"
            } else {
                "no_caller"
            };
            (
                refused.status(),
                json!({ "error": error, "message": refused.to_string() }),
            )
        }
    }
}

/// `APPIDS`, read once: the apps this route serves.
fn served_apps() -> Result<Vec<String>, Error> {
    let apps: Vec<String> = std::env::var("APPIDS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|appid| !appid.is_empty())
        .map(str::to_owned)
        .collect();
    if apps.is_empty() {
        return Err("APPIDS (the appids this route serves, comma-separated) is not set".into());
    }
    Ok(apps)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let apps = served_apps()?;
    let apps: Vec<&str> = apps.iter().map(String::as_str).collect();
    let apps = &apps;
    lambda_http::run(service_fn(async |request: Request| me(&request, apps))).await
}

fn me(request: &Request, apps: &[&str]) -> Result<Response<Body>, Error> {
    let (status, body) = answer(request, apps);
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        // The answer is personal data.
        .header("cache-control", "no-store")
        .body(Body::from(body.to_string()))?)
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
            answer(
                &request(
                    json!({"lambda": {"appid": "wxA", "openid": "o1", "phoneNumber": "13800138000"}})
                ),
                &["wxA"]
            ),
            (
                200,
                json!({"appid": "wxA", "openid": "o1", "phoneNumber": "13800138000"})
            )
        );
    }

    #[test]
    fn says_what_is_missing_without_the_authorizer() {
        let (status, body) = answer(&request(json!({})), &["wxA"]);
        assert_eq!((status, body["error"].as_str()), (500, Some("no_caller")));
        assert!(
            body["message"].as_str().unwrap().contains("authorizer"),
            "{body}"
        );
    }

    #[test]
    fn refuses_a_session_of_another_app_with_403() {
        let (status, body) = answer(
            &request(json!({"lambda": {"appid": "wxB", "openid": "o1", "unionid": "u1"}})),
            &["wxA"],
        );
        assert_eq!((status, body["error"].as_str()), (403, Some("wrong_app")));
    }
}
