//! The real `account` binary under a Lambda Runtime API emulator: the copy of the
//! caller's data, the cancellation with its stack key read from a real Secrets Manager
//! protocol (moto's server) at the first erasure, its metrics, and no secret or personal
//! data in what it prints.

use std::path::Path;

use devkit::apigw::http_event;
use devkit::binary_check::{FunctionUnderTest, assert_init_fails, assert_no_secret, json_lines};
use devkit::emf::{metric_points, metric_sum};
use devkit::secrets_manager::SecretsManagerServer;
use devkit::stack::{TestStack, unique_suffix};
use serde_json::{Value, json};
use wxlogin::domain::StackKey;

fn binary() -> &'static Path {
    crate::function_binary("account")
}

fn account_event(method: &str, token: &str) -> Value {
    let bearer = format!("Bearer {token}");
    http_event(method, "/account", None, &[("authorization", &bearer)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_copies_then_cancels_with_the_key_from_secrets_manager() {
    let stack = TestStack::start().await.unwrap();
    let secrets = SecretsManagerServer::start().await.unwrap();
    let name = format!("wxlogin/audit-key-{}", unique_suffix());
    let key_text = format!(
        "generated-audit-key-{}-0123456789abcdefghij",
        unique_suffix()
    );
    // Not created yet: a function reading it at init could not start.
    let function = FunctionUnderTest::spawn_verbose(
        &stack,
        binary(),
        &[
            ("STACK_KEY", ""),
            ("STACK_KEY_SECRET_ID", &name),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint()),
        ],
    )
    .await
    .unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let openid = user["openid"].as_str().unwrap();

    let answer = function.invoke(account_event("GET", &token)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["openid"], openid);
    assert_eq!(answer.body["sessions"].as_array().unwrap().len(), 1);

    // The key is missing: the erasure does not start (the user stays whole) and says so.
    function
        .assert_error(account_event("DELETE", &token), 503, "store_unavailable")
        .await;
    let answer = function.invoke(account_event("GET", &token)).await;
    assert_eq!(answer.status, 200, "nothing was erased: {}", answer.body);

    secrets.create(&name, &key_text).await.unwrap();
    let answer = function.invoke(account_event("DELETE", &token)).await;
    assert_eq!(
        (answer.status, answer.body),
        (200, json!({"deleted": true, "sessions": 1}))
    );
    function
        .assert_error(account_event("GET", &token), 401, "invalid_token")
        .await;
    let subject = StackKey::new(key_text.as_bytes())
        .unwrap()
        .subject(devkit::stack::TEST_APPID, openid);
    let items = stack.items().await.unwrap();
    assert!(
        items
            .iter()
            .any(|item| item["pk"].as_s().unwrap() == &format!("erasure#{subject}")),
        "the record is named with the key read from Secrets Manager"
    );

    let output = function.settled_output().await;
    let routes: Vec<String> = json_lines(&output)
        .filter(|line| line["message"] == "request done")
        .map(|line| format!("{} {}", line["route"].as_str().unwrap(), line["status"]))
        .collect();
    assert_eq!(
        routes,
        [
            "GET /account 200",
            "DELETE /account 503",
            "GET /account 200",
            "DELETE /account 200",
            "GET /account 401"
        ]
    );
    let points = metric_points(&output);
    for (action, outcome, count) in [
        ("export", "ok", 2.0),
        ("delete", "ok", 1.0),
        ("export", "invalid_token", 1.0),
    ] {
        let dimensions = [("Action", action), ("Outcome", outcome)];
        assert_eq!(
            metric_sum(&points, "AccountRequests", &dimensions),
            count,
            "{dimensions:?}"
        );
    }
    assert_eq!(metric_sum(&points, "Erasures", &[("Reason", "user")]), 1.0);
    assert_no_secret(
        &output,
        &[
            ("token", token.as_str()),
            ("session_key", user["session_key"].as_str().unwrap()),
            ("stack key", key_text.as_str()),
            ("openid", openid),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_stack_key_the_function_refuses_to_start() {
    let stack = TestStack::start().await.unwrap();
    let env_with = |key: &str| -> Vec<(String, String)> {
        let mut env = stack.function_env();
        env.retain(|(name, _)| name != "STACK_KEY");
        env.push(("STACK_KEY".to_owned(), key.to_owned()));
        env
    };
    assert_init_fails(
        binary(),
        &env_with(""),
        "set exactly one of STACK_KEY and STACK_KEY_SECRET_ID",
    )
    .await;
    assert_init_fails(binary(), &env_with("too short"), "STACK_KEY is invalid").await;
}
