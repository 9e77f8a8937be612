//! What the sandbox's test files share: the one way they start a sandbox, and its
//! appid and secret.

// Each test file uses its own part of this module.
#![allow(dead_code)]
// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use wechat_sandbox::{RunningSandbox, SandboxConfig};

/// The only appid the test sandboxes accept.
pub const APPID: &str = "wxsandboxtest00001";
/// The only AppSecret the test sandboxes accept.
pub const SECRET: &str = "sandbox-test-secret";

/// WeChat's defaults for [`APPID`] and [`SECRET`]; change fields with `..config()`.
pub fn config() -> SandboxConfig {
    SandboxConfig::new(APPID, SECRET)
}

/// A sandbox for `config` on a free local port; it stops when dropped.
pub async fn start(config: SandboxConfig) -> RunningSandbox {
    wechat_sandbox::spawn_local(config).await.unwrap()
}

/// `POST` `body` as JSON to `path`: the HTTP status and the JSON answer.
pub async fn post(sandbox: &RunningSandbox, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), json_body(response).await)
}

/// `GET` `path` (with its query): the JSON answer, whatever its content type.
pub async fn get(sandbox: &RunningSandbox, path: &str) -> Value {
    json_body(
        reqwest::get(format!("{}{path}", sandbox.base_url()))
            .await
            .unwrap(),
    )
    .await
}

/// The body as JSON; WeChat labels its JSON `text/plain`, so the label is not checked.
async fn json_body(response: reqwest::Response) -> Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// `POST /cgi-bin/stable_token` with `secret`: WeChat's answer.
pub async fn stable_token_with(
    sandbox: &RunningSandbox,
    secret: &str,
    force_refresh: bool,
) -> Value {
    post(
        sandbox,
        "/cgi-bin/stable_token",
        json!({ "grant_type": "client_credential", "appid": APPID, "secret": secret, "force_refresh": force_refresh }),
    )
    .await
    .1
}

/// `POST /cgi-bin/stable_token` with [`SECRET`]: WeChat's answer.
pub async fn stable_token(sandbox: &RunningSandbox, force_refresh: bool) -> Value {
    stable_token_with(sandbox, SECRET, force_refresh).await
}
