//! One forced token refresh at a time: ten real `decrypt-phone` binaries, three code-form
//! requests each, while WeChat answers 40001 to every phone call. Between them they force
//! at most one refresh (the app-wide claim in the shared item), and every answer is a
//! clear 502/503, never a 500.

use std::sync::Arc;

use devkit::apigw::http_event;
use devkit::binary_check::FunctionUnderTest;
use devkit::stack::TestStack;
use serde_json::json;
use tokio::task::JoinSet;

const INSTANCES: usize = 10;
const REQUESTS_PER_INSTANCE: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_instances_meeting_40001_force_at_most_one_refresh() {
    let stack = TestStack::start().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        let function = FunctionUnderTest::spawn(
            &stack,
            crate::function_binary("decrypt-phone"),
            // Quotas are not the subject here: thirty verifications for one user.
            &[("PHONE_VERIFICATIONS_PER_USER_PER_DAY", "0")],
        )
        .await
        .unwrap();
        instances.push(Arc::new(function));
    }
    let mut bodies = Vec::new();
    for _ in 0..INSTANCES * REQUESTS_PER_INSTANCE {
        let phone = stack
            .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": "13912345678" }))
            .await
            .unwrap();
        bodies.push(json!({ "code": phone["code"] }).to_string());
    }
    stack
        .sandbox_fault(json!({ "api": "getuserphonenumber", "errcode": 40001, "times": 1000 }))
        .await
        .unwrap();

    let bearer = format!("Bearer {token}");
    let mut requests = JoinSet::new();
    for (function, bodies) in instances.iter().zip(bodies.chunks(REQUESTS_PER_INSTANCE)) {
        let (function, bodies, bearer) = (Arc::clone(function), bodies.to_vec(), bearer.clone());
        requests.spawn(async move {
            let mut answers = Vec::new();
            for body in bodies {
                let headers = [("authorization", bearer.as_str())];
                let answer = function
                    .invoke(http_event("POST", "/decrypt-phone", Some(&body), &headers))
                    .await;
                answers.push((answer.status, answer.body));
            }
            answers
        });
    }
    let answers: Vec<_> = requests.join_all().await.into_iter().flatten().collect();
    assert_eq!(answers.len(), INSTANCES * REQUESTS_PER_INSTANCE);
    for (status, body) in &answers {
        let clear = matches!(
            (*status, body["error"].as_str()),
            (502, Some("wechat_error")) | (503, Some("wechat_unavailable"))
        );
        assert!(clear, "{status} {body}");
    }

    let stats = stack.sandbox_stats().await.unwrap();
    let forced = stats["forced_refreshes"].as_u64().unwrap();
    eprintln!(
        "{} answers (502/503), forced refreshes {forced}, stable_token calls {}, refusals {}",
        answers.len(),
        stats["calls"]["stable_token"],
        stats["forced_refresh_refusals"]
    );
    assert!(forced <= 1, "{stats}");
    assert_eq!(stats["forced_refresh_refusals"]["daily_limit"], 0);
    assert!(
        stats["calls"]["getuserphonenumber"].as_u64().unwrap()
            <= u64::try_from(INSTANCES * REQUESTS_PER_INSTANCE * 2).unwrap(),
        "each request calls once, and at most once more with a replacement: {stats}"
    );
}
