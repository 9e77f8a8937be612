//! The sandbox's pushes as WeChat makes them: saved only after the URL check, retried
//! up to three attempts until an answer says `success`.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use wechat_sandbox::SandboxConfig;

const APPID: &str = "wx00000000sandbox1";
const TOKEN: &str = "pushTestToken";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// A push URL that echoes the check, then fails the first `failures` pushes with 503.
async fn endpoint(failures: usize) -> (String, Arc<AtomicUsize>) {
    let pushes = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/push",
            axum::routing::get(
                |Query(query): Query<std::collections::HashMap<String, String>>| async move {
                    query.get("echostr").cloned().unwrap_or_default()
                },
            )
            .post(
                |State((pushes, failures)): State<(Arc<AtomicUsize>, usize)>| async move {
                    let seen = pushes.fetch_add(1, Ordering::SeqCst);
                    if seen < failures {
                        (StatusCode::SERVICE_UNAVAILABLE, "busy")
                    } else {
                        (StatusCode::OK, "success")
                    }
                },
            ),
        )
        .with_state((Arc::clone(&pushes), failures));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, pushes)
}

async fn post(base: &str, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_push_is_retried_until_success_and_at_most_three_times() {
    let sandbox = wechat_sandbox::spawn_local(SandboxConfig::new(APPID, "secret"))
        .await
        .unwrap();
    let base = sandbox.base_url();
    let unsaved = post(
        &base,
        "/sandbox/push",
        json!({"openid": "o1", "event": "x"}),
    )
    .await;
    assert_eq!(unsaved["error"], "push_not_configured");

    for (failures, attempts, delivered) in [(0, 1, true), (2, 3, true), (5, 3, false)] {
        let (url, pushes) = endpoint(failures).await;
        let saved = post(
            &base,
            "/sandbox/push-config",
            json!({"url": url, "token": TOKEN, "encoding_aes_key": AES_KEY}),
        )
        .await;
        assert_eq!(saved["verified"], true, "{saved}");
        let answer = post(
            &base,
            "/sandbox/push",
            json!({"openid": "o1", "event": "user_authorization_cancellation"}),
        )
        .await;
        assert_eq!(answer["delivered"], delivered, "{answer}");
        assert_eq!(
            answer["attempts"].as_array().unwrap().len(),
            attempts,
            "{answer}"
        );
        assert_eq!(pushes.load(Ordering::SeqCst), attempts);
    }
}

#[tokio::test]
async fn a_url_that_does_not_echo_is_not_saved() {
    let sandbox = wechat_sandbox::spawn_local(SandboxConfig::new(APPID, "secret"))
        .await
        .unwrap();
    let app = Router::new().route("/push", axum::routing::get(|| async { "not the echostr" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let answer = post(
        &sandbox.base_url(),
        "/sandbox/push-config",
        json!({"url": url, "token": TOKEN, "encoding_aes_key": AES_KEY}),
    )
    .await;
    assert_eq!(answer["error"], "url_check_failed", "{answer}");
    for bad in [
        json!({"url": "http://x", "token": "t", "encoding_aes_key": AES_KEY}),
        json!({"url": "http://x", "token": TOKEN, "encoding_aes_key": "short"}),
    ] {
        let answer = post(&sandbox.base_url(), "/sandbox/push-config", bad).await;
        assert_eq!(answer["error"], "invalid_request", "{answer}");
    }
}
