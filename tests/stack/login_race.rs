//! One code reaching 20 function instances at the same moment: exactly one wins.

use std::sync::Arc;
use wxlogin::testing::ServeHttp;

use devkit::race::assert_one_winner;
use devkit::stack::{TestResponse, TestStack, post};
use serde_json::json;
use tokio::sync::Barrier;

const INSTANCES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_raced_across_20_instances_yields_one_session() {
    let stack = TestStack::start().await.unwrap();
    // Each instance has its own DynamoDB and HTTP clients, as separate Lambdas would.
    let mut services = Vec::new();
    for _ in 0..INSTANCES {
        services.push(Arc::new(stack.login_service().await.unwrap()));
    }
    let user = stack.sandbox_login(json!({})).await.unwrap();
    let body = json!({ "code": user["code"] }).to_string();
    let barrier = Arc::new(Barrier::new(INSTANCES));

    let tasks: Vec<_> = services
        .into_iter()
        .map(|service| {
            let (barrier, body) = (Arc::clone(&barrier), body.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                TestResponse::from_response(service.handle(post(body)).await).unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        outcomes.push((response.status, response.json));
    }

    assert_eq!(outcomes.len(), INSTANCES);
    assert_one_winner(&outcomes);
    assert_eq!(stack.wechat_calls("jscode2session").await.unwrap(), 1);
    let items = stack.items().await.unwrap();
    let sessions = items
        .iter()
        .filter(|item| item["pk"].as_s().is_ok_and(|pk| pk.starts_with("session#")))
        .count();
    assert_eq!(sessions, 1);
}
