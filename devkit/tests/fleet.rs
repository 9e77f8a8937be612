//! A fleet of real `onlogin` processes under Runtime API emulators, against one table:
//! 1,000 logins from concurrent clients spread over 10 processes, then one code raced
//! across all of them. Bounded: a few seconds on two cores.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use devkit::apigw::http_event;
use devkit::function_process::{FunctionProcess, workspace_binary};
use devkit::race::assert_one_winner;
use devkit::runtime_api::RuntimeApi;
use devkit::stack::TestStack;
use serde_json::{Value, json};
use tokio::sync::Barrier;

const PROCESSES: usize = 10;
const LOGINS: usize = 1000;
/// Concurrent clients; each emulator hands work to its one process as it polls.
const CLIENTS: usize = 40;

struct Fleet {
    runtimes: Vec<Arc<RuntimeApi>>,
    _processes: Vec<FunctionProcess>,
}

async fn fleet(stack: &TestStack) -> Fleet {
    let binary = workspace_binary("onlogin").unwrap();
    let mut runtimes = Vec::new();
    let mut processes = Vec::new();
    for _ in 0..PROCESSES {
        let runtime = Arc::new(RuntimeApi::start().await.unwrap());
        processes.push(
            FunctionProcess::spawn(&binary, &runtime.address(), &stack.function_env()).unwrap(),
        );
        runtime
            .wait_first_poll(Duration::from_secs(30))
            .await
            .unwrap();
        runtimes.push(runtime);
    }
    Fleet {
        runtimes,
        _processes: processes,
    }
}

async fn login(runtime: &RuntimeApi, code: &str) -> (u16, Value) {
    let body = json!({ "code": code }).to_string();
    let response = runtime
        .invoke(
            http_event("POST", "/onlogin", Some(&body), &[]),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("invocation error: {err}"));
    let status = u16::try_from(response["statusCode"].as_u64().unwrap()).unwrap();
    (
        status,
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_logins_across_ten_processes_then_one_raced_code() {
    let stack = Arc::new(TestStack::start().await.unwrap());
    let fleet = fleet(&stack).await;

    let mut codes = Vec::with_capacity(LOGINS);
    for _ in 0..LOGINS {
        codes.push(
            stack.sandbox_login(json!({})).await.unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let codes = Arc::new(tokio::sync::Mutex::new(codes));
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (codes, runtime) = (
            Arc::clone(&codes),
            Arc::clone(&fleet.runtimes[client % PROCESSES]),
        );
        clients.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            while let Some(code) = codes.lock().await.pop() {
                let (status, answer) = login(&runtime, &code).await;
                assert_eq!(status, 200, "{answer}");
                tokens.push(answer["token"].as_str().unwrap().to_owned());
            }
            tokens
        }));
    }
    let mut tokens = HashSet::new();
    for client in clients {
        tokens.extend(client.await.unwrap());
    }
    assert_eq!(tokens.len(), LOGINS, "1,000 distinct tokens");
    let items = stack.items().await.unwrap();
    let sessions = items
        .iter()
        .filter(|item| item["pk"].as_s().is_ok_and(|pk| pk.starts_with("session#")))
        .count();
    assert_eq!(sessions, LOGINS, "1,000 sessions, none lost");
    assert_eq!(
        stack.wechat_calls("jscode2session").await.unwrap(),
        LOGINS as u64
    );

    // One code reaching every process at the same moment.
    let raced = stack.sandbox_login(json!({})).await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let barrier = Arc::new(Barrier::new(PROCESSES));
    let racers: Vec<_> = fleet
        .runtimes
        .iter()
        .map(|runtime| {
            let (runtime, barrier, code) =
                (Arc::clone(runtime), Arc::clone(&barrier), raced.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                login(&runtime, &code).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }
    assert_eq!(outcomes.len(), PROCESSES);
    assert_one_winner(&outcomes);
    assert_eq!(
        stack.wechat_calls("jscode2session").await.unwrap(),
        LOGINS as u64 + 1
    );
}
