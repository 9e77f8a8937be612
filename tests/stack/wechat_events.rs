//! WeChat's message push end to end: the sandbox, playing WeChat, checks the push URL
//! when its settings are saved and pushes each user-data event in every mode and format,
//! signed and encrypted by its own implementation, over HTTP to the receiver, which acts
//! on DynamoDB Local.

use devkit::stack::{TEST_APPID, TestStack};
use serde_json::{Value, json};
use wxlogin::ports::Sessions;
use wxlogin::testing::stack_key;

const MODES: [&str; 3] = ["plaintext", "compatible", "safe"];
const FORMATS: [&str; 2] = ["xml", "json"];

async fn user_with_phone(stack: &TestStack) -> (String, String) {
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let openid = user["openid"].as_str().unwrap().to_owned();
    let phone = stack
        .sandbox_phone(json!({ "openid": openid, "phoneNumber": "13800138000" }))
        .await
        .unwrap();
    let phones = stack.phone_service().await.unwrap();
    let body = json!({ "code": phone["code"] }).to_string();
    let response = devkit::stack::TestResponse::from_response(
        wxlogin::testing::ServeHttp::handle(
            &phones,
            wxlogin::testing::post_with_bearer(&token, body),
        )
        .await,
    )
    .unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json);
    (token, openid)
}

fn delivered(answer: &Value) {
    assert_eq!(answer["delivered"], true, "{answer}");
    assert_eq!(answer["attempts"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["attempts"][0]["body"], "success", "{answer}");
}

#[tokio::test]
async fn every_user_data_event_in_every_mode_and_format_does_what_wechat_asks() {
    let stack = TestStack::start().await.unwrap();
    for mode in MODES {
        for format in FORMATS {
            let case = format!("{mode} {format}");
            let _endpoint = stack.push_endpoint(TEST_APPID, mode, format).await.unwrap();
            let (token, openid) = user_with_phone(&stack).await;
            let user = async || {
                let token = wxlogin::domain::SessionToken::parse(&token).unwrap();
                stack
                    .store()
                    .get_session(&token, wxlogin::domain::clock::now_epoch_millis())
                    .await
                    .unwrap()
            };

            for (event, revoke_info) in [
                ("user_authorization_revoke", Some("6")),
                ("user_info_modified", None),
                ("weapp_audit_success", None),
            ] {
                let answer = stack
                    .sandbox_push(
                        json!({"openid": openid, "event": event, "revoke_info": revoke_info}),
                    )
                    .await
                    .unwrap();
                delivered(&answer);
                let live = user().await.expect("the user stays");
                assert!(
                    live.user.phone.is_some(),
                    "{case} {event}: nothing of ours to delete"
                );
            }

            let answer = stack
                .sandbox_push(json!({"openid": openid, "event": "user_authorization_revoke", "revoke_info": "8"}))
                .await
                .unwrap();
            delivered(&answer);
            let live = user().await.expect("{case}: the user stays");
            assert!(
                live.user.phone.is_none(),
                "{case}: the phone number is erased"
            );

            let answer = stack
                .sandbox_push(json!({"openid": openid, "event": "user_authorization_cancellation"}))
                .await
                .unwrap();
            delivered(&answer);
            assert!(user().await.is_none(), "{case}: every session refused");
            let items = stack.items().await.unwrap();
            let user_pk = format!("user#{}", wxlogin::testing::user_key(&openid).as_hex());
            assert!(
                !items
                    .iter()
                    .any(|item| item["pk"].as_s().unwrap() == &user_pk),
                "{case}: the user item is gone"
            );
            let record = format!("erasure#{}", stack_key().subject(TEST_APPID, &openid));
            let record = items
                .iter()
                .find(|item| item["pk"].as_s().unwrap() == &record)
                .unwrap_or_else(|| panic!("{case}: the audit record"));
            assert_eq!(record["reason"].as_s().unwrap(), "wechat_cancellation");
            for reason in ["wechat_revoke_phone", "wechat_cancellation"] {
                assert!(
                    record.contains_key(&format!("{reason}_at_ms")),
                    "{case}: the record keeps each reason's time: {record:?}"
                );
            }

            // WeChat pushing again (a retry it thought lost) changes nothing more.
            let answer = stack
                .sandbox_push(json!({"openid": openid, "event": "user_authorization_cancellation"}))
                .await
                .unwrap();
            delivered(&answer);
        }
    }
}

#[tokio::test]
async fn a_url_check_with_the_wrong_token_or_app_fails_and_saves_nothing() {
    let stack = TestStack::start().await.unwrap();
    let endpoint = stack
        .push_endpoint(TEST_APPID, "safe", "json")
        .await
        .unwrap();
    // The developer types another Token on the page than the stack holds: WeChat's check
    // fails and the settings are not saved.
    let refused: Value = reqwest::Client::new()
        .post(format!("{}/sandbox/push-config", stack.sandbox.base_url()))
        .json(&json!({
            "url": endpoint.url(TEST_APPID), "token": "someOtherToken",
            "encoding_aes_key": wxlogin::testing::TEST_PUSH_AES_KEY, "mode": "safe", "format": "json",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"], "url_check_failed", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("401"),
        "{refused}"
    );

    // A URL naming an app the stack does not serve fails the check too.
    let (_, openid) = user_with_phone(&stack).await;
    let other_url = endpoint.url("wx00000000unknown1");
    let saved: Value = reqwest::Client::new()
        .post(format!("{}/sandbox/push-config", stack.sandbox.base_url()))
        .json(&json!({
            "url": other_url, "token": wxlogin::testing::TEST_PUSH_TOKEN,
            "encoding_aes_key": wxlogin::testing::TEST_PUSH_AES_KEY,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        saved["error"], "url_check_failed",
        "an appid the stack does not serve: {saved}"
    );
    let answer = stack
        .sandbox_push(json!({"openid": openid, "event": "user_authorization_cancellation"}))
        .await
        .unwrap();
    delivered(&answer);
}
