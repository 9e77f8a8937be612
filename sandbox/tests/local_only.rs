//! Only this machine drives the sandbox: a foreign `Host` (DNS rebinding), a `POST` from a
//! page of another origin or site, and a body that is not labelled JSON (what a cross-site
//! form or `text/plain` fetch sends) are refused with a JSON error — and change nothing.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use wechat_sandbox::{DOCKER_HOST, RunningSandbox, SandboxConfig};

mod support;
use support::{config, start};

/// `POST` `body` (as given, labelled `content_type`) to `path` with extra `headers`.
async fn raw_post(
    sandbox: &RunningSandbox,
    path: &str,
    content_type: Option<&str>,
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url()))
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Whether the sandbox knows `openid` (it plays the phone button only for known users).
async fn knows(sandbox: &RunningSandbox, openid: &str) -> bool {
    let (status, answer) = raw_post(
        sandbox,
        "/sandbox/phone",
        Some("application/json"),
        &json!({ "openid": openid, "phoneNumber": "13800138000" }).to_string(),
        &[],
    )
    .await;
    match status {
        StatusCode::OK => true,
        StatusCode::NOT_FOUND => false,
        other => panic!("/sandbox/phone answered {other}: {answer}"),
    }
}

fn login_body(openid: &str) -> String {
    json!({ "openid": openid }).to_string()
}

#[tokio::test]
async fn only_this_machines_names_are_answered_on_every_path() {
    let sandbox = start(config()).await;
    let port = sandbox.addr.port();
    for (index, host) in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("{DOCKER_HOST}:{port}"),
    ]
    .iter()
    .enumerate()
    {
        let openid = format!("o_local_{index}");
        let (status, answer) = raw_post(
            &sandbox,
            "/sandbox/login",
            Some("application/json"),
            &login_body(&openid),
            &[("host", host)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{host}: {answer}");
        assert!(knows(&sandbox, &openid).await, "{host}");
    }

    // A page whose DNS name was rebound to 127.0.0.1 sends its own name.
    let foreign = format!("rebound.example:{port}");
    for path in [
        "/sandbox/stats",
        "/sns/jscode2session?appid=x",
        "/wxa/checksession",
        "/nope",
    ] {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", sandbox.base_url()))
            .header("host", &foreign)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"], "host_not_allowed", "{answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("DEV_ALLOWED_HOSTS"),
            "{answer}"
        );
    }
    let (status, answer) = raw_post(
        &sandbox,
        "/sandbox/login",
        Some("application/json"),
        &login_body("o_rebound"),
        &[("host", &foreign)],
    )
    .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{answer}");
    assert!(!knows(&sandbox, "o_rebound").await, "no user was made");
}

#[tokio::test]
async fn only_pages_of_this_machine_may_post_and_others_change_nothing() {
    let sandbox = start(config()).await;
    // Pages of this machine (any port), WeChat's, and clients that send no Origin.
    for (index, headers) in [
        vec![
            ("origin", "http://127.0.0.1:9200"),
            ("sec-fetch-site", "same-site"),
        ],
        vec![("origin", "http://localhost:5173")],
        vec![("origin", "http://[::1]:9200")],
        vec![("origin", "https://servicewechat.com")],
        vec![],
    ]
    .into_iter()
    .enumerate()
    {
        let openid = format!("o_here_{index}");
        let (status, answer) = raw_post(
            &sandbox,
            "/sandbox/login",
            Some("application/json; charset=utf-8"),
            &login_body(&openid),
            &headers,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{headers:?}: {answer}");
        assert!(knows(&sandbox, &openid).await);
    }

    // Pages of other origins or sites.
    for (index, headers) in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("origin", "http://127.0.0.1.evil.example:9100")],
        vec![("sec-fetch-site", "cross-site")],
    ]
    .into_iter()
    .enumerate()
    {
        let openid = format!("o_cross_{index}");
        let (status, answer) = raw_post(
            &sandbox,
            "/sandbox/login",
            Some("application/json"),
            &login_body(&openid),
            &headers,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {answer}");
        assert!(
            ["origin_not_allowed", "cross_site"].contains(&answer["error"].as_str().unwrap()),
            "{answer}"
        );
        assert!(
            !knows(&sandbox, &openid).await,
            "{headers:?}: no user was made"
        );
    }
    // Every control and WeChat path: a new day, a new secret, faults — none happens.
    for path in [
        "/sandbox/secret",
        "/sandbox/faults",
        "/sandbox/token-day",
        "/sandbox/charge",
        "/sandbox/risk",
        "/cgi-bin/stable_token",
        "/wxa/getuserriskrank",
    ] {
        let (status, _) = raw_post(
            &sandbox,
            path,
            Some("application/json"),
            r#"{"secret": "taken", "api": "jscode2session", "errcode": 45011, "times": 5}"#,
            &[("origin", "https://evil.example")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let stats = support::get(&sandbox, "/sandbox/stats").await;
    assert_eq!(
        stats["calls"],
        json!({}),
        "no WeChat API was called: {stats}"
    );
    let token = support::stable_token(&sandbox, false).await;
    assert!(
        token["access_token"].is_string(),
        "the secret is unchanged: {token}"
    );
    // Reads pass (a page of another origin cannot read the answer: no CORS here).
    let response = reqwest::Client::new()
        .get(format!("{}/sandbox/stats", sandbox.base_url()))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn only_json_bodies_are_taken() {
    let sandbox = start(config()).await;
    // What a cross-site form (text/plain or urlencoded) or a simple fetch sends.
    let form_json = r#"{"openid":"o_form","pad":"="}"#;
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let (status, answer) =
            raw_post(&sandbox, "/sandbox/login", content_type, form_json, &[]).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {answer}"
        );
        assert_eq!(answer["error"], "unsupported_media_type");
    }
    assert!(!knows(&sandbox, "o_form").await);
    let (status, _) = raw_post(
        &sandbox,
        "/sandbox/login",
        Some("application/json"),
        form_json,
        &[],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same body labelled JSON is taken"
    );
    // WeChat's own POST APIs take JSON too (WeChat documents their bodies as JSON).
    let (status, _) = raw_post(
        &sandbox,
        "/cgi-bin/stable_token",
        Some("text/plain"),
        &json!({ "grant_type": "client_credential", "appid": support::APPID, "secret": support::SECRET }).to_string(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        support::get(&sandbox, "/sandbox/stats").await["calls"],
        json!({})
    );
}

#[tokio::test]
async fn more_hosts_and_origins_can_be_allowed() {
    let tunnel = [
        ("host", "tunnel.example"),
        ("origin", "https://tunnel.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    let default = start(config()).await;
    let (status, _) = raw_post(
        &default,
        "/sandbox/login",
        Some("application/json"),
        &login_body("o_tunnel"),
        &tunnel,
    )
    .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);

    let sandbox = start(SandboxConfig {
        local_only: wechat_sandbox::sandbox_local_only()
            .widened("tunnel.example", "https://tunnel.example"),
        ..config()
    })
    .await;
    let (status, answer) = raw_post(
        &sandbox,
        "/sandbox/login",
        Some("application/json"),
        &login_body("o_tunnel"),
        &tunnel,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(knows(&sandbox, "o_tunnel").await);
}
