//! `/account` on DynamoDB Local: the copy of the user's data, the cancellation end to end
//! (every item of the user gone but the audit record), and logins racing an erasure.

use std::sync::Arc;

use devkit::stack::{TestResponse, TestStack, post};
use http::Method;
use serde_json::{Value, json};
use tokio::sync::Barrier;
use wxlogin::domain::ErasureReason;
use wxlogin::testing::{ServeHttp, bearer_request, post_with_bearer, stack_key};

/// A new session of the sandbox `user`: the login's answer.
async fn login_as(stack: &TestStack, openid: &Value) -> Value {
    let code = stack
        .sandbox_login(json!({ "openid": openid }))
        .await
        .unwrap();
    let login = stack.login_service().await.unwrap();
    let body = json!({ "code": code["code"] }).to_string();
    let answer = TestResponse::from_response(login.handle(post(body)).await).unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    answer.json
}

/// Verifies `number` for the bearer through the sandbox's getPhoneNumber code.
async fn bind_phone(stack: &TestStack, token: &str, openid: &Value, number: &str) {
    let phone = stack
        .sandbox_phone(json!({ "openid": openid, "phoneNumber": number }))
        .await
        .unwrap();
    let phones = stack.phone_service().await.unwrap();
    let body = json!({ "code": phone["code"] }).to_string();
    let response =
        TestResponse::from_response(phones.handle(post_with_bearer(token, body)).await).unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json);
}

fn pks(
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) -> Vec<String> {
    let mut pks: Vec<String> = items
        .iter()
        .map(|item| item["pk"].as_s().unwrap().clone())
        .collect();
    pks.sort();
    pks
}

#[tokio::test]
async fn a_user_gets_a_copy_of_their_data_then_cancels_and_nothing_of_them_is_left() {
    let stack = TestStack::start().await.unwrap();
    let accounts = stack.account_service().await.unwrap();
    let (other_token, other_user) = stack.logged_in_user(json!({})).await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let openid = &user["openid"];
    let second = login_as(&stack, openid).await;
    bind_phone(&stack, &token, openid, "13800138000").await;

    let response =
        TestResponse::from_response(accounts.handle(bearer_request(Method::GET, &token)).await)
            .unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json);
    let data = &response.json;
    assert_eq!(data["openid"], *openid);
    assert_eq!(data["appid"], devkit::stack::TEST_APPID);
    assert_eq!(data["phone"]["phoneNumber"], "13800138000");
    assert_eq!(data["phone"]["verified_by"], "code");
    assert!(data["phone"]["verified_at"].as_i64().unwrap() > 0);
    assert!(data["created_at"].as_i64().unwrap() > 0);
    assert_eq!(data["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(
        data["quotas"]["phone_verifications_today"]["limit"], 5,
        "the stack's default daily limit"
    );
    let text = response.json.to_string();
    assert!(!text.contains(&token) && !text.contains("session_key"));

    let response = TestResponse::from_response(
        accounts
            .handle(bearer_request(Method::DELETE, &token))
            .await,
    )
    .unwrap();
    assert_eq!(response.json, json!({"deleted": true, "sessions": 2}));

    let sessions = stack.session_service().await.unwrap();
    for dead in [token.as_str(), second["token"].as_str().unwrap()] {
        for method in [Method::GET, Method::DELETE] {
            let answer = TestResponse::from_response(
                accounts.handle(bearer_request(method.clone(), dead)).await,
            )
            .unwrap();
            assert_eq!(answer.status, 401, "{:?}", answer.json);
        }
        let answer =
            TestResponse::from_response(sessions.handle(bearer_request(Method::GET, dead)).await)
                .unwrap();
        assert_eq!(answer.status, 401);
    }
    let other = TestResponse::from_response(
        sessions
            .handle(bearer_request(Method::GET, &other_token))
            .await,
    )
    .unwrap();
    assert_eq!(other.status, 200, "the other user is untouched");

    let subject = stack_key().subject(devkit::stack::TEST_APPID, openid.as_str().unwrap());
    let items = stack.items().await.unwrap();
    let record = items
        .iter()
        .find(|item| item["pk"].as_s().unwrap() == &format!("erasure#{subject}"))
        .expect("the audit record");
    assert_eq!(record["reason"].as_s().unwrap(), ErasureReason::User.name());
    assert!(record.contains_key("expires_at"));
    let record_text = format!("{record:?}");
    assert!(
        !record_text.contains(openid.as_str().unwrap()) && !record_text.contains("13800138000")
    );
    let mut after = pks(&items);
    after.retain(|pk| {
        !pk.starts_with("code#") && !pk.starts_with("access_token#") && !pk.starts_with("erasure#")
    });
    let user_key = wxlogin::testing::user_key(openid.as_str().unwrap()).as_hex();
    assert!(
        !after.iter().any(|pk| pk.contains(&user_key)),
        "no user item: {after:?}"
    );
    let other_key = wxlogin::domain::SessionToken::parse(&other_token).unwrap();
    let mut others = vec![
        format!("session#{}", other_key.hash().as_hex()),
        format!(
            "user#{}",
            wxlogin::testing::user_key(other_user["openid"].as_str().unwrap()).as_hex()
        ),
    ];
    others.sort();
    assert_eq!(after, others, "only the other user's items are left");

    let again = login_as(&stack, openid).await;
    assert_eq!(
        again["new_user"], true,
        "a login after the cancellation is a new user"
    );
    assert!(again.get("phone").is_none());
}

const RACING_LOGINS: usize = 50;

/// 50 logins of one user race its erasure, each on its own instance: every login either
/// finished before the erasure (its session is erased with the rest) or made a brand-new
/// user (no phone); no live session ever sees the old user.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_an_erasure_end_before_it_or_make_a_new_user() {
    let stack = TestStack::start().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let openid = user["openid"].clone();
    bind_phone(&stack, &token, &openid, "13800138000").await;
    let mut codes = Vec::new();
    for _ in 0..RACING_LOGINS {
        let code = stack
            .sandbox_login(json!({ "openid": openid }))
            .await
            .unwrap();
        codes.push(json!({ "code": code["code"] }).to_string());
    }
    let mut services = Vec::new();
    for _ in 0..RACING_LOGINS {
        services.push(Arc::new(stack.login_service().await.unwrap()));
    }
    let accounts = Arc::new(stack.account_service().await.unwrap());
    let barrier = Arc::new(Barrier::new(RACING_LOGINS + 1));

    let logins: Vec<_> = services
        .into_iter()
        .zip(codes)
        .map(|(service, body)| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                TestResponse::from_response(service.handle(post(body)).await).unwrap()
            })
        })
        .collect();
    let erasure = {
        let (barrier, accounts, token) =
            (Arc::clone(&barrier), Arc::clone(&accounts), token.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            TestResponse::from_response(
                accounts
                    .handle(bearer_request(Method::DELETE, &token))
                    .await,
            )
            .unwrap()
        })
    };
    let mut answers = Vec::new();
    for login in logins {
        answers.push(login.await.unwrap());
    }
    let erased = erasure.await.unwrap();
    assert_eq!(erased.json["deleted"], true, "{:?}", erased.json);

    let sessions = stack.session_service().await.unwrap();
    let (mut before, mut new_users, mut live) = (0, 0, 0);
    for answer in &answers {
        assert_eq!(answer.status, 200, "{:?}", answer.json);
        let token = answer.json["token"].as_str().unwrap();
        let now =
            TestResponse::from_response(sessions.handle(bearer_request(Method::GET, token)).await)
                .unwrap();
        if answer.json["new_user"] == true {
            new_users += 1;
            assert!(
                answer.json.get("phone").is_none(),
                "a new user has no phone"
            );
        } else if answer.json.get("phone").is_some() {
            before += 1;
            assert_eq!(now.status, 401, "a login of the old user is erased with it");
        }
        if now.status == 200 {
            live += 1;
            assert!(
                now.json.get("phone").is_none(),
                "no live session sees the old user"
            );
        }
    }
    assert!(
        new_users <= 1 || live > 0,
        "a new user was made at most once per erasure"
    );
    let items = stack.items().await.unwrap();
    let user_pk = format!(
        "user#{}",
        wxlogin::testing::user_key(openid.as_str().unwrap()).as_hex()
    );
    if let Some(item) = items
        .iter()
        .find(|item| item["pk"].as_s().unwrap() == &user_pk)
    {
        assert!(!item.contains_key("phone_number"), "{item:?}");
        assert!(
            !item.contains_key("erasing_since_ms"),
            "the erasure finished: {item:?}"
        );
    }
    eprintln!(
        "{RACING_LOGINS} racing logins: {before} before the erasure, {new_users} made a new user, {live} live after"
    );
}
