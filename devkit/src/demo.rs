//! `wxlogin-dev demo`: plays a mini-program against a running stack, step by step, with
//! secrets masked in what it prints. Any surprise is an error (non-zero exit).

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

/// Where the stack answers.
pub struct Endpoints {
    /// Base URL of the functions (`/onlogin`, `/decrypt-phone`, `/session`).
    pub api: String,
    /// Base URL of the WeChat sandbox.
    pub sandbox: String,
}

struct Player {
    http: reqwest::Client,
    endpoints: Endpoints,
    step: usize,
}

/// Shows the first and last few characters of a secret, enough to tell values apart.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}…{tail}")
}

/// A copy of `value` with every secret-bearing field masked.
fn masked(value: &Value) -> Value {
    const SECRET_FIELDS: &[&str] = &[
        "token",
        "session_key",
        "code",
        "encryptedData",
        "iv",
        "phoneNumber",
        "purePhoneNumber",
        "authorization",
    ];
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let shown = match inner {
                        Value::String(text) if SECRET_FIELDS.contains(&key.as_str()) => {
                            json!(mask(text))
                        }
                        other => masked(other),
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Player {
    async fn send(
        &mut self,
        method: reqwest::Method,
        what: &str,
        url: String,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        self.step += 1;
        println!("\n{}. {what}", self.step);
        println!(
            "   → {method} {url}{}",
            if bearer.is_some() {
                "  (Authorization: Bearer …)"
            } else {
                ""
            }
        );
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            println!("     {}", masked(&body));
            request = request.json(&body);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let answer: Value = response
            .json()
            .await
            .with_context(|| format!("{method} {url}: body is not JSON"))?;
        println!("   ← {status} {}", masked(&answer));
        Ok((status, answer))
    }

    /// A POST with a JSON body that must answer `status`.
    async fn expect(
        &mut self,
        what: &str,
        url: String,
        bearer: Option<&str>,
        body: Value,
        status: u16,
    ) -> anyhow::Result<Value> {
        self.expect_method(reqwest::Method::POST, what, url, bearer, Some(body), status)
            .await
    }

    /// A request that must fail with `expected`: its status and the contract's error code.
    async fn expect_error(
        &mut self,
        method: reqwest::Method,
        what: &str,
        url: String,
        bearer: Option<&str>,
        body: Option<Value>,
        expected: (u16, &str),
    ) -> anyhow::Result<()> {
        let (status, code) = expected;
        let answer = self
            .expect_method(method, what, url, bearer, body, status)
            .await?;
        ensure!(
            answer["error"] == code,
            "step {}: expected error {code}, got {}",
            self.step,
            masked(&answer)
        );
        Ok(())
    }

    /// A request that must answer `status`.
    async fn expect_method(
        &mut self,
        method: reqwest::Method,
        what: &str,
        url: String,
        bearer: Option<&str>,
        body: Option<Value>,
        status: u16,
    ) -> anyhow::Result<Value> {
        let (got, answer) = self.send(method, what, url, bearer, body).await?;
        if got != status {
            bail!(
                "step {}: expected {status}, got {got}: {}",
                self.step,
                masked(&answer)
            );
        }
        Ok(answer)
    }
}

fn text<'a>(value: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    value[field]
        .as_str()
        .with_context(|| format!("no string {field:?} in {}", masked(value)))
}

/// Runs the walk: login → who am I (checked at WeChat) → phone (both forms) → a re-login
/// that rotates the key → the old session's check and the old data answer 422 → fresh data
/// succeeds → logout → the token is refused.
pub async fn run(endpoints: Endpoints) -> anyhow::Result<()> {
    let phone = "13800138000";
    let mut player = Player {
        http: reqwest::Client::new(),
        endpoints,
        step: 0,
    };
    let (api, sandbox) = (
        player.endpoints.api.clone(),
        player.endpoints.sandbox.clone(),
    );

    let user = player
        .expect(
            "wx.login (the sandbox plays WeChat)",
            format!("{sandbox}/sandbox/login"),
            None,
            json!({}),
            200,
        )
        .await?;
    let openid = text(&user, "openid")?.to_owned();
    let login = player
        .expect(
            "log in",
            format!("{api}/onlogin"),
            None,
            json!({ "code": user["code"] }),
            200,
        )
        .await?;
    let token = text(&login, "token")?.to_owned();
    ensure!(
        login["openid"] == openid.as_str(),
        "onlogin answered another openid"
    );
    ensure!(
        login.get("session_key").is_none(),
        "onlogin leaked the session_key"
    );

    let who = player
        .expect_method(
            reqwest::Method::GET,
            "who am I, with the session_key checked at WeChat",
            format!("{api}/session?check=wechat"),
            Some(&token),
            None,
            200,
        )
        .await?;
    ensure!(
        who["openid"] == openid.as_str(),
        "GET /session answered another openid"
    );

    player
        .expect_error(
            reqwest::Method::POST,
            "the same code again",
            format!("{api}/onlogin"),
            None,
            Some(json!({ "code": user["code"] })),
            (409, "code_used"),
        )
        .await?;

    let button = player
        .expect(
            "tap getPhoneNumber (the sandbox plays the button)",
            format!("{sandbox}/sandbox/phone"),
            None,
            json!({ "openid": openid, "phoneNumber": phone }),
            200,
        )
        .await?;
    let legacy_body = json!({ "encryptedData": button["encryptedData"], "iv": button["iv"] });
    let legacy = player
        .expect(
            "phone number, legacy form",
            format!("{api}/decrypt-phone"),
            Some(&token),
            legacy_body.clone(),
            200,
        )
        .await?;
    ensure!(
        legacy["purePhoneNumber"] == phone,
        "legacy form gave another number"
    );
    let current = player
        .expect(
            "phone number, code form",
            format!("{api}/decrypt-phone"),
            Some(&token),
            json!({ "code": button["code"] }),
            200,
        )
        .await?;
    ensure!(
        current["purePhoneNumber"] == phone,
        "code form gave another number"
    );

    let mut rotated_key = [0u8; 16];
    getrandom::fill(&mut rotated_key)?;
    let relogin = player
        .expect(
            "wx.login again; WeChat rotates the session_key",
            format!("{sandbox}/sandbox/login"),
            None,
            json!({ "openid": openid, "session_key": base64_encode(&rotated_key) }),
            200,
        )
        .await?;
    let second = player
        .expect(
            "log in again",
            format!("{api}/onlogin"),
            None,
            json!({ "code": relogin["code"] }),
            200,
        )
        .await?;
    let new_token = text(&second, "token")?.to_owned();

    player
        .expect_error(
            reqwest::Method::GET,
            "the first session, checked at WeChat (its key is the old one)",
            format!("{api}/session?check=wechat"),
            Some(&token),
            None,
            (422, "session_key_mismatch"),
        )
        .await?;

    player
        .expect_error(
            reqwest::Method::POST,
            "the data made before the re-login",
            format!("{api}/decrypt-phone"),
            Some(&new_token),
            Some(legacy_body),
            (422, "session_key_mismatch"),
        )
        .await?;

    let again = player
        .expect(
            "tap getPhoneNumber again",
            format!("{sandbox}/sandbox/phone"),
            None,
            json!({ "openid": openid, "phoneNumber": phone }),
            200,
        )
        .await?;
    let retried = player
        .expect(
            "phone number with fresh data",
            format!("{api}/decrypt-phone"),
            Some(&new_token),
            json!({ "encryptedData": again["encryptedData"], "iv": again["iv"] }),
            200,
        )
        .await?;
    ensure!(
        retried["purePhoneNumber"] == phone,
        "retry gave another number"
    );

    let logout = player
        .expect_method(
            reqwest::Method::DELETE,
            "log out",
            format!("{api}/session"),
            Some(&new_token),
            None,
            200,
        )
        .await?;
    ensure!(logout["logged_out"] == true, "logout must say logged_out");
    player
        .expect_error(
            reqwest::Method::GET,
            "the token after logout",
            format!("{api}/session"),
            Some(&new_token),
            None,
            (401, "invalid_token"),
        )
        .await?;

    println!(
        "\ndemo passed: {} steps as a mini-program would take them",
        player.step
    );
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask("tiihtNczf5v6AKRyjwEUhQ=="), "tii…Q==");
        assert_eq!(mask("short"), "*****");
    }

    #[test]
    fn secret_fields_are_masked_at_any_depth() {
        let shown = masked(
            &json!({ "token": "abcdefghijklmnop", "nested": { "phoneNumber": "13800138000" }, "openid": "o123" }),
        );
        assert_eq!(shown["token"], "abc…nop");
        assert_eq!(shown["nested"]["phoneNumber"], "138…000");
        assert_eq!(shown["openid"], "o123");
    }
}
