//! The real `decrypt-phone` binary under the Runtime API emulator with API Gateway v2
//! events, at the most verbose log level, its output searched for every secret.

use devkit::apigw::http_event;
use devkit::binary_check::{FunctionUnderTest, assert_no_secret};
use devkit::emf::{metric_points, metric_sum};
use devkit::stack::{TEST_APPID, TestStack};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_forms_through_the_binary_and_no_secret_in_its_logs() {
    let stack = TestStack::start().await.unwrap();
    let function =
        FunctionUnderTest::spawn_verbose(&stack, crate::function_binary("decrypt-phone"), &[])
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
    let current = json!({ "code": phone["code"] }).to_string();
    for (body, field) in [(&legacy, "purePhoneNumber"), (&current, "phoneNumber")] {
        let answer = function
            .invoke(http_event("POST", "/decrypt-phone", Some(body), &headers))
            .await;
        assert_eq!(
            (answer.status, answer.body[field].as_str()),
            (200, Some("13912345678")),
            "{}",
            answer.body
        );
    }

    let no_token = http_event("POST", "/decrypt-phone", Some(&legacy), &[]);
    function.assert_error(no_token, 401, "invalid_token").await;

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

    let output = function.settled_output().await;
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
    assert_no_secret(
        &output,
        &[
            ("phone number", "13912345678"),
            ("session_key", user["session_key"].as_str().unwrap()),
            ("access token", access_token.as_str()),
            ("AppSecret", stack.secret.as_str()),
            ("bearer token", token.as_str()),
            ("phone code", phone["code"].as_str().unwrap()),
        ],
    );
}
