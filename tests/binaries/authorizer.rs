//! The real `authorizer` binary under a Lambda Runtime API emulator, fed API Gateway HTTP
//! API authorizer events (payload 2.0, simple responses): who is allowed and with what
//! context, what is denied, a store outage failing the invocation (never an allow), its
//! log lines and metrics, and no secret in what it prints.

use std::path::Path;
use std::time::Duration;

use devkit::authorizer_event::{authorizer_event, authorizer_event_with};
use devkit::binary_check::{FunctionUnderTest, assert_init_fails, assert_no_secret, json_lines};
use devkit::emf::{metric_points, metric_sum};
use devkit::function_process::FunctionProcess;
use devkit::runtime_api::RuntimeApi;
use devkit::stack::{TEST_APPID, TestStack, bearer_request, post_with_bearer, with_query};
use lambda_http::http::Method;
use serde_json::{Value, json};
use wxlogin::testing::ServeHttp;

const PHONE: &str = "13800138000";

fn binary() -> &'static Path {
    crate::function_binary("authorizer")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The function's answer to `event`: `Ok(simple response)` or `Err(the error report)`.
async fn authorize(function: &FunctionUnderTest, event: Value) -> Result<Value, Value> {
    function
        .runtime
        .invoke(event, Duration::from_secs(30))
        .await
        .unwrap_or_else(|err| panic!("invoking the authorizer: {err:#}"))
}

/// Asserts `token` is allowed with `context` as the caller, in the test stack's app (every
/// session here is [`TEST_APPID`]'s).
/// `"phoneVerifiedAt": "recent"` in `context` stands for a time within the last minute.
async fn assert_allows(function: &FunctionUnderTest, token: &str, context: Value) {
    let mut context = context;
    context["appid"] = json!(TEST_APPID);
    let answer = authorize(function, authorizer_event(Some(&bearer(token))))
        .await
        .unwrap();
    if context["phoneVerifiedAt"] == "recent" {
        let at = answer["context"]["phoneVerifiedAt"].as_i64().unwrap();
        let now = wxlogin::domain::clock::now_epoch_seconds();
        assert!(
            (now - 60..=now).contains(&at),
            "verified at {at}, now {now}"
        );
        context["phoneVerifiedAt"] = json!(at);
    }
    assert_eq!(
        answer,
        json!({ "isAuthorized": true, "context": context }),
        "an allow with exactly the caller"
    );
}

async fn assert_denies(function: &FunctionUnderTest, event: Value, what: &str) {
    let answer = authorize(function, event)
        .await
        .unwrap_or_else(|err| panic!("{what}: the invocation failed: {err}"));
    assert_eq!(answer, json!({ "isAuthorized": false }), "{what}");
}

/// The `outcome` of each "request done" line, in order.
fn outcomes(output: &str) -> Vec<String> {
    json_lines(output)
        .filter(|line| line["message"] == "request done")
        .map(|line| line["outcome"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_token_is_allowed_with_its_caller_and_phone_and_no_secret_is_printed() {
    let stack = TestStack::start().await.unwrap();
    let function = FunctionUnderTest::spawn_verbose(&stack, binary(), &[])
        .await
        .unwrap();
    let (token, user) = stack
        .logged_in_user(json!({ "unionid": "ocMvos6NjeKLIBqg5Mr9QjxrP1FA" }))
        .await
        .unwrap();
    let openid = user["openid"].as_str().unwrap();

    assert_allows(
        &function,
        &token,
        json!({ "openid": openid, "unionid": "ocMvos6NjeKLIBqg5Mr9QjxrP1FA" }),
    )
    .await;

    // The phone the user verifies is in the context from the next authorization on.
    let phone = stack
        .sandbox_phone(json!({ "openid": openid, "phoneNumber": PHONE }))
        .await
        .unwrap();
    let bound = stack
        .phone_service()
        .await
        .unwrap()
        .handle(post_with_bearer(
            &token,
            json!({ "code": phone["code"] }).to_string(),
        ))
        .await;
    assert_eq!(bound.status(), 200);
    assert_allows(
        &function,
        &token,
        json!({
            "openid": openid,
            "unionid": "ocMvos6NjeKLIBqg5Mr9QjxrP1FA",
            "phoneNumber": PHONE,
            "phoneVerifiedBy": "code",
            "phoneVerifiedAt": "recent"
        }),
    )
    .await;

    // A user without unionid or phone: the openid alone.
    let (plain, plain_user) = stack.logged_in_user(json!({})).await.unwrap();
    assert_allows(&function, &plain, json!({ "openid": plain_user["openid"] })).await;

    // Only the identity source, as API Gateway may send it: still the caller.
    let answer = authorize(
        &function,
        authorizer_event_with(&[], Some(vec![&bearer(&plain)])),
    )
    .await
    .unwrap();
    assert_eq!(answer["isAuthorized"], true, "{answer}");

    let output = function.settled_output().await;
    assert_eq!(outcomes(&output), ["allow", "allow", "allow", "allow"]);
    for line in json_lines(&output).filter(|line| line["message"] == "request done") {
        assert!(line["latency_ms"].as_f64().unwrap() > 0.0, "{line}");
        assert!(line["store_ms"].as_f64().unwrap() > 0.0, "{line}");
    }
    let points = metric_points(&output);
    assert_eq!(
        metric_sum(&points, "Authorizations", &[("Outcome", "allow")]),
        4.0
    );
    assert_eq!(
        metric_sum(&points, "Authorizations", &[("Outcome", "deny")]),
        0.0
    );
    assert_eq!(
        metric_sum(&points, "ColdStarts", &[("Function", "authorizer")]),
        1.0
    );
    assert!(
        metric_sum(
            &points,
            "UpstreamLatency",
            &[("Upstream", "dynamodb"), ("Function", "authorizer")]
        ) > 0.0
    );
    assert_eq!(metric_sum(&points, "UpstreamFailures", &[]), 0.0);
    assert_no_secret(
        &output,
        &[
            ("token", token.as_str()),
            ("second token", plain.as_str()),
            ("session_key", user["session_key"].as_str().unwrap()),
            ("phone number", PHONE),
            ("AppSecret", stack.secret.as_str()),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anything_but_a_live_token_is_denied() {
    let stack = TestStack::start().await.unwrap();
    let function = FunctionUnderTest::spawn_verbose(&stack, binary(), &[])
        .await
        .unwrap();
    let session = stack.session_service().await.unwrap();
    let (live, user) = stack.logged_in_user(json!({})).await.unwrap();
    let expired = stack.expired_session(&user).await.unwrap();
    let unknown = wxlogin::testing::unknown_token();

    let (logged_out, _) = stack.logged_in_user(json!({})).await.unwrap();
    let response = session
        .handle(bearer_request(Method::DELETE, &logged_out))
        .await;
    assert_eq!(response.status(), 200);

    // Two sessions of one user, both ended by "log out everywhere" from one of them.
    let (revoked, other) = stack.logged_in_user(json!({})).await.unwrap();
    let again = stack
        .sandbox_login(json!({ "openid": other["openid"] }))
        .await
        .unwrap();
    let answer = stack
        .login_service()
        .await
        .unwrap()
        .handle(devkit::stack::post(
            json!({ "code": again["code"] }).to_string(),
        ))
        .await;
    let answer: Value = serde_json::from_slice(answer.body().as_ref()).unwrap();
    let revoking = answer["token"].as_str().unwrap().to_owned();
    let response = session
        .handle(with_query(
            bearer_request(Method::DELETE, &revoking),
            &[("all", "true")],
        ))
        .await;
    assert_eq!(response.status(), 200);

    let cases: Vec<(&str, Value)> = vec![
        ("no Authorization header", authorizer_event(None)),
        ("garbage", authorizer_event(Some("garbage"))),
        (
            "Bearer and garbage",
            authorizer_event(Some("Bearer garbage")),
        ),
        (
            "Basic with a live token",
            authorizer_event(Some(&format!("Basic {live}"))),
        ),
        (
            "a live token without a scheme",
            authorizer_event(Some(&live)),
        ),
        (
            "an unknown token",
            authorizer_event(Some(&bearer(unknown.expose()))),
        ),
        (
            "an expired session",
            authorizer_event(Some(&bearer(expired.expose()))),
        ),
        (
            "a logged-out token",
            authorizer_event(Some(&bearer(&logged_out))),
        ),
        (
            "a token revoked by log out everywhere",
            authorizer_event(Some(&bearer(&revoked))),
        ),
        (
            "the token that revoked them",
            authorizer_event(Some(&bearer(&revoking))),
        ),
    ];
    let denials = cases.len();
    for (what, event) in cases {
        assert_denies(&function, event, what).await;
    }
    // The live token still works beside all of them.
    assert_allows(&function, &live, json!({ "openid": user["openid"] })).await;

    let output = function.settled_output().await;
    let mut expected = vec!["deny"; denials];
    expected.push("allow");
    assert_eq!(outcomes(&output), expected);
    let points = metric_points(&output);
    assert_eq!(
        metric_sum(&points, "Authorizations", &[("Outcome", "deny")]),
        denials as f64
    );
    assert_eq!(
        metric_sum(&points, "Authorizations", &[("Outcome", "allow")]),
        1.0
    );
    // A header that cannot be a bearer token is denied without a read.
    let no_read: Vec<f64> = json_lines(&output)
        .filter(|line| line["message"] == "request done")
        .take(5)
        .map(|line| line["store_ms"].as_f64().unwrap())
        .collect();
    assert_eq!(no_read, [0.0; 5], "malformed headers cost no store read");
    assert_no_secret(
        &output,
        &[
            ("live token", live.as_str()),
            ("logged-out token", logged_out.as_str()),
            ("revoked token", revoked.as_str()),
            ("expired token", expired.expose()),
            ("session_key", user["session_key"].as_str().unwrap()),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_outage_fails_the_invocation_and_never_allows() {
    let mut stack = TestStack::with_private_dynamodb().await.unwrap();
    let function = FunctionUnderTest::spawn_verbose(&stack, binary(), &[])
        .await
        .unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    assert_allows(&function, &token, json!({ "openid": user["openid"] })).await;

    stack.stop_dynamodb().await.unwrap();
    let started = std::time::Instant::now();
    let failed = authorize(&function, authorizer_event(Some(&bearer(&token))))
        .await
        .expect_err("a store failure must fail the invocation, not allow or deny");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded by the SDK timeouts: {:?}",
        started.elapsed()
    );
    assert_eq!(failed["errorType"], "StoreUnavailable", "{failed}");
    // A malformed header needs no store: still a plain deny during the outage.
    assert_denies(
        &function,
        authorizer_event(Some("Bearer garbage")),
        "garbage during the outage",
    )
    .await;

    let output = function.settled_output().await;
    assert_eq!(outcomes(&output), ["allow", "error", "deny"]);
    let points = metric_points(&output);
    assert_eq!(
        metric_sum(&points, "Authorizations", &[("Outcome", "error")]),
        1.0
    );
    assert_eq!(
        metric_sum(&points, "UpstreamFailures", &[("Upstream", "dynamodb")]),
        1.0
    );
    assert_no_secret(
        &output,
        &[
            ("token", token.as_str()),
            ("session_key", user["session_key"].as_str().unwrap()),
        ],
    );

    // The same instance recovers once the table is back.
    stack.restart_dynamodb().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    assert_allows(&function, &token, json!({ "openid": user["openid"] })).await;
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

    assert_denies(&function, authorizer_event(None), "no header").await;

    let output = function.settled_output().await;
    assert_eq!(outcomes(&output), ["deny"], "{output}");
    assert!(metric_points(&output).is_empty(), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_needs_the_table_and_the_appids_never_the_app_secret() {
    let stack = TestStack::start().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let without = |dropped: &dyn Fn(&str) -> bool| -> Vec<(String, String)> {
        stack
            .function_env()
            .into_iter()
            .filter(|(name, _)| !dropped(name))
            .collect()
    };

    // The appid alone, no AppSecret and no WeChat base: it serves.
    let runtime = RuntimeApi::start().await.unwrap();
    let env = without(&|name| name.starts_with("WECHAT_") && name != "WECHAT_APPID");
    let _process = FunctionProcess::spawn(binary(), &runtime.address(), &env).unwrap();
    let answer = runtime
        .invoke(
            authorizer_event(Some(&bearer(&token))),
            Duration::from_secs(30),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        answer,
        json!({ "isAuthorized": true, "context": { "appid": TEST_APPID, "openid": user["openid"] } }),
        "a session names its app"
    );

    // Told no app, it does not start rather than vouch for sessions of any app.
    let env = without(&|name| name.starts_with("WECHAT_"));
    assert_init_fails(
        binary(),
        &env,
        "WECHAT_APPID (or WECHAT_APPIDS, or WECHAT_APPS) is required",
    )
    .await;

    // Two app sources at once: refused as every other function refuses them.
    let mut env = stack.function_env();
    env.push(("WECHAT_APPIDS".to_owned(), TEST_APPID.to_owned()));
    assert_init_fails(binary(), &env, "set exactly one of WECHAT_APPID").await;

    // No table: the init fails, naming it, and never asks for work.
    let env = without(&|name| name == "SESSIONS_TABLE");
    assert_init_fails(binary(), &env, "SESSIONS_TABLE is required").await;
}
