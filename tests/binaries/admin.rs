//! `wxlogin-admin` as an operator runs it: the real binary against DynamoDB Local with the
//! account function's configuration, exporting then erasing one user by appid + openid.

use std::process::Command;

use devkit::stack::{TEST_APPID, TestStack};
use serde_json::{Value, json};
use wxlogin::testing::stack_key;

/// Runs the admin tool with `args` and the stack's configuration: exit code and stdout.
fn admin(stack: &TestStack, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(crate::function_binary("wxlogin-admin"))
        .args(args)
        .env_clear()
        .envs(stack.function_env())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `GET /session`'s status for `token`: 200 while its session is live.
async fn session_status(stack: &TestStack, token: &str) -> u16 {
    let session = stack.session_service().await.unwrap();
    devkit::stack::TestResponse::from_response(
        wxlogin::testing::ServeHttp::handle(
            &session,
            wxlogin::testing::bearer_request(http::Method::GET, token),
        )
        .await,
    )
    .unwrap()
    .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_exports_then_erases_one_user() {
    let stack = TestStack::start().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let (other, _) = stack.logged_in_user(json!({})).await.unwrap();
    let openid = user["openid"].as_str().unwrap();
    let who = ["--appid", TEST_APPID, "--openid", openid];

    let (code, out, err) = admin(&stack, &[&["export"][..], &who].concat());
    assert_eq!(code, 0, "{err}");
    let data: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(data["openid"], openid);
    assert_eq!(data["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(
        data["sessions"][0]["current"], false,
        "an export has no caller"
    );
    assert!(!out.contains(&token));

    let (code, out, err) = admin(&stack, &[&["erase"][..], &who].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"erased": true, "sessions": 1})
    );
    let items = stack.items().await.unwrap();
    let record = format!("erasure#{}", stack_key().subject(TEST_APPID, openid));
    let record = items
        .iter()
        .find(|item| item["pk"].as_s().unwrap() == &record)
        .expect("the audit record");
    assert_eq!(record["reason"].as_s().unwrap(), "operator");
    for (token, status) in [(token.as_str(), 401), (other.as_str(), 200)] {
        assert_eq!(session_status(&stack, token).await, status);
    }

    // Again: no such user now (exit 1), for either command.
    for command in ["export", "erase"] {
        let (code, _, err) = admin(&stack, &[&[command][..], &who].concat());
        assert_eq!(code, 1, "{command}: {err}");
    }
    // Bad usage and an app the stack does not serve: exit 2, nothing touched.
    for args in [
        vec!["wipe", "--appid", TEST_APPID, "--openid", openid],
        vec!["erase", "--appid", TEST_APPID],
        vec!["erase", "--appid", "wxnotthisstack0001", "--openid", openid],
    ] {
        assert_eq!(admin(&stack, &args).0, 2, "{args:?}");
    }
}

/// A person in both apps of a stack (one unionid, two openids): the operator ends their
/// sessions in every app at once, and nobody else's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_ends_a_persons_sessions_in_every_app() {
    const UNIONID: &str = "oUnionAdmin0000000000000001";
    let stack = TestStack::with_two_apps().await.unwrap();
    let (first, _) = stack
        .logged_in_user(json!({ "unionid": UNIONID }))
        .await
        .unwrap();
    let (second, _) = stack
        .logged_in_user(json!({ "appid": devkit::stack::SECOND_APPID, "unionid": UNIONID }))
        .await
        .unwrap();
    let (other, _) = stack
        .logged_in_user(json!({ "unionid": "oUnionAdminSomeoneElse000001" }))
        .await
        .unwrap();

    let (code, out, err) = admin(&stack, &["logout", "--unionid", UNIONID]);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let mut apps: Vec<(String, u64)> = answer["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|app| {
            (
                app["appid"].as_str().unwrap().to_owned(),
                app["sessions"].as_u64().unwrap(),
            )
        })
        .collect();
    apps.sort();
    let mut expected = vec![
        (TEST_APPID.to_owned(), 1),
        (devkit::stack::SECOND_APPID.to_owned(), 1),
    ];
    expected.sort();
    assert_eq!(apps, expected);

    for (token, status) in [(&first, 401), (&second, 401), (&other, 200)] {
        assert_eq!(session_status(&stack, token).await, status);
    }

    assert_eq!(
        admin(
            &stack,
            &["logout", "--unionid", "oUnionAdminNobody0000000001"]
        )
        .0,
        1
    );
    for args in [
        vec!["logout"],
        vec!["logout", "--unionid", UNIONID, "--appid", TEST_APPID],
        vec!["export", "--unionid", UNIONID],
    ] {
        assert_eq!(admin(&stack, &args).0, 2, "{args:?}");
    }
}
