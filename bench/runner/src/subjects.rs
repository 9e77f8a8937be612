//! What is measured: each function, how to start it, and a request that exercises it.

use std::path::PathBuf;

use anyhow::Context;
use devkit::apigw::{http_event, push_event};
use devkit::authorizer_event::authorizer_event;
use devkit::dynamodb_local::workspace_root;
use devkit::stack::{TEST_APPID, TestStack};
use serde_json::{Value, json};
use wxlogin::domain::clock::now_epoch_seconds;
use wxlogin::domain::push::PushFormat;
use wxlogin::testing::push_keys;
use wxlogin::testing::pushes::{PushMode, signed_push, user_event};

/// Addresses handed to logins so far, so that each comes from its own.
static LOGIN_ADDRESSES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The kind of work a subject does per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Answers 200 and nothing else.
    Hello,
    /// A real login: fresh sandbox code, claim, code2Session, session write.
    Login,
    /// A legacy phone decrypt: one DynamoDB read and AES.
    Phone,
    /// `GET /session`: one DynamoDB read.
    WhoAmI,
    /// An authorizer decision for a live token: one DynamoDB read.
    Authorize,
    /// `GET /account`: one DynamoDB batch read and one read (the phone counter).
    Account,
    /// WeChat pushing a phone revocation in safe mode (JSON): signature, AES, one
    /// conditional DynamoDB write.
    Push,
    /// The hourly phone-pack check, as EventBridge Scheduler invokes it: each kind's
    /// usage read from the sandbox, a reading recorded, the forecast emitted.
    PackCheck,
    /// `POST /token`: one DynamoDB batch read (the session and its user), then an RS256
    /// signature with the ring's current key (the ring read from Secrets Manager at the
    /// first request, held for `SIGNING_KEYS_MAX_AGE_SECONDS`).
    Token,
    /// `GET /.well-known/jwks.json`: the held ring's public keys, no upstream call.
    Jwks,
}

impl Work {
    /// Whether the subject reads the signing keys, so needs them in a secret
    /// ([`crate::signing::KeyStore`]).
    pub fn reads_signing_keys(self) -> bool {
        matches!(self, Self::Token | Self::Jwks)
    }
}

/// The token function's issuer in the bench: the API's default domain, as a stack without
/// a custom domain has it (its length is part of every token, and of discovery).
pub const TOKEN_ISSUER: &str = "https://abcdef123.execute-api.us-east-1.amazonaws.com";

/// A function under measurement.
pub struct Subject {
    /// Row label.
    pub label: &'static str,
    /// Binary name under `target/lambda/` for the arm64 size, if it has one.
    pub lambda_binary: Option<&'static str>,
    /// Program and arguments.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// What a warm request does.
    pub work: Work,
    /// Whether its log lines carry our latency fields (the Rust functions).
    pub logs_latency: bool,
    /// Its CPU target after an idle spell, in floors, when one was set.
    pub cpu_target: Option<f64>,
}

/// Where `cargo build --release` put `name`: under `CARGO_TARGET_DIR` when it is set, as
/// cargo does. Checked when the subject is spawned, so `--only` needs only its own.
fn release_binary(name: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("release")
        .join(name)
}

impl Subject {
    /// The floor, our functions (the token function twice: a token, and the JWKS), and
    /// Node. The token function's `SIGNING_KEYS_SECRET_ID` and Secrets Manager endpoint
    /// are added once the subjects are chosen ([`crate::signing::KeyStore::env`]).
    pub fn all(stack: &TestStack) -> Vec<Self> {
        let mut env = stack.function_env();
        env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
        // It never calls WeChat: the app's id only, as the template gives it.
        let mut token_env: Vec<(String, String)> = env
            .iter()
            .filter(|(name, _)| !name.starts_with("WECHAT_") || name == "WECHAT_APPID")
            .cloned()
            .collect();
        token_env.push(("TOKEN_ISSUER".into(), TOKEN_ISSUER.into()));
        let node_script = workspace_root().join("bench/node/onlogin.mjs");
        vec![
            Self {
                label: "floor (bare lambda_http)",
                lambda_binary: Some("hello-floor"),
                program: release_binary("hello-floor"),
                args: Vec::new(),
                env: Vec::new(),
                work: Work::Hello,
                logs_latency: false,
                cpu_target: None,
            },
            Self {
                label: "onlogin (ours)",
                lambda_binary: Some("onlogin"),
                program: release_binary("onlogin"),
                args: Vec::new(),
                env: env.clone(),
                work: Work::Login,
                logs_latency: true,
                cpu_target: Some(3.0),
            },
            Self {
                label: "decrypt-phone (ours)",
                lambda_binary: Some("decrypt-phone"),
                program: release_binary("decrypt-phone"),
                args: Vec::new(),
                env: env.clone(),
                work: Work::Phone,
                logs_latency: true,
                cpu_target: Some(1.8),
            },
            Self {
                label: "session (ours)",
                lambda_binary: Some("session"),
                program: release_binary("session"),
                args: Vec::new(),
                env: env.clone(),
                work: Work::WhoAmI,
                logs_latency: true,
                cpu_target: Some(1.8),
            },
            Self {
                label: "authorizer (ours)",
                lambda_binary: Some("authorizer"),
                program: release_binary("authorizer"),
                args: Vec::new(),
                env: env.clone(),
                work: Work::Authorize,
                logs_latency: true,
                cpu_target: Some(1.8),
            },
            Self {
                label: "account (ours)",
                lambda_binary: Some("account"),
                program: release_binary("account"),
                args: Vec::new(),
                env: env.clone(),
                work: Work::Account,
                logs_latency: true,
                cpu_target: Some(1.8),
            },
            Self {
                label: "wechat-events (ours)",
                lambda_binary: Some("wechat-events"),
                program: release_binary("wechat-events"),
                args: Vec::new(),
                env: env.clone(),
                work: Work::Push,
                logs_latency: true,
                cpu_target: Some(1.8),
            },
            Self {
                label: "phone-packs (ours)",
                lambda_binary: Some("phone-packs"),
                program: release_binary("phone-packs"),
                args: Vec::new(),
                env: env.clone(),
                work: Work::PackCheck,
                logs_latency: true,
                cpu_target: Some(1.8),
            },
            Self {
                label: "token (ours)",
                lambda_binary: Some("token"),
                program: release_binary("token"),
                args: Vec::new(),
                env: token_env.clone(),
                work: Work::Token,
                logs_latency: true,
                // None was set: an RSA signature is a fixed cost of its own.
                cpu_target: None,
            },
            Self {
                label: "token, GET jwks.json (ours)",
                lambda_binary: Some("token"),
                program: release_binary("token"),
                args: Vec::new(),
                env: token_env,
                work: Work::Jwks,
                logs_latency: true,
                cpu_target: None,
            },
            Self {
                label: "onlogin (Node 20 + SDK v3)",
                lambda_binary: None,
                program: PathBuf::from("node"),
                args: vec![node_script.display().to_string()],
                env,
                work: Work::Login,
                logs_latency: false,
                cpu_target: None,
            },
        ]
    }

    /// Whether everything the subject runs is in place, and what to do if not.
    pub fn check_installed(&self) -> anyhow::Result<()> {
        if self.lambda_binary.is_some() {
            anyhow::ensure!(
                self.program.is_file(),
                "{} is missing: run `make bench`",
                self.program.display()
            );
        } else {
            anyhow::ensure!(
                workspace_root()
                    .join("bench/node/node_modules/@aws-sdk/client-dynamodb")
                    .is_dir(),
                "bench/node is not installed: run `make bench`"
            );
        }
        Ok(())
    }

    /// Whether `answer` is the success this subject's work must give.
    pub fn succeeded(&self, answer: &Value) -> bool {
        match self.work {
            Work::Authorize => answer["isAuthorized"] == true,
            Work::PackCheck => answer["failures"] == json!([]) && answer["packs"].is_array(),
            _ => answer["statusCode"] == 200,
        }
    }

    /// Size of the stripped arm64 `bootstrap` from `cargo lambda build --release --arm64`.
    pub fn arm64_size(&self) -> Option<u64> {
        arm64_size(self.lambda_binary?)
    }
}

/// Size of binary `name`'s stripped arm64 `bootstrap`, when `cargo lambda build --release
/// --arm64` built it.
pub fn arm64_size(name: &str) -> Option<u64> {
    let path = workspace_root()
        .join("target/lambda")
        .join(name)
        .join("bootstrap");
    std::fs::metadata(path).ok().map(|meta| meta.len())
}

/// Everything a request of `work` needs that is made fresh per user (not timed).
pub struct Fixture {
    token: String,
    openid: String,
    legacy_body: String,
}

impl Fixture {
    /// One logged-in user with legacy phone data, for [`Work::Phone`].
    pub async fn new(stack: &TestStack) -> anyhow::Result<Self> {
        let (token, user) = stack.logged_in_user(json!({})).await?;
        let phone = stack
            .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": "13800138000" }))
            .await?;
        Ok(Self {
            token,
            openid: user["openid"].as_str().context("no openid")?.to_owned(),
            legacy_body: json!({ "encryptedData": phone["encryptedData"], "iv": phone["iv"] })
                .to_string(),
        })
    }

    /// The next event for `work`; a login needs a fresh code from the sandbox.
    pub async fn event(&self, work: Work, stack: &TestStack) -> anyhow::Result<Value> {
        Ok(match work {
            Work::Hello => http_event("GET", "/", None, &[]),
            Work::Login => {
                let user = stack.sandbox_login(json!({})).await?;
                let code = user["code"].as_str().context("sandbox gave no code")?;
                let mut event = http_event(
                    "POST",
                    "/onlogin",
                    Some(&json!({ "code": code }).to_string()),
                    &[],
                );
                // Each login from its own address, as users' are: one address would meet
                // the per-client limit (60 a minute) and measure its 429 instead.
                let n = LOGIN_ADDRESSES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                event["requestContext"]["http"]["sourceIp"] =
                    json!(format!("198.18.{}.{}", (n / 250) % 250, n % 250 + 1));
                event
            }
            Work::Phone => {
                let bearer = format!("Bearer {}", self.token);
                http_event(
                    "POST",
                    "/decrypt-phone",
                    Some(&self.legacy_body),
                    &[("authorization", bearer.as_str())],
                )
            }
            Work::Authorize => {
                let bearer = format!("Bearer {}", self.token);
                authorizer_event(Some(&bearer))
            }
            Work::WhoAmI => {
                let bearer = format!("Bearer {}", self.token);
                http_event(
                    "GET",
                    "/session",
                    None,
                    &[("authorization", bearer.as_str())],
                )
            }
            Work::Account => {
                let bearer = format!("Bearer {}", self.token);
                http_event(
                    "GET",
                    "/account",
                    None,
                    &[("authorization", bearer.as_str())],
                )
            }
            Work::Token => {
                let bearer = format!("Bearer {}", self.token);
                http_event(
                    "POST",
                    "/token",
                    None,
                    &[("authorization", bearer.as_str())],
                )
            }
            Work::Jwks => http_event("GET", "/.well-known/jwks.json", None, &[]),
            // The template's schedule Input: the handler reads nothing of it.
            Work::PackCheck => json!({"check": "phone-packs"}),
            Work::Push => {
                let fields = user_event(
                    TEST_APPID,
                    &self.openid,
                    "user_authorization_revoke",
                    Some("8"),
                );
                let push = signed_push(
                    &push_keys(),
                    TEST_APPID,
                    &fields,
                    PushMode::Safe,
                    PushFormat::Json,
                    now_epoch_seconds(),
                );
                push_event("POST", TEST_APPID, &push.query, Some(&push.body))
            }
        })
    }
}
