//! The real `session` binary under a Lambda Runtime API emulator, fed API Gateway HTTP API
//! events: its answers, its log lines and its metrics, and no secret in what it prints.

use std::path::Path;

use devkit::apigw::http_event;
use devkit::binary_check::{FunctionUnderTest, assert_no_secret, json_lines};
use devkit::emf::{metric_points, metric_sum};
use devkit::stack::TestStack;
use serde_json::{Value, json};

fn binary() -> &'static Path {
    crate::function_binary("session")
}

fn session_event(method: &str, token: &str, check: bool) -> Value {
    let bearer = format!("Bearer {token}");
    let mut event = http_event(method, "/session", None, &[("authorization", &bearer)]);
    if check {
        event["rawQueryString"] = json!("check=wechat");
        event["queryStringParameters"] = json!({ "check": "wechat" });
    }
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_answers_who_checks_and_logs_out_with_metrics_and_no_secret() {
    let stack = TestStack::start().await.unwrap();
    let function = FunctionUnderTest::spawn_verbose(&stack, binary(), &[])
        .await
        .unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();

    let answer = function.invoke(session_event("GET", &token, false)).await;
    assert_eq!(
        (answer.status, &answer.body["openid"]),
        (200, &user["openid"]),
        "{}",
        answer.body
    );
    let answer = function.invoke(session_event("GET", &token, true)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = function
        .invoke(session_event("DELETE", &token, false))
        .await;
    assert_eq!(
        (answer.status, answer.body),
        (200, json!({ "logged_out": true }))
    );
    function
        .assert_error(session_event("GET", &token, false), 401, "invalid_token")
        .await;

    let output = function.settled_output().await;
    let routes: Vec<String> = json_lines(&output)
        .filter(|line| line["message"] == "request done")
        .map(|line| format!("{} {}", line["route"].as_str().unwrap(), line["status"]))
        .collect();
    assert_eq!(
        routes,
        [
            "GET /session 200",
            "GET /session 200",
            "DELETE /session 200",
            "GET /session 401"
        ]
    );

    let points = metric_points(&output);
    for (action, outcome) in [
        ("whoami", "ok"),
        ("check", "ok"),
        ("logout", "ok"),
        ("whoami", "invalid_token"),
    ] {
        let dimensions = [("Action", action), ("Outcome", outcome)];
        assert_eq!(
            metric_sum(&points, "SessionRequests", &dimensions),
            1.0,
            "{dimensions:?}"
        );
    }
    assert!(metric_sum(&points, "UpstreamLatency", &[("Upstream", "wechat")]) > 0.0);
    assert_eq!(metric_sum(&points, "UpstreamFailures", &[]), 0.0);
    assert_eq!(
        metric_sum(&points, "ColdStarts", &[("Function", "session")]),
        1.0,
        "one cold start, sent with the first request"
    );

    let access_token = wxlogin::ports::AccessTokenStore::get_access_token(
        &stack.store(),
        devkit::stack::TEST_APPID,
    )
    .await;
    let access_token = access_token.unwrap().unwrap().token;
    assert_no_secret(
        &output,
        &[
            ("access token", access_token.as_str()),
            ("token", token.as_str()),
            ("session_key", user["session_key"].as_str().unwrap()),
            ("AppSecret", stack.secret.as_str()),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_off_leaves_the_log_line_and_nothing_else() {
    let stack = TestStack::start().await.unwrap();
    let function = FunctionUnderTest::spawn(
        &stack,
        binary(),
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("WXLOGIN_METRICS", "off"),
        ],
    )
    .await
    .unwrap();

    let answer = function
        .invoke(session_event("GET", "not-a-token", false))
        .await;
    assert_eq!(answer.status, 401);

    let output = function.settled_output().await;
    assert!(output.contains("\"route\":\"GET /session\""), "{output}");
    assert!(metric_points(&output).is_empty(), "{output}");
}
