//! The real `session` binary under a Lambda Runtime API emulator, fed API Gateway HTTP API
//! events: its answers, its log lines and its metrics, and no secret in what it prints.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use devkit::apigw::http_event;
use devkit::emf::{metric_points, metric_sum};
use devkit::runtime_api::RuntimeApi;
use devkit::stack::TestStack;
use serde_json::{Value, json};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_session"))
}

async fn invoke(runtime: &RuntimeApi, event: Value) -> (u16, Value) {
    let answer = runtime.invoke_http(event).await.unwrap();
    (answer.status, answer.body)
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
    let (runtime, process) = stack
        .spawn_function(
            binary(),
            &[
                ("AWS_LAMBDA_LOG_LEVEL", "trace"),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ],
        )
        .await
        .unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();

    let (status, body) = invoke(&runtime, session_event("GET", &token, false)).await;
    assert_eq!((status, &body["openid"]), (200, &user["openid"]), "{body}");
    let (status, body) = invoke(&runtime, session_event("GET", &token, true)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = invoke(&runtime, session_event("DELETE", &token, false)).await;
    assert_eq!((status, body), (200, json!({ "logged_out": true })));
    let (status, body) = invoke(&runtime, session_event("GET", &token, false)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    let output = process.output();
    let routes: Vec<String> = output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
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
    for (what, secret) in [
        ("access token", access_token.as_str()),
        ("token", token.as_str()),
        ("session_key", user["session_key"].as_str().unwrap()),
        ("AppSecret", stack.secret.as_str()),
    ] {
        assert!(!output.contains(secret), "the {what} appears in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_off_leaves_the_log_line_and_nothing_else() {
    let stack = TestStack::start().await.unwrap();
    let (runtime, process) = stack
        .spawn_function(
            binary(),
            &[
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("WXLOGIN_METRICS", "off"),
            ],
        )
        .await
        .unwrap();

    let (status, _) = invoke(&runtime, session_event("GET", "not-a-token", false)).await;
    assert_eq!(status, 401);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let output = process.output();
    assert!(output.contains("\"route\":\"GET /session\""), "{output}");
    assert!(metric_points(&output).is_empty(), "{output}");
}
