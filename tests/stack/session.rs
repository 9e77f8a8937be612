//! `GET /session` and `DELETE /session` through the handler, with real DynamoDB Local and
//! the WeChat sandbox over HTTP.

use std::time::Duration;

use devkit::stack::{
    TestResponse, TestStack, assert_error, bearer_request, post_with_bearer, wechat_fault_table,
    with_query,
};
use http::Method;
use lambda_http::{Body, Request, RequestExt};
use serde_json::json;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::testing::ServeHttp;
use wxlogin::usecases::SessionQueries;

/// A base64 session_key WeChat never issued, to play a key rotation.
const ROTATED_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAA==";

async fn call(
    service: &SessionQueries<DynamoTable, WeChatClient>,
    request: Request,
) -> TestResponse {
    // Boxed: a test awaiting many handler futures inline overflows a test thread's stack.
    TestResponse::from_response(service.handle(request).await).unwrap()
}

fn get(token: &str, query: &[(&str, &str)]) -> Request {
    with_query(bearer_request(Method::GET, token), query)
}

fn check_wechat(token: &str) -> Request {
    get(token, &[("check", "wechat")])
}

/// How many session items the table holds (code claims and the access token aside).
async fn session_items(stack: &TestStack) -> usize {
    stack
        .items()
        .await
        .unwrap()
        .iter()
        .filter(|item| item["pk"].as_s().unwrap().starts_with("session#"))
        .count()
}

#[tokio::test]
async fn get_says_who_the_token_belongs_to_and_for_how_long() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (token, user) = stack
        .logged_in_user(json!({ "unionid": "ocMvos6NjeKLIBqg5Mr9QjxrP1FA" }))
        .await
        .unwrap();

    let response = call(&service, get(&token, &[])).await;
    assert_eq!(response.status, 200, "{:?}", response.json);
    assert_eq!(response.json["openid"], user["openid"]);
    assert_eq!(response.json["unionid"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
    let expires_in = response.json["expires_in"].as_u64().unwrap();
    assert!((7_190..=7_200).contains(&expires_in), "{expires_in}");
    assert_eq!(response.json["appid"], devkit::stack::TEST_APPID);
    assert_eq!(
        response.json.as_object().unwrap().len(),
        4,
        "appid, openid, unionid, expires_in and nothing else: {:?}",
        response.json
    );
    assert_eq!(response.headers["cache-control"], "no-store");
    assert_eq!(stack.wechat_calls("checksession").await.unwrap(), 0);

    let (plain_token, _) = stack.logged_in_user(json!({})).await.unwrap();
    let plain = call(&service, get(&plain_token, &[])).await;
    assert_eq!(plain.status, 200);
    assert!(plain.json.get("unionid").is_none(), "{:?}", plain.json);
}

#[tokio::test]
async fn check_wechat_passes_while_the_key_is_current_and_422_once_it_rotated() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();

    for _ in 0..2 {
        let response = call(&service, check_wechat(&token)).await;
        assert_eq!(response.status, 200, "{:?}", response.json);
        assert_eq!(response.json["openid"], user["openid"]);
    }
    assert_eq!(stack.wechat_calls("checksession").await.unwrap(), 2);
    assert_eq!(
        stack.wechat_calls("stable_token").await.unwrap(),
        1,
        "one access token serves both checks"
    );

    // The user logged in again elsewhere: WeChat now holds another key.
    stack
        .sandbox_login(json!({ "openid": user["openid"], "session_key": ROTATED_KEY }))
        .await
        .unwrap();
    assert_error(
        &call(&service, check_wechat(&token)).await,
        422,
        "session_key_mismatch",
    );
    // Who the user is has not changed: without the check the session still answers.
    assert_eq!(call(&service, get(&token, &[])).await.status, 200);
}

#[tokio::test]
async fn a_rejected_access_token_is_refreshed_once_for_the_check() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();
    assert_eq!(call(&service, check_wechat(&token)).await.status, 200);

    stack
        .sandbox_fault(json!({ "api": "checksession", "errcode": 40001, "times": 1 }))
        .await
        .unwrap();
    assert_eq!(call(&service, check_wechat(&token)).await.status, 200);
    assert_eq!(stack.wechat_calls("checksession").await.unwrap(), 3);
    assert_eq!(stack.wechat_calls("stable_token").await.unwrap(), 1 + 2);
}

#[tokio::test]
async fn check_wechat_upstream_failures_follow_the_table() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();
    for (fault, status, code) in wechat_fault_table() {
        let mut fault = fault;
        fault["api"] = json!("checksession");
        stack.sandbox_fault(fault.clone()).await.unwrap();
        assert_error(&call(&service, check_wechat(&token)).await, status, code);
    }
    // A busy answer once is retried and passes.
    stack
        .sandbox_fault(json!({ "api": "checksession", "errcode": -1, "times": 1 }))
        .await
        .unwrap();
    assert_eq!(call(&service, check_wechat(&token)).await.status, 200);
}

#[tokio::test]
async fn delete_logs_out_at_once_everywhere() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let phone_service = stack.phone_service().await.unwrap();
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();
    let (other_token, other) = stack.logged_in_user(json!({})).await.unwrap();

    let response = call(&service, bearer_request(Method::DELETE, &token)).await;
    assert_eq!(response.status, 200, "{:?}", response.json);
    assert_eq!(response.json, json!({ "logged_out": true }));

    assert_error(
        &call(&service, get(&token, &[])).await,
        401,
        "invalid_token",
    );
    let phone = TestResponse::from_response(
        phone_service
            .handle(post_with_bearer(&token, r#"{"code":"abc"}"#))
            .await,
    )
    .unwrap();
    assert_error(&phone, 401, "invalid_token");
    assert_error(
        &call(&service, bearer_request(Method::DELETE, &token)).await,
        401,
        "invalid_token",
    );

    // Only that session went: the other user is still logged in, and theirs is the only
    // session item left.
    let response = call(&service, get(&other_token, &[])).await;
    assert_eq!(response.json["openid"], other["openid"]);
    assert_eq!(session_items(&stack).await, 1);
}

#[tokio::test]
async fn missing_malformed_unknown_and_expired_tokens_are_401_on_both_methods() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (_, user) = stack.logged_in_user(json!({})).await.unwrap();
    let expired = stack.expired_session(&user).await.unwrap();
    let unknown = wxlogin::testing::unknown_token();

    for method in [Method::GET, Method::DELETE] {
        let mut bare = Request::new(Body::Empty);
        *bare.method_mut() = method.clone();
        for request in [
            bare,
            bearer_request(method.clone(), "not-a-token"),
            bearer_request(method.clone(), unknown.expose()),
            bearer_request(method.clone(), expired.expose()),
        ] {
            let response = call(&service, request).await;
            assert_error(&response, 401, "invalid_token");
            assert_eq!(response.headers["www-authenticate"], "Bearer");
        }
    }
    assert_eq!(
        session_items(&stack).await,
        1,
        "the expired session was cleared by its DELETE; the live one stays"
    );
}

#[tokio::test]
async fn other_methods_and_unknown_checks_are_refused_before_any_read() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();

    for method in [Method::POST, Method::PUT, Method::PATCH] {
        let response = call(&service, bearer_request(method, &token)).await;
        assert_error(&response, 405, "method_not_allowed");
        assert_eq!(response.headers["allow"], "GET, DELETE");
    }
    for query in [
        vec![("check", "yes")],
        vec![("check", "")],
        vec![("check", "wechat"), ("check", "wechat")],
    ] {
        assert_error(
            &call(&service, get(&token, &query)).await,
            400,
            "invalid_request",
        );
    }
    assert_eq!(stack.wechat_calls("checksession").await.unwrap(), 0);
}

#[tokio::test]
async fn a_dynamodb_outage_is_503_and_the_instance_recovers() {
    let mut stack = TestStack::with_private_dynamodb().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();

    stack.stop_dynamodb().await.unwrap();
    let started = std::time::Instant::now();
    assert_error(
        &call(&service, get(&token, &[])).await,
        503,
        "store_unavailable",
    );
    assert_error(
        &call(&service, bearer_request(Method::DELETE, &token)).await,
        503,
        "store_unavailable",
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    stack.restart_dynamodb().await.unwrap();
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();
    assert_eq!(call(&service, get(&token, &[])).await.status, 200);
}

#[tokio::test]
async fn a_deadline_reached_on_a_stalled_table_blames_the_store_not_wechat() {
    let stack = TestStack::with_private_dynamodb().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();

    // A Lambda deadline 2.5 s away: the guard answers 1 s before it, while the frozen
    // table still holds the GetItem (the SDK alone would wait longer).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut context = lambda_http::Context::default();
    context.deadline = u64::try_from(now_ms).unwrap() + 2_500;
    stack.freeze_dynamodb(true).unwrap();
    let response = call(&service, get(&token, &[]).with_lambda_context(context)).await;
    stack.freeze_dynamodb(false).unwrap();

    assert_error(&response, 503, "store_unavailable");
    assert_eq!(call(&service, get(&token, &[])).await.status, 200);
}

fn delete_all(token: &str, value: &str) -> Request {
    with_query(bearer_request(Method::DELETE, token), &[("all", value)])
}

/// Logs `openid` in again with a fresh code: the new session's token.
async fn login_as(stack: &TestStack, openid: &serde_json::Value) -> String {
    let code = stack
        .sandbox_login(json!({ "openid": openid }))
        .await
        .unwrap();
    let service = stack.login_service().await.unwrap();
    let body = json!({ "code": code["code"] }).to_string();
    let response =
        TestResponse::from_response(service.handle(devkit::stack::post(body)).await).unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json);
    response.json["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn delete_all_ends_every_session_of_the_user_and_says_how_many() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let phone_service = stack.phone_service().await.unwrap();
    let (first, user) = stack.logged_in_user(json!({})).await.unwrap();
    let mut tokens = vec![first];
    for _ in 0..3 {
        tokens.push(login_as(&stack, &user["openid"]).await);
    }
    let (other_token, other) = stack.logged_in_user(json!({})).await.unwrap();
    // One session already logged out the plain way: not counted again.
    let response = call(&service, bearer_request(Method::DELETE, &tokens[0])).await;
    assert_eq!(response.json, json!({ "logged_out": true }));
    // An expired one is not live: not counted either.
    let expired = stack.expired_session(&user).await.unwrap();

    let response = call(&service, delete_all(&tokens[2], "true")).await;
    assert_eq!(response.status, 200, "{:?}", response.json);
    assert_eq!(
        response.json,
        json!({ "logged_out": true, "sessions": 3 }),
        "the three live sessions, the caller's included"
    );

    let phone = stack
        .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": "13800138000" }))
        .await
        .unwrap();
    let phone_body = json!({ "code": phone["code"] }).to_string();
    for token in tokens.iter().chain([&expired.expose().to_owned()]) {
        assert_error(&call(&service, get(token, &[])).await, 401, "invalid_token");
        let response = TestResponse::from_response(
            phone_service
                .handle(post_with_bearer(token, phone_body.clone()))
                .await,
        )
        .unwrap();
        assert_error(&response, 401, "invalid_token");
        assert_error(
            &call(&service, delete_all(token, "true")).await,
            401,
            "invalid_token",
        );
    }
    assert_eq!(
        stack.wechat_calls("getuserphonenumber").await.unwrap(),
        0,
        "refused before WeChat"
    );

    // Only this user: the other one is still logged in.
    let response = call(&service, get(&other_token, &[])).await;
    assert_eq!(response.json["openid"], other["openid"]);

    // Logging in again works, and the new session does everything.
    let fresh = login_as(&stack, &user["openid"]).await;
    let response = call(&service, get(&fresh, &[])).await;
    assert_eq!(response.status, 200, "{:?}", response.json);
    assert_eq!(response.json["openid"], user["openid"]);
    let response = TestResponse::from_response(
        phone_service
            .handle(post_with_bearer(&fresh, phone_body))
            .await,
    )
    .unwrap();
    assert_eq!(
        response.status, 200,
        "the phone code was never spent: {:?}",
        response.json
    );

    let user_pk = format!(
        "user#{}",
        wxlogin::testing::user_key(user["openid"].as_str().unwrap()).as_hex()
    );
    let items = stack.items().await.unwrap();
    let item = items
        .iter()
        .find(|item| item["pk"].as_s().unwrap() == &user_pk)
        .expect("the user item");
    assert!(!item.contains_key("expires_at"), "{item:?}");
    assert!(
        !item.contains_key("ended_sessions"),
        "the ended sessions' items are deleted, so none waits on the ended list: {item:?}"
    );
    assert_eq!(
        item["sessions"].as_ss().unwrap().len(),
        1,
        "only the fresh session is listed: {item:?}"
    );
    let stored: Vec<String> = items
        .iter()
        .map(|item| item["pk"].as_s().unwrap().clone())
        .collect();
    for token in tokens.iter().chain([&expired.expose().to_owned()]) {
        let token = wxlogin::domain::SessionToken::parse(token).unwrap();
        let pk = format!("session#{}", token.hash().as_hex());
        assert!(!stored.contains(&pk), "an ended session's item is deleted");
    }

    // Everywhere again, from the fresh session: just that one.
    let response = call(&service, delete_all(&fresh, "true")).await;
    assert_eq!(response.json, json!({ "logged_out": true, "sessions": 1 }));
    assert_error(
        &call(&service, get(&fresh, &[])).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn all_takes_true_and_nothing_else() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.session_service().await.unwrap();
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();

    for value in ["yes", "", "TRUE", "True", "1", "false", "true "] {
        assert_error(
            &call(&service, delete_all(&token, value)).await,
            400,
            "invalid_request",
        );
    }
    let twice = with_query(
        bearer_request(Method::DELETE, &token),
        &[("all", "true"), ("all", "true")],
    );
    assert_error(&call(&service, twice).await, 400, "invalid_request");

    // The token first, as on every route: no token is 401 whatever the query says.
    let mut bare = with_query(Request::new(Body::Empty), &[("all", "yes")]);
    *bare.method_mut() = Method::DELETE;
    assert_error(&call(&service, bare).await, 401, "invalid_token");
    assert_error(
        &call(&service, delete_all("not-a-token", "true")).await,
        401,
        "invalid_token",
    );

    // Nothing was logged out by the refused requests.
    let response = call(&service, get(&token, &[])).await;
    assert_eq!(response.status, 200, "{:?}", response.json);
    assert!(
        !stack
            .items()
            .await
            .unwrap()
            .iter()
            .any(|item| item.contains_key("ended_sessions")),
        "no session ended"
    );
    assert_eq!(session_items(&stack).await, 1);
}
