//! The real `onlogin` binary under a Lambda Runtime API emulator, fed API Gateway HTTP API
//! (payload 2.0) events, with everything it prints captured and searched for secrets.

use std::path::Path;

use devkit::apigw::{base64_http_event, http_event};
use devkit::binary_check::{FunctionUnderTest, assert_init_fails, assert_no_secret, json_lines};
use devkit::emf::{metric_points, metric_sum};
use devkit::stack::TestStack;
use serde_json::json;

fn binary() -> &'static Path {
    crate::function_binary("onlogin")
}

/// The binary on `stack`, at TRACE, its metrics in the test namespace.
async fn spawn_with_metrics(stack: &TestStack) -> FunctionUnderTest {
    FunctionUnderTest::spawn_verbose(stack, binary(), &[("METRICS_NAMESPACE", "wxlogin/test")])
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_api_gateway_events_and_never_logs_a_secret() {
    let stack = TestStack::start().await.unwrap();
    let function = spawn_with_metrics(&stack).await;

    let user = stack
        .sandbox_login(json!({ "unionid": "ocMvos6NjeKLIBqg5Mr9QjxrP1FA" }))
        .await
        .unwrap();
    let code = user["code"].as_str().unwrap();
    let body = json!({ "code": code }).to_string();

    let answer = function
        .invoke(http_event("POST", "/onlogin", Some(&body), &[]))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["openid"], user["openid"]);
    assert_eq!(answer.body["unionid"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
    assert_eq!(answer.headers["content-type"], "application/json");
    let token = answer.body["token"].as_str().unwrap().to_owned();
    let request_id = answer.headers["x-request-id"].as_str().unwrap().to_owned();

    // The same function answers whatever the path (cargo lambda watch strips its prefix).
    function
        .assert_error(http_event("POST", "/", Some(&body), &[]), 409, "code_used")
        .await;

    // API Gateway base64-encodes some bodies; they are decoded before parsing.
    let second = stack.sandbox_login(json!({})).await.unwrap();
    let encoded = json!({ "code": second["code"] }).to_string();
    let answer = function
        .invoke(base64_http_event("POST", "/onlogin", &encoded))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let second_token = answer.body["token"].as_str().unwrap().to_owned();

    for bad_body in [Some("{oops"), None] {
        let event = http_event("POST", "/onlogin", bad_body, &[]);
        function.assert_error(event, 400, "invalid_request").await;
    }

    // WeChat busy twice: the retry fails too, so the client gets 503 and the metrics
    // count two WeChat errors and one upstream failure.
    stack
        .sandbox_fault(json!({ "api": "jscode2session", "errcode": -1, "times": 2 }))
        .await
        .unwrap();
    let busy = stack.sandbox_login(json!({})).await.unwrap();
    let busy_body = json!({ "code": busy["code"] }).to_string();
    let event = http_event("POST", "/onlogin", Some(&busy_body), &[]);
    function
        .assert_error(event, 503, "wechat_unavailable")
        .await;

    let output = function.settled_output().await;
    let request_line = json_lines(&output)
        .find(|line| line["request_id"] == request_id.as_str())
        .unwrap_or_else(|| {
            panic!("a JSON log line carries the request id {request_id}:\n{output}")
        });
    assert_eq!(request_line["status"], 200);
    assert_eq!(request_line["route"], "POST /onlogin");
    assert_eq!(request_line["function"], "onlogin");
    assert!(request_line["store_ms"].as_f64().unwrap() > 0.0);
    assert!(request_line["wechat_ms"].as_f64().unwrap() > 0.0);

    let points = metric_points(&output);
    assert!(points.iter().all(|point| point.namespace == "wxlogin/test"));
    for (outcome, count) in [
        ("ok", 2.0),
        ("code_used", 1.0),
        ("invalid_request", 2.0),
        ("wechat_unavailable", 1.0),
    ] {
        assert_eq!(
            metric_sum(&points, "Logins", &[("Outcome", outcome)]),
            count,
            "{outcome}"
        );
    }
    let errors = [("Api", "jscode2session"), ("Errcode", "-1")];
    assert_eq!(metric_sum(&points, "WeChatErrors", &errors), 2.0);
    assert_eq!(
        metric_sum(&points, "UpstreamFailures", &[("Upstream", "wechat")]),
        1.0
    );
    // The alarms in template.yaml match this exact dimension set: one more dimension
    // would make a different metric and silence them.
    for point in points.iter().filter(|p| p.name == "UpstreamFailures") {
        assert_eq!(
            point.dimensions,
            [("Upstream".to_owned(), "wechat".to_owned())]
        );
    }
    assert!(
        points
            .iter()
            .all(|point| point.dimensions.iter().all(|(name, _)| name != "AppId")),
        "a single-app stack records no AppId"
    );
    let latency = points
        .iter()
        .find(|point| point.name == "UpstreamLatency")
        .unwrap();
    assert_eq!(latency.unit.as_deref(), Some("Milliseconds"));
    assert_eq!(
        metric_sum(&points, "UpstreamLatency", &[("Function", "onlogin")]).signum(),
        1.0
    );

    assert_no_secret(
        &output,
        &[
            ("session_key", user["session_key"].as_str().unwrap()),
            (
                "second session_key",
                second["session_key"].as_str().unwrap(),
            ),
            ("AppSecret", stack.secret.as_str()),
            ("token", token.as_str()),
            ("second token", second_token.as_str()),
            ("login code", code),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_config_fails_init_naming_the_variable() {
    let stack = TestStack::start().await.unwrap();
    let env: Vec<_> = stack
        .function_env()
        .into_iter()
        .filter(|(name, _)| name != "SESSIONS_TABLE")
        .collect();
    assert_init_fails(binary(), &env, "SESSIONS_TABLE is required").await;
}

/// The session PutItem and the user UpdateItem run at once (usecases/login.rs), so the
/// logged `store_ms` must be the time the request waited on DynamoDB, not the sum of the
/// two calls: otherwise upstream waits exceed the whole request and the bench's "own time"
/// (latency less waits) goes negative.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logged_upstream_waits_fit_inside_the_request() {
    let stack = TestStack::start().await.unwrap();
    let function = FunctionUnderTest::spawn(&stack, binary(), &[("AWS_LAMBDA_LOG_FORMAT", "JSON")])
        .await
        .unwrap();
    for _ in 0..20 {
        let user = stack.sandbox_login(json!({})).await.unwrap();
        let body = json!({ "code": user["code"] }).to_string();
        let answer = function
            .invoke(http_event("POST", "/onlogin", Some(&body), &[]))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let output = function.settled_output().await;
    let lines: Vec<_> = json_lines(&output)
        .filter(|line| line["message"] == "request done")
        .collect();
    assert_eq!(lines.len(), 20);
    for line in lines {
        let total = line["latency_ms"].as_f64().unwrap();
        let waits = line["wechat_ms"].as_f64().unwrap() + line["store_ms"].as_f64().unwrap();
        assert!(
            waits <= total,
            "waits {waits} ms > request {total} ms: {line}"
        );
    }
}

/// A stack of two apps records its outcomes by `AppId` as well, beside the aggregate the
/// alarms read, and names the app on each request's log line; a request that never got
/// to an app (named none) counts in the aggregate only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_of_two_apps_counts_by_app_beside_the_aggregate() {
    use devkit::stack::{SECOND_APPID, TEST_APPID};

    let stack = TestStack::with_two_apps().await.unwrap();
    let function = spawn_with_metrics(&stack).await;
    for (appid, named) in [
        (TEST_APPID, true),
        (SECOND_APPID, true),
        (SECOND_APPID, false),
    ] {
        let user = stack
            .sandbox_login(json!({ "appid": appid }))
            .await
            .unwrap();
        let body = if named {
            json!({ "code": user["code"], "appid": appid })
        } else {
            json!({ "code": user["code"] })
        };
        let answer = function
            .invoke(http_event("POST", "/onlogin", Some(&body.to_string()), &[]))
            .await;
        let expected = if named { 200 } else { 400 };
        assert_eq!(answer.status, expected, "{}", answer.body);
    }

    let output = function.settled_output().await;
    let points = metric_points(&output);
    let logins = |dimensions: &[&str]| {
        points
            .iter()
            .filter(|point| point.name == "Logins")
            .filter(|point| {
                point
                    .dimensions
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .eq(dimensions.iter().copied())
            })
            .flat_map(|point| {
                point
                    .values
                    .iter()
                    .map(move |value| (point.dimensions.clone(), *value))
            })
            .collect::<Vec<_>>()
    };
    let aggregate: f64 = logins(&["Outcome"]).iter().map(|(_, value)| value).sum();
    assert_eq!(aggregate, 3.0, "every login in the aggregate: {output}");
    let per_app = logins(&["Outcome", "AppId"]);
    for appid in [TEST_APPID, SECOND_APPID] {
        let count: f64 = per_app
            .iter()
            .filter(|(dimensions, _)| dimensions.contains(&("AppId".to_owned(), appid.to_owned())))
            .map(|(_, value)| value)
            .sum();
        assert_eq!(count, 1.0, "{appid}: {per_app:?}");
    }
    let lines: Vec<_> = json_lines(&output)
        .filter(|line| line["message"] == "request done")
        .collect();
    assert_eq!(lines.len(), 3, "{output}");
    let named: Vec<_> = lines
        .iter()
        .filter_map(|line| line["appid"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(named, [TEST_APPID, SECOND_APPID], "{output}");
}
