//! Every row of the API's `/onlogin` table, through the handler with real DynamoDB
//! Local and a real sandbox over HTTP.

use std::time::Duration;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::testing::ServeHttp;
use wxlogin::usecases::Login;

use devkit::stack::{TestResponse, TestStack, assert_error, post};
use serde_json::{Value, json};
use wxlogin::config::{AppSecretSetting, Config};
use wxlogin::ports::Sessions;

async fn onlogin(
    service: &Login<DynamoTable, WeChatClient, StackKeySource>,
    code: &str,
) -> TestResponse {
    let body = json!({ "code": code }).to_string();
    TestResponse::from_response(service.handle(post(body)).await).unwrap()
}

async fn fresh_code(stack: &TestStack) -> Value {
    stack.sandbox_login(json!({})).await.unwrap()
}

/// A login through a service built on `broken` fails with `status` and `error`, and the
/// code still logs in through a healthy service afterwards.
async fn assert_fails_and_spares_the_code(
    stack: &TestStack,
    broken: Config,
    status: u16,
    error: &str,
) {
    let broken = stack.login_service_with(broken).await.unwrap();
    let user = fresh_code(stack).await;
    let code = user["code"].as_str().unwrap();

    assert_error(&onlogin(&broken, code).await, status, error);

    let healthy = stack.login_service().await.unwrap();
    assert_eq!(onlogin(&healthy, code).await.status, 200);
}

#[tokio::test]
async fn a_fresh_code_yields_a_token_and_the_openid() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;

    let response = onlogin(&service, user["code"].as_str().unwrap()).await;

    assert_eq!(response.status, 200, "{:?}", response.json);
    let token = response.json["token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(response.json["openid"], user["openid"]);
    assert_eq!(response.json["expires_in"], 7200);
    let fields: Vec<&String> = response.json.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["appid", "expires_in", "new_user", "openid", "token"],
        "no unionid, no phone yet, never session_key"
    );
    assert_eq!(response.json["new_user"], true, "the user's first login");
    assert_eq!(response.headers["cache-control"], "no-store");
    assert_eq!(response.headers["x-request-id"].len(), 32);
}

#[tokio::test]
async fn unionid_is_returned_when_wechat_gives_one() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = stack
        .sandbox_login(json!({ "unionid": "ocMvos6NjeKLIBqg5Mr9QjxrP1FA" }))
        .await
        .unwrap();

    let response = onlogin(&service, user["code"].as_str().unwrap()).await;

    assert_eq!(response.status, 200);
    assert_eq!(response.json["unionid"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
}

#[tokio::test]
async fn the_session_is_stored_under_the_token_hash_with_a_ttl() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let response = onlogin(&service, user["code"].as_str().unwrap()).await;
    let token = response.json["token"].as_str().unwrap();

    let items = stack.items().await.unwrap();
    let dump = format!("{items:?}");
    assert!(!dump.contains(token), "the raw token must never be stored");
    assert!(
        !dump.contains(user["code"].as_str().unwrap()),
        "nor the raw code"
    );

    let parsed = wxlogin::domain::SessionToken::parse(token).unwrap();
    let session_pk = format!("session#{}", parsed.hash().as_hex());
    let session = items
        .iter()
        .find(|item| item["pk"].as_s().unwrap() == &session_pk)
        .expect("a session item keyed by the token's SHA-256");
    assert_eq!(
        session["openid"].as_s().unwrap(),
        user["openid"].as_str().unwrap()
    );
    assert_eq!(
        session["session_key"].as_s().unwrap(),
        user["session_key"].as_str().unwrap()
    );
    assert!(!session.contains_key("unionid"));
    let created: i64 = session["created_at"].as_n().unwrap().parse().unwrap();
    let expires: i64 = session["expires_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(expires - created, 7200);

    let stored = stack
        .store()
        .get_session(&parsed, created * 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.session.openid, user["openid"].as_str().unwrap());
}

#[tokio::test]
async fn session_ttl_follows_config() {
    let stack = TestStack::start().await.unwrap();
    let mut config = stack.config();
    config.session_ttl = Duration::from_secs(600);
    let service = stack.login_service_with(config).await.unwrap();
    let user = fresh_code(&stack).await;

    let response = onlogin(&service, user["code"].as_str().unwrap()).await;

    assert_eq!(response.json["expires_in"], 600);
}

#[tokio::test]
async fn an_unknown_code_is_invalid_code() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();

    let response = onlogin(&service, "0a3Xk9000AbCdE1fGh2iJk3lMn4oPq5r").await;

    assert_error(&response, 401, "invalid_code");
    assert_eq!(stack.wechat_calls("jscode2session").await.unwrap(), 1);
}

#[tokio::test]
async fn an_expired_code_is_invalid_code() {
    let stack = TestStack::with_code_ttl(Duration::from_millis(300))
        .await
        .unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let response = onlogin(&service, user["code"].as_str().unwrap()).await;

    assert_error(&response, 401, "invalid_code");
}

#[tokio::test]
async fn a_code_spent_elsewhere_is_code_used() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let code = user["code"].as_str().unwrap();
    // Someone else (another backend with our secret) exchanged it first: WeChat says 40163.
    let url = format!(
        "{}/sns/jscode2session?appid={}&secret={}&js_code={code}&grant_type=authorization_code",
        stack.sandbox.base_url(),
        devkit::stack::TEST_APPID,
        stack.secret
    );
    let first: Value =
        serde_json::from_str(&reqwest::get(url).await.unwrap().text().await.unwrap()).unwrap();
    assert!(first["openid"].is_string());

    let response = onlogin(&service, code).await;

    assert_error(&response, 409, "code_used");
}

#[tokio::test]
async fn a_replayed_code_is_code_used_without_calling_wechat() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let code = user["code"].as_str().unwrap();

    assert_eq!(onlogin(&service, code).await.status, 200);
    // A second instance (fresh clients) sees the claim in DynamoDB, not in memory.
    let other_instance = stack.login_service().await.unwrap();
    let replay = onlogin(&other_instance, code).await;

    assert_error(&replay, 409, "code_used");
    assert_eq!(stack.wechat_calls("jscode2session").await.unwrap(), 1);
}

#[tokio::test]
async fn a_blocked_user_is_user_blocked() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    stack
        .sandbox_fault(json!({ "api": "jscode2session", "errcode": 40226, "times": 1 }))
        .await
        .unwrap();

    let response = onlogin(&service, user["code"].as_str().unwrap()).await;

    assert_error(&response, 403, "user_blocked");
}

#[tokio::test]
async fn rate_limiting_is_429_with_retry_after_and_the_code_still_works() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let code = user["code"].as_str().unwrap();
    stack
        .sandbox_fault(json!({ "api": "jscode2session", "errcode": 45011, "times": 1 }))
        .await
        .unwrap();

    let limited = onlogin(&service, code).await;
    assert_error(&limited, 429, "rate_limited");
    assert_eq!(limited.headers["retry-after"], "60");

    let retry = onlogin(&service, code).await;
    assert_eq!(
        retry.status, 200,
        "45011 left the code unused: {:?}",
        retry.json
    );
}

#[tokio::test]
async fn a_busy_wechat_is_retried_once_then_503_and_the_code_still_works() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let code_a = fresh_code(&stack).await["code"]
        .as_str()
        .unwrap()
        .to_owned();

    // One -1 is absorbed by the single safe retry.
    stack
        .sandbox_fault(json!({ "api": "jscode2session", "errcode": -1, "times": 1 }))
        .await
        .unwrap();
    assert_eq!(onlogin(&service, &code_a).await.status, 200);
    assert_eq!(stack.wechat_calls("jscode2session").await.unwrap(), 2);

    // Two in a row reach the client as 503; the claim is given back.
    let code_b = fresh_code(&stack).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    stack
        .sandbox_fault(json!({ "api": "jscode2session", "errcode": -1, "times": 2 }))
        .await
        .unwrap();
    assert_error(&onlogin(&service, &code_b).await, 503, "wechat_unavailable");
    assert_eq!(onlogin(&service, &code_b).await.status, 200);
}

#[tokio::test]
async fn a_stalled_wechat_is_503_within_our_timeout_and_the_code_stays_claimed() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let code = user["code"].as_str().unwrap();
    stack
        .sandbox_fault(json!({ "api": "jscode2session", "delay_ms": 8000, "times": 1 }))
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let response = onlogin(&service, code).await;

    assert_error(&response, 503, "wechat_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the stall must be cut short"
    );
    // A timed-out call may have consumed the code: never call WeChat with it again.
    assert_error(&onlogin(&service, code).await, 409, "code_used");
    assert_eq!(stack.wechat_calls("jscode2session").await.unwrap(), 1);
}

#[tokio::test]
async fn an_unparseable_answer_is_wechat_error() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    stack
        .sandbox_fault(
            json!({ "api": "jscode2session", "body": "<html>502 Bad Gateway</html>", "times": 1 }),
        )
        .await
        .unwrap();

    let response = onlogin(&service, user["code"].as_str().unwrap()).await;

    assert_error(&response, 502, "wechat_error");
    assert!(
        !response.json["message"].as_str().unwrap().contains("html"),
        "never echo upstream bodies"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_wechat_error_and_does_not_burn_the_code() {
    let stack = TestStack::start().await.unwrap();
    let mut misconfigured = stack.config();
    misconfigured.apps[0].secret = AppSecretSetting::Value("not-the-secret".to_owned().into());
    assert_fails_and_spares_the_code(&stack, misconfigured, 502, "wechat_error").await;
}

#[tokio::test]
async fn an_unreachable_wechat_is_503_and_the_code_still_works() {
    let stack = TestStack::start().await.unwrap();
    let closed_port = devkit::dynamodb_local::free_port().unwrap();
    let mut unreachable = stack.config();
    unreachable.wechat_api_base = format!("http://127.0.0.1:{closed_port}");
    assert_fails_and_spares_the_code(&stack, unreachable, 503, "wechat_unavailable").await;
}

#[tokio::test]
async fn a_dynamodb_outage_is_503_and_the_same_instance_recovers() {
    let mut stack = TestStack::with_private_dynamodb().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let before = fresh_code(&stack).await;
    assert_eq!(
        onlogin(&service, before["code"].as_str().unwrap())
            .await
            .status,
        200
    );

    stack.stop_dynamodb().await.unwrap();
    let during = fresh_code(&stack).await;
    let started = std::time::Instant::now();
    let down = onlogin(&service, during["code"].as_str().unwrap()).await;
    assert_error(&down, 503, "store_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by the SDK timeouts"
    );
    assert_eq!(
        stack.wechat_calls("jscode2session").await.unwrap(),
        1,
        "no claim, no WeChat call: the code is not burnt"
    );

    stack.restart_dynamodb().await.unwrap();
    let after = onlogin(&service, during["code"].as_str().unwrap()).await;
    assert_eq!(after.status, 200, "{:?}", after.json);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let body = json!({ "code": user["code"], "rawData": "{}", "extra": [1, 2] }).to_string();

    let response = TestResponse::from_response(service.handle(post(body)).await).unwrap();

    assert_eq!(response.status, 200, "{:?}", response.json);
}

#[tokio::test]
async fn a_frozen_dynamodb_is_a_bounded_503_and_the_instance_recovers() {
    let stack = TestStack::with_private_dynamodb().await.unwrap();
    let service = stack.login_service().await.unwrap();
    assert_eq!(
        onlogin(&service, fresh_code(&stack).await["code"].as_str().unwrap())
            .await
            .status,
        200
    );

    stack.freeze_dynamodb(true).unwrap();
    let started = std::time::Instant::now();
    let slow = onlogin(&service, fresh_code(&stack).await["code"].as_str().unwrap()).await;
    let waited = started.elapsed();
    stack.freeze_dynamodb(false).unwrap();

    assert_error(&slow, 503, "store_unavailable");
    // The SDK's attempt and operation timeouts (claim, then the claim's clean-up) answer
    // before the template's 15 s Lambda timeout.
    assert!(waited < Duration::from_secs(14), "took {waited:?}");
    assert_eq!(
        stack.wechat_calls("jscode2session").await.unwrap(),
        1,
        "WeChat never saw the second code"
    );
    let after = onlogin(&service, fresh_code(&stack).await["code"].as_str().unwrap()).await;
    assert_eq!(after.status, 200, "{:?}", after.json);
}

/// The `user#<key>` item of `openid`, if there is one.
async fn user_item(
    stack: &TestStack,
    openid: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let pk = format!("user#{}", wxlogin::testing::user_key(openid).as_hex());
    stack
        .items()
        .await
        .unwrap()
        .into_iter()
        .find(|item| item["pk"].as_s().is_ok_and(|key| *key == pk))
}

fn number(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> i64 {
    item[name].as_n().unwrap().parse().unwrap()
}

/// Logs `openid` in again with a fresh code (the same user, as a new `wx.login` gives).
async fn login_again(
    stack: &TestStack,
    service: &Login<DynamoTable, WeChatClient, StackKeySource>,
    openid: &Value,
) -> TestResponse {
    let code = stack
        .sandbox_login(json!({ "openid": openid }))
        .await
        .unwrap();
    onlogin(service, code["code"].as_str().unwrap()).await
}

#[tokio::test]
async fn the_first_login_is_a_new_user_and_the_next_ones_are_not() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let openid = user["openid"].as_str().unwrap();

    let first = onlogin(&service, user["code"].as_str().unwrap()).await;
    assert_eq!(first.json["new_user"], true, "{:?}", first.json);
    let created = user_item(&stack, openid).await.expect("a user item");
    let created_at = number(&created, "created_at");
    assert_eq!(number(&created, "last_login_at"), created_at);

    // Seconds resolution: step past it so last_login_at can be seen to move.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..2 {
        let again = login_again(&stack, &service, &user["openid"]).await;
        assert_eq!(again.status, 200, "{:?}", again.json);
        assert_eq!(again.json["new_user"], false, "{:?}", again.json);
        assert_eq!(again.json["openid"], user["openid"]);
    }
    // Another instance agrees: the answer comes from the table, not from memory.
    let other_instance = stack.login_service().await.unwrap();
    let again = login_again(&stack, &other_instance, &user["openid"]).await;
    assert_eq!(again.json["new_user"], false);

    let item = user_item(&stack, openid).await.unwrap();
    assert_eq!(number(&item, "created_at"), created_at, "created_at stays");
    assert!(
        number(&item, "last_login_at") > created_at,
        "last_login_at moves: {item:?}"
    );
    assert_eq!(item["openid"].as_s().unwrap(), openid);
    assert_eq!(
        item["sessions"].as_ss().unwrap().len(),
        4,
        "each login's session is listed on the user"
    );
    let users = stack
        .items()
        .await
        .unwrap()
        .iter()
        .filter(|item| item["pk"].as_s().unwrap().starts_with("user#"))
        .count();
    assert_eq!(users, 1, "one user item per openid");

    // Someone else is new, whoever logged in before them.
    let stranger = fresh_code(&stack).await;
    let response = onlogin(&service, stranger["code"].as_str().unwrap()).await;
    assert_eq!(response.json["new_user"], true);
}

#[tokio::test]
async fn the_user_item_is_keyed_by_the_openid_hash_and_never_expires() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let openid = user["openid"].as_str().unwrap();
    let response = onlogin(&service, user["code"].as_str().unwrap()).await;
    let token = response.json["token"].as_str().unwrap();

    let item = user_item(&stack, openid).await.expect("user#<key>");
    let key = item["pk"].as_s().unwrap();
    assert_eq!(key.len(), "user#".len() + 32, "16 bytes of SHA-256 in hex");
    assert!(!key.contains(openid), "the key is a hash, not the openid");
    assert!(
        !item.contains_key("expires_at"),
        "no TTL: a user outlives their sessions: {item:?}"
    );
    for secret in ["session_key", "token", "code"] {
        assert!(!item.contains_key(secret), "{secret} on the user: {item:?}");
    }
    let dump = format!("{item:?}");
    assert!(!dump.contains(token));
    assert!(!dump.contains(user["session_key"].as_str().unwrap()));
    // The session list holds `<expires_at>:<token hash>`, never the token.
    let parsed = wxlogin::domain::SessionToken::parse(token).unwrap();
    let listed = item["sessions"].as_ss().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].ends_with(&format!(":{}", parsed.hash().as_hex())),
        "{listed:?}"
    );
    assert_eq!(
        parsed.user_key(),
        wxlogin::testing::user_key(openid),
        "the token carries its user's key"
    );
}

#[tokio::test]
async fn unionid_lands_on_the_user_once_wechat_sends_one() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let sessions = stack.session_service().await.unwrap();
    let user = fresh_code(&stack).await;
    let openid = user["openid"].as_str().unwrap();

    let before = onlogin(&service, user["code"].as_str().unwrap()).await;
    assert!(before.json.get("unionid").is_none(), "{:?}", before.json);
    assert!(
        !user_item(&stack, openid)
            .await
            .unwrap()
            .contains_key("unionid")
    );
    let first_token = before.json["token"].as_str().unwrap().to_owned();

    // The user follows the official account: WeChat starts sending a unionid.
    let code = stack
        .sandbox_login(json!({ "openid": openid, "unionid": "ocMvos6NjeKLIBqg5Mr9QjxrP1FA" }))
        .await
        .unwrap();
    let after = onlogin(&service, code["code"].as_str().unwrap()).await;
    assert_eq!(after.json["unionid"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
    assert_eq!(after.json["new_user"], false);
    let item = user_item(&stack, openid).await.unwrap();
    assert_eq!(
        item["unionid"].as_s().unwrap(),
        "ocMvos6NjeKLIBqg5Mr9QjxrP1FA"
    );

    // The session issued before it now names the unionid too: it is read with its user.
    let response = TestResponse::from_response(
        sessions
            .handle(devkit::stack::bearer_request(
                lambda_http::http::Method::GET,
                &first_token,
            ))
            .await,
    )
    .unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json);
    assert_eq!(response.json["unionid"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
}

/// Twelve logins of one user on DynamoDB Local: at most `MaxSessionsPerUser` (10) stay
/// live and listed, and the ended ones' items are deleted, so the user item stays small.
#[tokio::test]
async fn logins_beyond_the_cap_end_the_oldest_sessions() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = stack.sandbox_login(json!({})).await.unwrap();
    let openid = user["openid"].clone();
    let mut tokens = Vec::new();
    for _ in 0..12 {
        let code = stack
            .sandbox_login(json!({ "openid": openid }))
            .await
            .unwrap();
        let body = json!({ "code": code["code"] }).to_string();
        let answer = TestResponse::from_response(service.handle(post(body)).await).unwrap();
        assert_eq!(answer.status, 200, "{:?}", answer.json);
        tokens.push(answer.json["token"].as_str().unwrap().to_owned());
    }
    let store = stack.store();
    let mut live = 0;
    for token in &tokens {
        let token = wxlogin::domain::SessionToken::parse(token).unwrap();
        if store
            .get_session(&token, wxlogin::domain::clock::now_epoch_millis())
            .await
            .unwrap()
            .is_some()
        {
            live += 1;
        }
    }
    assert_eq!(live, 10);
    let items = stack.items().await.unwrap();
    let sessions = items
        .iter()
        .filter(|item| item["pk"].as_s().unwrap().starts_with("session#"))
        .count();
    assert_eq!(sessions, 10, "the two ended sessions' items are deleted");
    let listed = items
        .iter()
        .find(|item| item["pk"].as_s().unwrap().starts_with("user#"))
        .unwrap()["sessions"]
        .as_ss()
        .unwrap()
        .len();
    assert_eq!(listed, 10);
}

/// `POST /onlogin` with `code`, as API Gateway hands it over from `source_ip`.
fn login_from(source_ip: &str, code: &str) -> lambda_http::Request {
    let body = json!({ "code": code }).to_string();
    let mut event = devkit::apigw::http_event("POST", "/onlogin", Some(&body), &[]);
    event["requestContext"]["http"]["sourceIp"] = json!(source_ip);
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// The audit's scenario: one client sends junk codes; it is refused with 429 after six
/// (FAILED_LOGINS_PER_CLIENT_PER_MINUTE), before any claim or WeChat call, while another
/// client's real login goes through.
#[tokio::test]
async fn a_client_sending_junk_codes_is_refused_and_others_log_in() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let wechat_before = stack.wechat_calls("jscode2session").await.unwrap();
    let mut statuses = Vec::new();
    for attempt in 0..20 {
        let answer = TestResponse::from_response(
            service
                .handle(login_from("198.51.100.66", &format!("junk-{attempt}")))
                .await,
        )
        .unwrap();
        if answer.status == 429 {
            assert_error(&answer, 429, "rate_limited");
            let retry_after: u64 = answer.headers["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry_after), "{retry_after}");
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses[..6], [401; 6], "{statuses:?}");
    assert_eq!(statuses[6..], [429; 14], "{statuses:?}");
    assert_eq!(
        stack.wechat_calls("jscode2session").await.unwrap(),
        wechat_before + 6,
        "refused logins never reach WeChat"
    );

    let user = fresh_code(&stack).await;
    let real = service
        .handle(login_from("198.51.100.7", user["code"].as_str().unwrap()))
        .await;
    let real = TestResponse::from_response(real).unwrap();
    assert_eq!(real.status, 200, "{:?}", real.json);
}
