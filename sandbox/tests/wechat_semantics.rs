//! The sandbox answers like WeChat: single-use, expiring codes; errcodes for a wrong
//! appid/secret; JSON labelled text/plain; and it injects faults on request.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use wechat_sandbox::{RunningSandbox, SandboxConfig};

mod support;
use support::{APPID, SECRET, config, get, post, stable_token_with, start};

async fn exchange_with(
    sandbox: &RunningSandbox,
    appid: &str,
    secret: &str,
    code: &str,
) -> (String, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/sns/jscode2session", sandbox.base_url()))
        .query(&[
            ("appid", appid),
            ("secret", secret),
            ("js_code", code),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "WeChat answers 200 even for errors");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    (
        content_type,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn exchange(sandbox: &RunningSandbox, code: &str) -> Value {
    exchange_with(sandbox, APPID, SECRET, code).await.1
}

#[tokio::test]
async fn a_code_is_exchanged_once_as_text_plain_json() {
    let sandbox = start(config()).await;
    let (status, user) = post(&sandbox, "/sandbox/login", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(user["code"].as_str().unwrap().len(), 32);
    assert_eq!(user["openid"].as_str().unwrap().len(), 28);
    assert_eq!(user["session_key"].as_str().unwrap().len(), 24);
    assert!(user.get("unionid").is_none());

    let (content_type, first) =
        exchange_with(&sandbox, APPID, SECRET, user["code"].as_str().unwrap()).await;
    assert_eq!(content_type, "text/plain");
    assert_eq!(first["openid"], user["openid"]);
    assert_eq!(first["session_key"], user["session_key"]);

    let second = exchange(&sandbox, user["code"].as_str().unwrap()).await;
    assert_eq!(second["errcode"], 40163);
}

#[tokio::test]
async fn wrong_credentials_and_bad_codes_get_wechat_errcodes() {
    let sandbox = start(config()).await;
    let (_, user) = post(&sandbox, "/sandbox/login", json!({})).await;
    let code = user["code"].as_str().unwrap();

    assert_eq!(
        exchange_with(&sandbox, "wxother", SECRET, code).await.1["errcode"],
        40013
    );
    assert_eq!(
        exchange_with(&sandbox, APPID, "wrong", code).await.1["errcode"],
        40125
    );
    assert_eq!(exchange(&sandbox, "neverissued").await["errcode"], 40029);
    assert_eq!(exchange(&sandbox, "").await["errcode"], 41008);
    // None of those consumed the code.
    assert!(exchange(&sandbox, code).await["openid"].is_string());
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one() {
    let sandbox = start(config()).await;
    let (_, user) = post(&sandbox, "/sandbox/login", json!({})).await;
    let code = user["code"].as_str().unwrap();
    let token = stable_token_with(&sandbox, SECRET, false).await["access_token"].clone();

    let (status, answer) = post(&sandbox, "/sandbox/secret", json!({ "secret": "rotated" })).await;
    assert_eq!((status, answer), (200, json!({ "ok": true })));

    assert_eq!(
        exchange_with(&sandbox, APPID, SECRET, code).await.1,
        json!({ "errcode": 40125, "errmsg": "invalid appsecret" })
    );
    assert_eq!(
        stable_token_with(&sandbox, SECRET, false).await["errcode"],
        40125
    );
    assert_eq!(
        stable_token_with(&sandbox, SECRET, true).await["errcode"],
        40125
    );
    let exchanged = exchange_with(&sandbox, APPID, "rotated", code).await.1;
    assert_eq!(
        exchanged["openid"], user["openid"],
        "the refusal left the code unspent"
    );
    assert_eq!(
        stable_token_with(&sandbox, "rotated", false).await["access_token"],
        token,
        "the token already issued is still the stable one"
    );
    assert_eq!(
        get(&sandbox, "/sandbox/stats").await["forced_refreshes"],
        0,
        "a refused force is no refresh"
    );

    for bad in [json!({ "secret": "" }), json!({}), json!({ "secret": 1 })] {
        let (status, answer) = post(&sandbox, "/sandbox/secret", bad.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    assert_eq!(
        stable_token_with(&sandbox, "rotated", false).await["access_token"],
        token,
        "a refused rotation changed nothing"
    );
}

#[tokio::test]
async fn codes_expire() {
    let sandbox = start(SandboxConfig {
        code_ttl: Duration::from_millis(100),
        ..config()
    })
    .await;
    let (_, user) = post(&sandbox, "/sandbox/login", json!({})).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        exchange(&sandbox, user["code"].as_str().unwrap()).await["errcode"],
        40029
    );
}

#[tokio::test]
async fn a_known_user_keeps_or_rotates_the_session_key() {
    let sandbox = start(config()).await;
    let (_, first) = post(
        &sandbox,
        "/sandbox/login",
        json!({ "openid": "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "unionid": "ocMvos6NjeKLIBqg5Mr9QjxrP1FA", "session_key": "tiihtNczf5v6AKRyjwEUhQ==" }),
    )
    .await;
    assert_eq!(first["session_key"], "tiihtNczf5v6AKRyjwEUhQ==");
    assert_eq!(first["unionid"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");

    let (_, again) = post(
        &sandbox,
        "/sandbox/login",
        json!({ "openid": "oGZUI0egBJY1zhBYw2KhdUfwVJJE" }),
    )
    .await;
    assert_eq!(again["session_key"], "tiihtNczf5v6AKRyjwEUhQ==");
    assert_ne!(again["code"], first["code"]);

    let (_, rotated) = post(
        &sandbox,
        "/sandbox/login",
        json!({ "openid": "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "session_key": "AAAAAAAAAAAAAAAAAAAAAA==" }),
    )
    .await;
    let exchanged = exchange(&sandbox, rotated["code"].as_str().unwrap()).await;
    assert_eq!(exchanged["session_key"], "AAAAAAAAAAAAAAAAAAAAAA==");
    assert_eq!(exchanged["unionid"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
}

#[tokio::test]
async fn faults_apply_to_the_next_n_calls_and_are_counted() {
    let sandbox = start(config()).await;
    let (_, user) = post(&sandbox, "/sandbox/login", json!({})).await;
    let code = user["code"].as_str().unwrap();
    let (status, _) = post(
        &sandbox,
        "/sandbox/faults",
        json!({ "api": "jscode2session", "errcode": -1, "times": 2 }),
    )
    .await;
    assert_eq!(status, 200);

    assert_eq!(exchange(&sandbox, code).await["errcode"], -1);
    assert_eq!(exchange(&sandbox, code).await["errcode"], -1);
    assert!(exchange(&sandbox, code).await["openid"].is_string());

    post(
        &sandbox,
        "/sandbox/faults",
        json!({ "api": "jscode2session", "body": "<html>busy</html>", "times": 1 }),
    )
    .await;
    let (content_type, raw) = exchange_with(&sandbox, APPID, SECRET, code).await;
    assert_eq!(
        (content_type.as_str(), raw.as_str()),
        ("text/html", Some("<html>busy</html>"))
    );

    post(
        &sandbox,
        "/sandbox/faults",
        json!({ "api": "jscode2session", "delay_ms": 300, "times": 1 }),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(
        exchange(&sandbox, code).await["errcode"],
        40163,
        "a delay alone still answers normally"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    let stats = get(&sandbox, "/sandbox/stats").await;
    assert_eq!(stats["calls"]["jscode2session"], 5);
}

#[tokio::test]
async fn bad_control_requests_and_unknown_paths_are_json_errors() {
    let sandbox = start(config()).await;
    let (status, answer) = post(
        &sandbox,
        "/sandbox/faults",
        json!({ "api": "nope", "times": 1 }),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_request"))
    );

    let unknown = get(&sandbox, "/cgi-bin/unknown").await;
    assert_eq!(unknown["errcode"], 404);
}
