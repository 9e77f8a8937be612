//! A fleet of real `onlogin` processes under Runtime API emulators, against one table:
//! 1,000 logins from concurrent clients spread over 10 processes, then one code raced
//! across all of them; and one user's first logins raced across all of them. Bounded: a
//! few seconds on two cores.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use devkit::apigw::http_event;
use devkit::function_process::FunctionProcess;
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
    let binary = crate::function_binary("onlogin");
    let mut runtimes = Vec::new();
    let mut processes = Vec::new();
    for _ in 0..PROCESSES {
        let runtime = Arc::new(RuntimeApi::start().await.unwrap());
        processes.push(
            FunctionProcess::spawn(binary, &runtime.address(), &stack.function_env()).unwrap(),
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

/// `POST /onlogin` from `client` (each its own address, as real clients are: the
/// per-client login limit counts per address).
async fn login(runtime: &RuntimeApi, client: usize, code: &str) -> (u16, Value) {
    let body = json!({ "code": code }).to_string();
    let mut event = http_event("POST", "/onlogin", Some(&body), &[]);
    event["requestContext"]["http"]["sourceIp"] = json!(format!("198.18.0.{}", client + 1));
    let response = runtime
        .invoke(event, Duration::from_secs(60))
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
                let (status, answer) = login(&runtime, client, &code).await;
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
        .enumerate()
        .map(|(client, runtime)| {
            let (runtime, barrier, code) =
                (Arc::clone(runtime), Arc::clone(&barrier), raced.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                login(&runtime, client, &code).await
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

/// Rounds of the first-login race, each with a user the table has never seen.
const FIRST_LOGIN_ROUNDS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_first_logins_raced_across_ten_processes_leave_one_user_item() {
    let stack = Arc::new(TestStack::start().await.unwrap());
    let fleet = fleet(&stack).await;

    for round in 0..FIRST_LOGIN_ROUNDS {
        // One user, a code per process (the same person on several devices at once).
        let first = stack.sandbox_login(json!({})).await.unwrap();
        let openid = first["openid"].as_str().unwrap().to_owned();
        let mut codes = vec![first["code"].as_str().unwrap().to_owned()];
        while codes.len() < PROCESSES {
            let again = stack
                .sandbox_login(json!({ "openid": openid }))
                .await
                .unwrap();
            codes.push(again["code"].as_str().unwrap().to_owned());
        }
        let barrier = Arc::new(Barrier::new(PROCESSES));
        let racers: Vec<_> = fleet
            .runtimes
            .iter()
            .zip(codes)
            .enumerate()
            .map(|(client, (runtime, code))| {
                let (runtime, barrier) = (Arc::clone(runtime), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    login(&runtime, client, &code).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for racer in racers {
            let (status, answer) = racer.await.unwrap();
            assert_eq!(status, 200, "round {round}: {answer}");
            assert_eq!(answer["openid"], openid.as_str(), "round {round}");
            answers.push(answer);
        }
        let new_users = answers
            .iter()
            .filter(|answer| answer["new_user"] == true)
            .count();
        assert_eq!(
            new_users, 1,
            "round {round}: exactly one of the raced logins is the first"
        );

        let user_pk = format!("user#{}", wxlogin::testing::user_key(&openid).as_hex());
        let items = stack.items().await.unwrap();
        let users: Vec<_> = items
            .iter()
            .filter(|item| {
                item.get("openid")
                    .and_then(|value| value.as_s().ok())
                    .is_some_and(|id| *id == openid)
                    && item["pk"].as_s().is_ok_and(|pk| pk.starts_with("user#"))
            })
            .collect();
        assert_eq!(users.len(), 1, "round {round}: one user item per openid");
        let user = users[0];
        assert_eq!(user["pk"].as_s().unwrap(), &user_pk);
        let number = |item: &std::collections::HashMap<_, _>, name: &str| -> i64 {
            let value: &aws_sdk_dynamodb::types::AttributeValue = &item[name];
            value.as_n().unwrap().parse().unwrap()
        };
        let session_times: Vec<i64> = items
            .iter()
            .filter(|item| {
                item["pk"].as_s().is_ok_and(|pk| pk.starts_with("session#"))
                    && item["openid"].as_s().is_ok_and(|id| *id == openid)
            })
            .map(|item| number(item, "created_at"))
            .collect();
        assert_eq!(
            session_times.len(),
            PROCESSES,
            "round {round}: every session"
        );
        let created_at = number(user, "created_at");
        assert!(
            session_times.contains(&created_at),
            "round {round}: created_at {created_at} is one of the logins' times {session_times:?}"
        );
        assert!(
            number(user, "last_login_at") >= created_at,
            "round {round}: {user:?}"
        );
        assert_eq!(
            user["sessions"].as_ss().unwrap().len(),
            PROCESSES,
            "round {round}: every raced session is listed on the user"
        );
    }
}
