//! The real `decrypt-phone` binary under the Runtime API emulator with API Gateway v2
//! events, at the most verbose log level, its output searched for every secret.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use devkit::apigw::http_event;
use devkit::emf::{metric_points, metric_sum};
use devkit::runtime_api::RuntimeApi;
use devkit::stack::{TEST_APPID, TestStack};
use serde_json::{Value, json};

async fn invoke(runtime: &RuntimeApi, event: Value) -> (u16, Value) {
    let answer = runtime.invoke_http(event).await.unwrap();
    (answer.status, answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_forms_through_the_binary_and_no_secret_in_its_logs() {
    let stack = TestStack::start().await.unwrap();
    let (runtime, process) = stack
        .spawn_function(
            Path::new(env!("CARGO_BIN_EXE_decrypt-phone")),
            &[
                ("AWS_LAMBDA_LOG_LEVEL", "trace"),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ],
        )
        .await
        .unwrap();

    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let bearer = format!("Bearer {token}");
    let headers = [("authorization", bearer.as_str())];
    let phone = stack
        .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": "13912345678" }))
        .await
        .unwrap();

    let legacy = json!({ "encryptedData": phone["encryptedData"], "iv": phone["iv"] }).to_string();
    let (status, answer) = invoke(
        &runtime,
        http_event("POST", "/decrypt-phone", Some(&legacy), &headers),
    )
    .await;
    assert_eq!(
        (status, answer["purePhoneNumber"].as_str()),
        (200, Some("13912345678")),
        "{answer}"
    );

    let current = json!({ "code": phone["code"] }).to_string();
    let (status, answer) = invoke(
        &runtime,
        http_event("POST", "/decrypt-phone", Some(&current), &headers),
    )
    .await;
    assert_eq!(
        (status, answer["phoneNumber"].as_str()),
        (200, Some("13912345678")),
        "{answer}"
    );

    let (status, answer) = invoke(
        &runtime,
        http_event("POST", "/decrypt-phone", Some(&legacy), &[]),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_token"))
    );

    // The access token the function used: the sandbox hands the current one to anyone
    // with the secret.
    let access_token: Value = reqwest::Client::new()
        .post(format!("{}/cgi-bin/stable_token", stack.sandbox.base_url()))
        .json(&json!({ "grant_type": "client_credential", "appid": TEST_APPID, "secret": stack.secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = access_token["access_token"].as_str().unwrap().to_owned();

    tokio::time::sleep(Duration::from_millis(200)).await;
    let output = process.output();
    assert!(
        output.contains("\"route\":\"POST /decrypt-phone\""),
        "{output}"
    );
    let points = metric_points(&output);
    assert_eq!(
        metric_sum(
            &points,
            "PhoneDecrypts",
            &[("Form", "legacy"), ("Outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        metric_sum(
            &points,
            "PhoneDecrypts",
            &[("Form", "code"), ("Outcome", "ok")]
        ),
        1.0
    );
    for (what, secret) in [
        ("phone number", "13912345678"),
        ("session_key", user["session_key"].as_str().unwrap()),
        ("access token", access_token.as_str()),
        ("AppSecret", stack.secret.as_str()),
        ("bearer token", token.as_str()),
        ("phone code", phone["code"].as_str().unwrap()),
    ] {
        assert!(
            !output.contains(secret),
            "the {what} appears in the logs:\n{output}"
        );
    }
}
