//! What WeChat knows about a user, through the handlers with real DynamoDB Local and the
//! sandbox over HTTP: a real-time phone verification recorded as such and visible to a
//! route through the authorizer; the risk rank at sign-up recorded, enforced, and never
//! failing a login when WeChat cannot answer.

use std::time::Duration;

use devkit::stack::{TestResponse, TestStack, assert_error, bearer_request, post_with_bearer};
use http::Method;
use serde_json::{Value, json};
use wxlogin::config::AuthorizerConfig;
use wxlogin::domain::{RiskPolicy, RiskRank};
use wxlogin::edge::authorizer::{AuthorizerEvent, authorize};
use wxlogin::testing::ServeHttp;
use wxlogin::usecases::Authorize;
use wxlogin_caller::Caller;

fn enforce() -> RiskPolicy {
    RiskPolicy::Enforce {
        threshold: RiskRank::HIGHEST,
    }
}

/// `/onlogin` for a fresh sandbox user, on a stack checking risk under `policy`, after
/// `before` set up the sandbox for that user's openid.
async fn sign_up(
    stack: &TestStack,
    policy: RiskPolicy,
    before: impl AsyncFnOnce(&str),
) -> (TestResponse, Value) {
    let user = stack.sandbox_login(json!({})).await.unwrap();
    before(user["openid"].as_str().unwrap()).await;
    let mut config = stack.config();
    config.risk_policy = policy;
    let login = stack.login_service_with(config).await.unwrap();
    // As API Gateway hands it over: with the client's address, which WeChat requires.
    let body = json!({ "code": user["code"] }).to_string();
    let event = devkit::apigw::http_event("POST", "/onlogin", Some(&body), &[]);
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let answer = TestResponse::from_response(login.handle(request).await).unwrap();
    (answer, user)
}

async fn session_of(stack: &TestStack, token: &str) -> Value {
    let sessions = stack.session_service().await.unwrap();
    let answer =
        TestResponse::from_response(sessions.handle(bearer_request(Method::GET, token)).await)
            .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.json
}

#[tokio::test]
async fn a_realtime_verification_is_recorded_and_a_route_sees_it_through_the_authorizer() {
    let stack = TestStack::start().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let button = stack
        .sandbox_phone(
            json!({ "openid": user["openid"], "phoneNumber": "13800138000", "realtime": true }),
        )
        .await
        .unwrap();
    let phones = stack.phone_service().await.unwrap();
    let body = json!({ "code": button["code"], "realtime": true }).to_string();
    let verified =
        TestResponse::from_response(phones.handle(post_with_bearer(&token, body)).await).unwrap();
    assert_eq!(verified.status, 200, "{}", verified.json);
    assert_eq!(
        session_of(&stack, &token).await["phone_verified_by"],
        "realtime"
    );

    let config = AuthorizerConfig::from_lookup(|name| {
        stack
            .function_env()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    })
    .unwrap();
    let authorizer = Authorize::new(stack.store(), config.appids).with_routes(config.routes);
    let event = AuthorizerEvent {
        headers: [("authorization".to_owned(), format!("Bearer {token}"))].into(),
        identity_source: None,
        route_key: Some("POST /payout".to_owned()),
    };
    let answer = authorize(&authorizer, &event).await.unwrap();
    assert!(answer.is_authorized);
    // What API Gateway hands the route: the context under requestContext.authorizer.lambda.
    let context = serde_json::to_value(answer.context.unwrap()).unwrap();
    assert_eq!(context["phoneVerifiedBy"], "realtime");
    let request = wxlogin_caller::testing::request_behind_authorizer(json!({ "lambda": context }));
    let caller = Caller::from_request_of_any_app(&request).unwrap();
    assert!(caller.phone_checked_in_realtime_within(Duration::from_secs(300)));

    // A later quick verification replaces it: the route's demand is no longer met.
    let quick = stack
        .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": "13800138000" }))
        .await
        .unwrap();
    let body = json!({ "code": quick["code"] }).to_string();
    phones.handle(post_with_bearer(&token, body)).await;
    let answer = authorize(&authorizer, &event).await.unwrap();
    assert_eq!(
        answer.context.unwrap().phone_verified_by.as_deref(),
        Some("code")
    );
}

#[tokio::test]
async fn enforce_refuses_a_rank_four_sign_up_and_admits_rank_zero() {
    let stack = TestStack::start().await.unwrap();
    let (refused, _) = sign_up(&stack, enforce(), async |openid| {
        stack
            .sandbox_risk(json!({ "openid": openid, "rank": 4 }))
            .await
            .unwrap();
    })
    .await;
    assert_error(&refused, 403, "risky_user");

    let (admitted, _) = sign_up(&stack, enforce(), async |_| {}).await;
    assert_eq!(admitted.status, 200, "{}", admitted.json);
    let token = admitted.json["token"].as_str().unwrap();
    assert_eq!(session_of(&stack, token).await["risk_rank"], 0);
    assert_eq!(stack.wechat_calls("getuserriskrank").await.unwrap(), 2);
}

#[tokio::test]
async fn record_keeps_the_rank_without_refusing() {
    let stack = TestStack::start().await.unwrap();
    let (answer, _) = sign_up(&stack, RiskPolicy::Record, async |openid| {
        stack
            .sandbox_risk(json!({ "openid": openid, "rank": 4 }))
            .await
            .unwrap();
    })
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let token = answer.json["token"].as_str().unwrap();
    assert_eq!(session_of(&stack, token).await["risk_rank"], 4);
}

#[tokio::test]
async fn risk_rank_outages_and_not_enabled_never_fail_a_login() {
    let stack = TestStack::start().await.unwrap();
    for (case, setup) in [
        (
            "busy",
            json!({"api": "getuserriskrank", "errcode": -1, "times": 2}),
        ),
        (
            "openid timed out",
            json!({"api": "getuserriskrank", "errcode": 61010, "times": 1}),
        ),
        (
            "garbage",
            json!({"api": "getuserriskrank", "body": "<html>", "times": 1}),
        ),
        // Past the check's 3 s budget: the login goes on without waiting for the answer.
        (
            "slow",
            json!({"api": "getuserriskrank", "delay_ms": 6000, "times": 1}),
        ),
        ("not enabled", json!({"enabled": false})),
    ] {
        let (answer, _) = sign_up(&stack, enforce(), async |openid| {
            stack
                .sandbox_risk(json!({ "openid": openid, "rank": 4 }))
                .await
                .unwrap();
            if setup.get("api").is_some() {
                stack.sandbox_fault(setup.clone()).await.unwrap();
            } else {
                stack.sandbox_risk(setup.clone()).await.unwrap();
            }
        })
        .await;
        assert_eq!(answer.status, 200, "{case}: {}", answer.json);
        let token = answer.json["token"].as_str().unwrap();
        assert_eq!(
            session_of(&stack, token).await.get("risk_rank"),
            None,
            "{case}: nothing recorded"
        );
        stack.sandbox_risk(json!({"enabled": true})).await.unwrap();
    }
}
