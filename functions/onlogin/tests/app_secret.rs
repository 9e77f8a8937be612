//! The AppSecret read at run time: the real `onlogin` binary configured with
//! `WECHAT_SECRET_ID` against a real Secrets Manager protocol (moto's server), through
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`: nothing read at init, read on the first login,
//! read again once when WeChat rejects it after a rotation, never logged.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use devkit::apigw::http_event;
use devkit::binary_check::{FunctionUnderTest, assert_init_fails, assert_no_secret};
use devkit::secrets_manager::SecretsManagerServer;
use devkit::stack::{TestStack, unique_suffix};
use serde_json::json;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_onlogin"))
}

async fn login(stack: &TestStack, function: &FunctionUnderTest) -> (u16, serde_json::Value) {
    let user = stack.sandbox_login(json!({})).await.unwrap();
    let body = json!({ "code": user["code"] }).to_string();
    let answer = function
        .invoke(http_event("POST", "/onlogin", Some(&body), &[]))
        .await;
    (answer.status, answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_secret_is_read_on_first_need_and_again_after_a_rotation() {
    let stack = TestStack::start().await.unwrap();
    let secrets = SecretsManagerServer::start().await.unwrap();
    let name = format!("wxlogin/appsecret-{}", unique_suffix());
    // The secret does not exist yet: a function that read it at init could not start.
    let function = FunctionUnderTest::spawn_verbose(
        &stack,
        binary(),
        &[
            ("WECHAT_SECRET", ""),
            ("WECHAT_SECRET_ID", &name),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint()),
        ],
    )
    .await
    .unwrap();
    secrets.create(&name, &stack.secret).await.unwrap();

    let started = Instant::now();
    let (status, body) = login(&stack, &function).await;
    let first = started.elapsed();
    assert_eq!(status, 200, "{body}");
    let started = Instant::now();
    assert_eq!(login(&stack, &function).await.0, 200);
    let second = started.elapsed();
    // Reported, not asserted: the first login's extra is the secret's one read.
    eprintln!("first login (reads the secret) {first:?}, second {second:?}");

    // The AppSecret is reset at WeChat and the new one put in Secrets Manager: the next
    // login meets 40125, reads the secret again, and succeeds without a redeploy.
    let rotated = format!("rotated-secret-{}", unique_suffix());
    secrets.rotate(&name, &rotated).await.unwrap();
    stack.sandbox_reset_secret(&rotated).await.unwrap();
    let (status, body) = login(&stack, &function).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(login(&stack, &function).await.0, 200);

    // Reset at WeChat but not yet in Secrets Manager: a clear 502, never a 500.
    let unknown = format!("reset-elsewhere-{}", unique_suffix());
    stack.sandbox_reset_secret(&unknown).await.unwrap();
    let (status, body) = login(&stack, &function).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("wechat_error")),
        "{body}"
    );

    let output = function.settled_output().await;
    assert!(
        output.contains("read again after WeChat rejected it"),
        "{output}"
    );
    assert_no_secret(
        &output,
        &[
            ("first AppSecret", stack.secret.as_str()),
            ("rotated AppSecret", rotated.as_str()),
            ("unknown AppSecret", unknown.as_str()),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_secret_is_a_503_and_a_missing_setting_fails_init() {
    let stack = TestStack::start().await.unwrap();
    let secrets = SecretsManagerServer::start().await.unwrap();
    let function = FunctionUnderTest::spawn(
        &stack,
        binary(),
        &[
            ("WECHAT_SECRET", ""),
            ("WECHAT_SECRET_ID", "wxlogin/never-created"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint()),
        ],
    )
    .await
    .unwrap();
    let (status, body) = login(&stack, &function).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("wechat_unavailable")),
        "{body}"
    );

    // Both set, or neither: init fails naming both variables.
    let mut env = stack.function_env();
    env.push((
        "WECHAT_SECRET_ID".to_owned(),
        "wxlogin/appsecret".to_owned(),
    ));
    assert_init_fails(binary(), &env, "WECHAT_SECRET_ID").await;
    let env: Vec<_> = stack
        .function_env()
        .into_iter()
        .filter(|(name, _)| name != "WECHAT_SECRET")
        .collect();
    assert_init_fails(binary(), &env, "WECHAT_SECRET (the AppSecret itself").await;
}
