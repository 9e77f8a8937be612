//! `wxlogin-dev demo`: plays a mini-program against a running stack, step by step, with
//! secrets masked in what it prints. The session is a table, [`STEPS`]: each step says what
//! the mini-program does, the request, the answer it must get and what it keeps for later
//! steps; [`Player::play`] runs one. Any surprise is an error (non-zero exit).

use std::collections::HashMap;

use anyhow::{Context, ensure};
use serde_json::{Map, Value, json};

/// Where the stack answers.
pub struct Endpoints {
    /// Base URL of the functions (`/onlogin`, `/decrypt-phone`, `/session`).
    pub api: String,
    /// Base URL of the WeChat sandbox.
    pub sandbox: String,
    /// Base URL of the local gateway (`wxlogin-dev gateway`): `GET /me` behind the
    /// authorizer, as API Gateway serves examples/protected-route.
    pub gateway: String,
}

/// The number the user's getPhoneNumber button gives.
const PHONE: &str = "13800138000";
/// The variable holding the session_key WeChat rotates to on the re-login (random per run).
const ROTATED_KEY: &str = "rotated_key";
/// The variable holding the person's unionid, the same in every app (random per run).
const UNIONID: &str = "unionid";
/// The variable holding the stack's second app, when the sandbox serves one.
const SECOND_APPID: &str = "second_appid";

/// Who answers a step: our functions, the sandbox playing WeChat's side of the client, or
/// the gateway playing API Gateway in front of a team's route behind the authorizer.
#[derive(Clone, Copy)]
enum Server {
    Api,
    Sandbox,
    Gateway,
}

#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Delete,
}

/// A value in a request body or a check: literal, or kept from an earlier step's answer.
#[derive(Clone, Copy, Debug)]
enum Val {
    Var(&'static str),
    Text(&'static str),
    Bool(bool),
    Num(u64),
}

struct Request {
    verb: Verb,
    server: Server,
    path: &'static str,
    /// The variable holding the token sent as `Authorization: Bearer`.
    bearer: Option<&'static str>,
    /// The fields of the JSON object body (POST only).
    body: &'static [(&'static str, Val)],
}

const fn post(server: Server, path: &'static str, body: &'static [(&'static str, Val)]) -> Request {
    Request {
        verb: Verb::Post,
        server,
        path,
        bearer: None,
        body,
    }
}

const fn get(path: &'static str) -> Request {
    Request {
        verb: Verb::Get,
        server: Server::Api,
        path,
        bearer: None,
        body: &[],
    }
}

/// `GET path` on the gateway (a route behind the authorizer).
const fn gateway_get(path: &'static str) -> Request {
    Request {
        server: Server::Gateway,
        ..get(path)
    }
}

const fn delete(path: &'static str) -> Request {
    Request {
        verb: Verb::Delete,
        ..get(path)
    }
}

impl Request {
    const fn bearer(self, variable: &'static str) -> Self {
        Self {
            bearer: Some(variable),
            ..self
        }
    }
}

/// The answer a step must get.
enum Expect {
    /// 200.
    Ok,
    /// This status with this `error` code from the contract.
    Error(u16, &'static str),
    /// This status with this `message`: API Gateway's own answer (the authorizer's).
    Gateway(u16, &'static str),
}

/// A check on a 200 answer; a field is a dotted path (`phone.purePhoneNumber`).
enum Check {
    /// The field equals the value.
    Is(&'static str, Val),
    /// The field is not in the answer.
    Absent(&'static str),
}

/// The value at a dotted path of `answer`.
fn field<'a>(answer: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(answer, |value, key| value.get(key))
}

struct Step {
    /// Short name, for errors.
    name: &'static str,
    /// What the mini-program does, as printed.
    does: &'static str,
    request: Request,
    expect: Expect,
    /// `(variable, field)`: string fields of the answer kept for later steps.
    capture: &'static [(&'static str, &'static str)],
    check: &'static [Check],
}

use Check::{Absent, Is};
use Server::{Api, Sandbox};
use Val::{Bool, Num, Text, Var};

const OLD_DATA: &[(&str, Val)] = &[("encryptedData", Var("data")), ("iv", Var("iv"))];
/// The login body: the code and the app it is for (a stack of several apps needs it; a
/// mini-program's own `wx.request` says it in WeChat's Referer).
const LOGIN: &[(&str, Val)] = &[("code", Var("code")), ("appid", Var("appid"))];
const TAP: &[(&str, Val)] = &[("openid", Var("openid")), ("phoneNumber", Text(PHONE))];
const IS_THE_PHONE: &[Check] = &[Is("purePhoneNumber", Text(PHONE))];

/// The walk: login → who am I (checked at WeChat) → the code replayed → phone (both forms)
/// → `GET /me` behind the authorizer, with the phone → a re-login that rotates the key and
/// brings the phone back (no second verification) → the old session's check and the old
/// data answer 422 → fresh data succeeds → logout everywhere → both tokens are refused, by
/// our functions (401) and by the authorizer (403).
const STEPS: &[Step] = &[
    Step {
        name: "wx.login",
        does: "wx.login (the sandbox plays WeChat)",
        request: post(Sandbox, "/sandbox/login", &[("unionid", Var(UNIONID))]),
        expect: Expect::Ok,
        capture: &[("openid", "openid"), ("code", "code"), ("appid", "appid")],
        check: &[],
    },
    Step {
        name: "login",
        does: "log in",
        request: post(Api, "/onlogin", LOGIN),
        expect: Expect::Ok,
        capture: &[("token", "token")],
        check: &[
            Is("appid", Var("appid")),
            Is("openid", Var("openid")),
            Is("unionid", Var(UNIONID)),
            Is("new_user", Bool(true)),
            Absent("phone"),
            Absent("session_key"),
        ],
    },
    Step {
        name: "check",
        does: "who am I, with the session_key checked at WeChat",
        request: get("/session?check=wechat").bearer("token"),
        expect: Expect::Ok,
        capture: &[],
        check: &[Is("openid", Var("openid"))],
    },
    Step {
        name: "replay",
        does: "the same code again",
        request: post(Api, "/onlogin", LOGIN),
        expect: Expect::Error(409, "code_used"),
        capture: &[],
        check: &[],
    },
    Step {
        name: "tap",
        does: "tap getPhoneNumber (the sandbox plays the button)",
        request: post(Sandbox, "/sandbox/phone", TAP),
        expect: Expect::Ok,
        capture: &[
            ("data", "encryptedData"),
            ("iv", "iv"),
            ("phone_code", "code"),
        ],
        check: &[],
    },
    Step {
        name: "phone, legacy form",
        does: "phone number, legacy form",
        request: post(Api, "/decrypt-phone", OLD_DATA).bearer("token"),
        expect: Expect::Ok,
        capture: &[],
        check: IS_THE_PHONE,
    },
    Step {
        name: "phone, code form",
        does: "phone number, code form",
        request: post(Api, "/decrypt-phone", &[("code", Var("phone_code"))]).bearer("token"),
        expect: Expect::Ok,
        capture: &[],
        check: IS_THE_PHONE,
    },
    Step {
        name: "me, no token",
        does: "GET /me (a team's route behind the authorizer) without a token",
        request: gateway_get("/me"),
        expect: Expect::Gateway(401, "Unauthorized"),
        capture: &[],
        check: &[],
    },
    Step {
        name: "me",
        does: "GET /me: the authorizer lets the token through, with the caller and the phone",
        request: gateway_get("/me").bearer("token"),
        expect: Expect::Ok,
        capture: &[],
        check: &[Is("openid", Var("openid")), Is("phoneNumber", Text(PHONE))],
    },
    Step {
        name: "re-login",
        does: "wx.login again; WeChat rotates the session_key",
        request: post(
            Sandbox,
            "/sandbox/login",
            &[("openid", Var("openid")), ("session_key", Var(ROTATED_KEY))],
        ),
        expect: Expect::Ok,
        capture: &[("new_code", "code")],
        check: &[],
    },
    Step {
        name: "login again",
        does: "log in again",
        request: post(
            Api,
            "/onlogin",
            &[("code", Var("new_code")), ("appid", Var("appid"))],
        ),
        expect: Expect::Ok,
        capture: &[("new_token", "token")],
        // The bound phone comes back with the login: no second (billed) verification.
        check: &[
            Is("openid", Var("openid")),
            Is("new_user", Bool(false)),
            Is("phone.purePhoneNumber", Text(PHONE)),
        ],
    },
    Step {
        name: "old session checked",
        does: "the first session, checked at WeChat (its key is the old one)",
        request: get("/session?check=wechat").bearer("token"),
        expect: Expect::Error(422, "session_key_mismatch"),
        capture: &[],
        check: &[],
    },
    Step {
        name: "stale data",
        does: "the data made before the re-login",
        request: post(Api, "/decrypt-phone", OLD_DATA).bearer("new_token"),
        expect: Expect::Error(422, "session_key_mismatch"),
        capture: &[],
        check: &[],
    },
    Step {
        name: "tap again",
        does: "tap getPhoneNumber again",
        request: post(Sandbox, "/sandbox/phone", TAP),
        expect: Expect::Ok,
        capture: &[("new_data", "encryptedData"), ("new_iv", "iv")],
        check: &[],
    },
    Step {
        name: "retry",
        does: "phone number with fresh data",
        request: post(
            Api,
            "/decrypt-phone",
            &[("encryptedData", Var("new_data")), ("iv", Var("new_iv"))],
        )
        .bearer("new_token"),
        expect: Expect::Ok,
        capture: &[],
        check: IS_THE_PHONE,
    },
    Step {
        name: "me again",
        does: "GET /me with the new token",
        request: gateway_get("/me").bearer("new_token"),
        expect: Expect::Ok,
        capture: &[],
        check: &[Is("openid", Var("openid")), Is("phoneNumber", Text(PHONE))],
    },
    Step {
        name: "logout everywhere",
        does: "log out everywhere: both sessions end",
        request: delete("/session?all=true").bearer("new_token"),
        expect: Expect::Ok,
        capture: &[],
        check: &[Is("logged_out", Bool(true)), Is("sessions", Num(2))],
    },
    Step {
        name: "refused",
        does: "the new token after logout",
        request: get("/session").bearer("new_token"),
        expect: Expect::Error(401, "invalid_token"),
        capture: &[],
        check: &[],
    },
    Step {
        name: "first refused",
        does: "the first token, logged out with the rest",
        request: get("/session").bearer("token"),
        expect: Expect::Error(401, "invalid_token"),
        capture: &[],
        check: &[],
    },
    Step {
        name: "me refused",
        does: "GET /me with the first token: the authorizer denies it",
        request: gateway_get("/me").bearer("token"),
        expect: Expect::Gateway(403, "Forbidden"),
        capture: &[],
        check: &[],
    },
    Step {
        name: "me refused, new token",
        does: "GET /me with the new token: denied too",
        request: gateway_get("/me").bearer("new_token"),
        expect: Expect::Gateway(403, "Forbidden"),
        capture: &[],
        check: &[],
    },
];

/// The same person in the stack's second app, after the first app's walk: another openid,
/// the same unionid, a user of its own (no phone yet), untouched by the first app's "log
/// out everywhere". Played when the sandbox serves a second app (`make dev APPS=2`).
const SECOND_APP_STEPS: &[Step] = &[
    Step {
        name: "wx.login, second app",
        does: "the same person opens the second mini-program: wx.login there",
        request: post(
            Sandbox,
            "/sandbox/login",
            &[("appid", Var(SECOND_APPID)), ("unionid", Var(UNIONID))],
        ),
        expect: Expect::Ok,
        capture: &[("second_openid", "openid"), ("second_code", "code")],
        check: &[],
    },
    Step {
        name: "login, second app",
        does: "log in to the second app: another openid, the same unionid",
        request: post(
            Api,
            "/onlogin",
            &[("code", Var("second_code")), ("appid", Var(SECOND_APPID))],
        ),
        expect: Expect::Ok,
        capture: &[("second_token", "token")],
        check: &[
            Is("appid", Var(SECOND_APPID)),
            Is("openid", Var("second_openid")),
            Is("unionid", Var(UNIONID)),
            Is("new_user", Bool(true)),
            Absent("phone"),
        ],
    },
    Step {
        name: "me, second app",
        does: "GET /me with the second app's token: the authorizer names the app",
        request: gateway_get("/me").bearer("second_token"),
        expect: Expect::Ok,
        capture: &[],
        check: &[
            Is("appid", Var(SECOND_APPID)),
            Is("openid", Var("second_openid")),
            Is("unionid", Var(UNIONID)),
        ],
    },
];

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

/// Runs [`STEPS`], in order, one HTTP client and one set of kept values for the whole walk.
struct Player {
    http: reqwest::Client,
    endpoints: Endpoints,
    vars: HashMap<&'static str, Value>,
}

impl Player {
    /// An app the sandbox serves besides the one the walk logged in to, if any.
    async fn second_app(&self) -> anyhow::Result<Option<String>> {
        let url = format!("{}/sandbox/stats", self.endpoints.sandbox);
        let stats: Value = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .json()
            .await
            .with_context(|| format!("GET {url}: body is not JSON"))?;
        let first = self.vars.get("appid").and_then(Value::as_str);
        Ok(stats["apps"]
            .as_object()
            .into_iter()
            .flat_map(|apps| apps.keys())
            .find(|appid| Some(appid.as_str()) != first)
            .cloned())
    }

    fn value(&self, val: Val) -> anyhow::Result<Value> {
        match val {
            Var(name) => self
                .vars
                .get(name)
                .cloned()
                .with_context(|| format!("no step before this one kept {name:?}")),
            Text(text) => Ok(json!(text)),
            Bool(flag) => Ok(json!(flag)),
            Num(number) => Ok(json!(number)),
        }
    }

    async fn play(&mut self, number: usize, step: &Step) -> anyhow::Result<()> {
        let request = &step.request;
        let base = match request.server {
            Api => &self.endpoints.api,
            Sandbox => &self.endpoints.sandbox,
            Server::Gateway => &self.endpoints.gateway,
        };
        let url = format!("{base}{}", request.path);
        let method = match request.verb {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
            Verb::Delete => reqwest::Method::DELETE,
        };

        println!("\n{number}. {}", step.does);
        println!(
            "   → {method} {url}{}",
            if request.bearer.is_some() {
                "  (Authorization: Bearer …)"
            } else {
                ""
            }
        );
        let mut http = self.http.request(method.clone(), &url);
        if let Verb::Post = request.verb {
            let body = request
                .body
                .iter()
                .map(|&(field, val)| Ok((field.to_owned(), self.value(val)?)))
                .collect::<anyhow::Result<Map<_, _>>>()?;
            let body = Value::Object(body);
            println!("     {}", masked(&body));
            http = http.json(&body);
        }
        if let Some(variable) = request.bearer {
            let token = self.value(Var(variable))?;
            http = http.bearer_auth(token.as_str().unwrap_or_default());
        }
        let response = http
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let answer: Value = response
            .json()
            .await
            .with_context(|| format!("{method} {url}: body is not JSON"))?;
        println!("   ← {status} {}", masked(&answer));

        match step.expect {
            Expect::Ok => ensure!(
                status == 200,
                "expected 200, got {status}: {}",
                masked(&answer)
            ),
            Expect::Error(expected, code) => {
                ensure!(
                    status == expected,
                    "expected {expected}, got {status}: {}",
                    masked(&answer)
                );
                ensure!(
                    answer["error"] == code,
                    "expected error {code}, got {}",
                    masked(&answer)
                );
            }
            Expect::Gateway(expected, message) => ensure!(
                status == expected && answer["message"] == message,
                "expected {expected} {{\"message\":\"{message}\"}} from the gateway, got {status}: {}",
                masked(&answer)
            ),
        }
        for check in step.check {
            match *check {
                Is(path, val) => ensure!(
                    field(&answer, path) == Some(&self.value(val)?),
                    "expected {path} to be {val:?}, got {}",
                    masked(&answer)
                ),
                Absent(path) => ensure!(
                    field(&answer, path).is_none(),
                    "{path} must not be in the answer (it is)"
                ),
            }
        }
        for &(variable, field) in step.capture {
            let kept = answer[field]
                .as_str()
                .with_context(|| format!("no string {field:?} in {}", masked(&answer)))?;
            self.vars.insert(variable, json!(kept));
        }
        Ok(())
    }
}

/// Plays [`STEPS`] against the stack at `endpoints`, then [`SECOND_APP_STEPS`] when the
/// sandbox serves a second app.
pub async fn run(endpoints: Endpoints) -> anyhow::Result<()> {
    let mut rotated_key = [0u8; 16];
    getrandom::fill(&mut rotated_key)?;
    let mut unionid = [0u8; 14];
    getrandom::fill(&mut unionid)?;
    let mut player = Player {
        http: reqwest::Client::new(),
        endpoints,
        vars: HashMap::from([
            (ROTATED_KEY, json!(base64_encode(&rotated_key))),
            (UNIONID, json!(format!("oU{}", hex::encode(unionid)))),
        ]),
    };
    for (index, step) in STEPS.iter().enumerate() {
        player
            .play(index + 1, step)
            .await
            .with_context(|| format!("step {} ({})", index + 1, step.name))?;
    }
    let Some(second) = player.second_app().await? else {
        println!(
            "\ndemo passed: {} steps as a mini-program would take them (the stack serves one \
             app: `make dev APPS=2` serves two, and the demo then logs the same person into both)",
            STEPS.len()
        );
        return Ok(());
    };
    player.vars.insert(SECOND_APPID, json!(second));
    for (index, step) in SECOND_APP_STEPS.iter().enumerate() {
        let number = STEPS.len() + index + 1;
        player
            .play(number, step)
            .await
            .with_context(|| format!("step {number} ({})", step.name))?;
    }
    let var = |name| {
        player
            .vars
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    println!(
        "\none person, two apps: unionid {} is openid {} in {} and openid {} in {}",
        var(UNIONID),
        var("openid"),
        var("appid"),
        var("second_openid"),
        var(SECOND_APPID)
    );
    println!(
        "demo passed: {} steps as a mini-program would take them, in two apps",
        STEPS.len() + SECOND_APP_STEPS.len()
    );
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

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

    /// Every variable a step uses was kept by an earlier step, so a table edit cannot
    /// reorder the walk into a step that has nothing to send.
    #[test]
    fn every_variable_is_kept_before_it_is_used() {
        let mut kept = HashSet::from([ROTATED_KEY, UNIONID, SECOND_APPID]);
        for step in STEPS.iter().chain(SECOND_APP_STEPS) {
            let request = &step.request;
            let used = request
                .body
                .iter()
                .map(|&(_, val)| val)
                .chain(request.bearer.map(Var))
                .chain(step.check.iter().filter_map(|check| match *check {
                    Is(_, val) => Some(val),
                    Absent(_) => None,
                }));
            for val in used {
                if let Var(name) = val {
                    assert!(
                        kept.contains(name),
                        "{}: {name} is used before it is kept",
                        step.name
                    );
                }
            }
            kept.extend(step.capture.iter().map(|&(variable, _)| variable));
        }
    }

    #[test]
    fn checks_and_captures_are_for_successes_only() {
        for step in STEPS.iter().chain(SECOND_APP_STEPS) {
            if let Expect::Error(..) | Expect::Gateway(..) = step.expect {
                assert!(
                    step.check.is_empty() && step.capture.is_empty(),
                    "{}",
                    step.name
                );
            }
        }
    }
}
