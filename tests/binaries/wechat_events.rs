//! The real `wechat-events` binary under a Lambda Runtime API emulator, as API Gateway
//! invokes it for `/wechat/events/{appid}`: WeChat's URL check and a cancellation push,
//! with the push keys and the stack key read from a real Secrets Manager protocol (moto)
//! at the first request; no key, Token or openid in what it prints.

use std::path::Path;

use devkit::binary_check::{FunctionUnderTest, assert_no_secret, json_lines};
use devkit::emf::{metric_points, metric_sum};
use devkit::secrets_manager::SecretsManagerServer;
use devkit::stack::{TEST_APPID, TestStack, unique_suffix};
use serde_json::{Value, json};
use wxlogin::domain::clock::now_epoch_seconds;
use wxlogin::domain::push::PushFormat;
use wxlogin::testing::pushes::{PushMode, signed_push, url_check, user_event};
use wxlogin::testing::{TEST_PUSH_AES_KEY, TEST_PUSH_TOKEN, TEST_STACK_KEY, push_keys};

fn binary() -> &'static Path {
    crate::function_binary("wechat-events")
}

/// The event API Gateway sends for `method` on the test app's push URL.
fn push_event(method: &str, query: &[(String, String)], body: Option<&str>) -> Value {
    devkit::apigw::push_event(method, TEST_APPID, query, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_checks_the_url_and_erases_a_cancelled_user() {
    let stack = TestStack::start().await.unwrap();
    let secrets = SecretsManagerServer::start().await.unwrap();
    let push_name = format!("wxlogin/push-{}", unique_suffix());
    let audit_name = format!("wxlogin/audit-{}", unique_suffix());
    let function = FunctionUnderTest::spawn_verbose(
        &stack,
        binary(),
        &[
            ("WECHAT_PUSH_KEYS", ""),
            ("WECHAT_PUSH_SECRET_ID", &push_name),
            ("STACK_KEY", ""),
            ("STACK_KEY_SECRET_ID", &audit_name),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint()),
        ],
    )
    .await
    .unwrap();
    secrets
        .create(&push_name, &stack.push_keys_json())
        .await
        .unwrap();
    secrets.create(&audit_name, TEST_STACK_KEY).await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let openid = user["openid"].as_str().unwrap();
    let now = now_epoch_seconds();

    let answer = function
        .invoke(push_event(
            "GET",
            &url_check(&push_keys(), "echo4567", now),
            None,
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.raw_body, "echo4567");

    let push = signed_push(
        &push_keys(),
        TEST_APPID,
        &user_event(TEST_APPID, openid, "user_authorization_cancellation", None),
        PushMode::Safe,
        PushFormat::Json,
        now,
    );
    let answer = function
        .invoke(push_event("POST", &push.query, Some(&push.body)))
        .await;
    assert_eq!((answer.status, answer.raw_body.as_str()), (200, "success"));
    let forged = signed_push(
        &wxlogin::domain::push::PushKeys::new("forgedToken", TEST_PUSH_AES_KEY).unwrap(),
        TEST_APPID,
        &user_event(TEST_APPID, openid, "user_authorization_cancellation", None),
        PushMode::Safe,
        PushFormat::Xml,
        now,
    );
    function
        .assert_error(
            push_event("POST", &forged.query, Some(&forged.body)),
            401,
            "invalid_signature",
        )
        .await;

    let items = stack.items().await.unwrap();
    let user_pk = format!("user#{}", wxlogin::testing::user_key(openid).as_hex());
    assert!(
        !items
            .iter()
            .any(|item| item["pk"].as_s().unwrap() == &user_pk)
    );

    let output = function.settled_output().await;
    let routes: Vec<String> = json_lines(&output)
        .filter(|line| line["message"] == "request done")
        .map(|line| format!("{} {}", line["route"].as_str().unwrap(), line["status"]))
        .collect();
    assert_eq!(
        routes,
        [
            "GET /wechat/events/{appid} 200",
            "POST /wechat/events/{appid} 200",
            "POST /wechat/events/{appid} 401"
        ]
    );
    let points = metric_points(&output);
    assert_eq!(
        metric_sum(
            &points,
            "Pushes",
            &[
                ("Event", "user_authorization_cancellation"),
                ("Action", "erased")
            ]
        ),
        1.0
    );
    assert_eq!(
        metric_sum(&points, "Erasures", &[("Reason", "wechat_cancellation")]),
        1.0
    );
    assert_eq!(
        metric_sum(
            &points,
            "PushRequests",
            &[("Kind", "push"), ("Outcome", "invalid_signature")]
        ),
        1.0
    );
    assert_no_secret(
        &output,
        &[
            ("push Token", TEST_PUSH_TOKEN),
            ("EncodingAESKey", TEST_PUSH_AES_KEY),
            ("stack key", TEST_STACK_KEY),
            ("openid", openid),
            ("token", token.as_str()),
        ],
    );
}
