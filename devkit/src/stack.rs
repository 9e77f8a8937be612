//! `TestStack`: DynamoDB Local started once per test run (by `make test`, or lazily once
//! per test process), and per test a fresh table and a fresh WeChat sandbox, so tests run
//! in parallel without seeing each other.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, anyhow};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use wechat_sandbox::{RunningSandbox, SandboxConfig};
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::push_keys::PushKeySource;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::config::{AccountConfig, Config, PushConfig};
use wxlogin::domain::clock::now_epoch_seconds;
use wxlogin::domain::{ListedSession, Session, SessionToken, UserLogin, WatermarkPolicy};
use wxlogin::ports::{Sessions, Users};
use wxlogin::testing::ServeHttp;
use wxlogin::testing::{TEST_PUSH_AES_KEY, TEST_PUSH_TOKEN};
use wxlogin::usecases::{Accounts, Apps, Login, PhoneNumbers, PushReceiver, SessionQueries};

/// Requests as lambda_http hands them to a handler (shared with the fast tier).
pub use wxlogin::testing::{bearer_request, post, post_with_bearer, with_query};

use crate::dynamodb_local::DynamoDbLocal;
use crate::function_process::FunctionProcess;
use crate::runtime_api::RuntimeApi;
use crate::tables::{create_sessions_table, local_client};

/// The appid every test stack's sandbox accepts.
pub const TEST_APPID: &str = "wx00000000sandbox1";
/// The stack key of the test stack's functions (`STACK_KEY`): the fast tier's, so a test
/// can name an erased user's audit record.
pub use wxlogin::testing::TEST_STACK_KEY;
/// The second app of a stack started with [`TestStack::with_two_apps`].
pub const SECOND_APPID: &str = "wx00000000sandbox2";

/// How long the sandbox's login codes live unless a test says otherwise: WeChat's 5 minutes.
const WECHAT_CODE_TTL: Duration = Duration::from_secs(300);

/// Set by `make test` to the DynamoDB Local it started for the whole run.
pub const DYNAMODB_ENDPOINT_ENV: &str = "WXLOGIN_TEST_DYNAMODB_ENDPOINT";

/// The run's shared DynamoDB Local: from `make test`, else started once for this process.
pub fn shared_dynamodb_endpoint() -> anyhow::Result<String> {
    if let Ok(endpoint) = std::env::var(DYNAMODB_ENDPOINT_ENV) {
        return Ok(endpoint);
    }
    static LAZY: OnceLock<Result<String, String>> = OnceLock::new();
    LAZY.get_or_init(|| DynamoDbLocal::start_for_this_process().map_err(|err| format!("{err:#}")))
        .clone()
        .map_err(|err| anyhow!(err))
}

/// A random suffix for names that must not collide between parallel tests.
pub fn unique_suffix() -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

/// One test's world: its own table in DynamoDB Local and its own sandbox.
pub struct TestStack {
    /// Where DynamoDB Local answers.
    pub dynamodb_endpoint: String,
    /// A client for it, on this test's runtime.
    pub dynamodb: Client,
    /// This test's table.
    pub table: String,
    /// This test's WeChat stand-in.
    pub sandbox: RunningSandbox,
    /// The AppSecret the sandbox accepts for [`TEST_APPID`].
    pub secret: String,
    /// [`SECOND_APPID`]'s AppSecret, when the stack serves two apps.
    pub second_secret: Option<String>,
    http: reqwest::Client,
    private_dynamodb: Option<DynamoDbLocal>,
}

impl TestStack {
    /// A fresh table on the shared DynamoDB Local and a fresh sandbox.
    pub async fn start() -> anyhow::Result<Self> {
        Self::build(shared_dynamodb_endpoint()?, None, WECHAT_CODE_TTL, false).await
    }

    /// A stack serving two apps, [`TEST_APPID`] and [`SECOND_APPID`], each with its own
    /// AppSecret (`WECHAT_APPS`), and a sandbox serving both.
    pub async fn with_two_apps() -> anyhow::Result<Self> {
        Self::build(shared_dynamodb_endpoint()?, None, WECHAT_CODE_TTL, true).await
    }

    /// Like [`TestStack::start`], with codes that expire after `code_ttl`.
    pub async fn with_code_ttl(code_ttl: Duration) -> anyhow::Result<Self> {
        Self::build(shared_dynamodb_endpoint()?, None, code_ttl, false).await
    }

    /// A stack with a DynamoDB Local of its own, which the test may stop and restart.
    pub async fn with_private_dynamodb() -> anyhow::Result<Self> {
        let local = tokio::task::spawn_blocking(DynamoDbLocal::start).await??;
        Self::build(local.endpoint(), Some(local), WECHAT_CODE_TTL, false).await
    }

    async fn build(
        dynamodb_endpoint: String,
        private_dynamodb: Option<DynamoDbLocal>,
        code_ttl: Duration,
        two_apps: bool,
    ) -> anyhow::Result<Self> {
        let dynamodb = local_client(&dynamodb_endpoint).await;
        let table = format!("sessions-{}", unique_suffix());
        create_sessions_table(&dynamodb, &table).await?;
        let secret = format!("sandbox-secret-{}", unique_suffix());
        let second_secret = two_apps.then(|| format!("sandbox-secret-{}", unique_suffix()));
        let mut sandbox_config = SandboxConfig {
            code_ttl,
            ..SandboxConfig::new(TEST_APPID, secret.clone())
        };
        if let Some(second) = &second_secret {
            sandbox_config = sandbox_config.with_app(SECOND_APPID, second.clone());
        }
        let sandbox = wechat_sandbox::spawn_local(sandbox_config).await?;
        Ok(Self {
            dynamodb_endpoint,
            dynamodb,
            table,
            sandbox,
            secret,
            second_secret,
            http: reqwest::Client::new(),
            private_dynamodb,
        })
    }

    /// The functions' environment for this stack (for real binaries and `Config`): one
    /// app as `WECHAT_APPID` + `WECHAT_SECRET`, two as `WECHAT_APPS`.
    pub fn function_env(&self) -> Vec<(String, String)> {
        let apps = match &self.second_secret {
            None => vec![
                ("WECHAT_APPID", TEST_APPID.to_owned()),
                ("WECHAT_SECRET", self.secret.clone()),
            ],
            Some(second) => vec![
                (
                    "WECHAT_APPS",
                    json!({ TEST_APPID: self.secret, SECOND_APPID: second }).to_string(),
                ),
                // GET /me serves the first app only; every other route both.
                (
                    "AUTHORIZER_ROUTE_APPS",
                    format!("GET /me={TEST_APPID};*={TEST_APPID},{SECOND_APPID}"),
                ),
            ],
        };
        apps.into_iter()
            .chain([
                ("WECHAT_API_BASE", self.sandbox.base_url()),
                ("SESSIONS_TABLE", self.table.clone()),
                ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb_endpoint.clone()),
                ("AWS_ACCESS_KEY_ID", "local".to_owned()),
                ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
                ("AWS_REGION", "us-east-1".to_owned()),
                ("STACK_KEY", TEST_STACK_KEY.to_owned()),
                ("WECHAT_PUSH_KEYS", self.push_keys_json()),
            ])
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    /// The validated config a function would read from [`TestStack::function_env`].
    pub fn config(&self) -> Config {
        let env = self.function_env();
        #[allow(clippy::expect_used)]
        Config::from_lookup(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("the test stack's environment is a valid config")
    }

    /// The real `binary` under a fresh Runtime API emulator, with this stack's function
    /// environment plus `extra` variables (log level, log format, metrics switches).
    pub async fn spawn_function(
        &self,
        binary: &Path,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<(RuntimeApi, FunctionProcess)> {
        let runtime = RuntimeApi::start().await?;
        let mut env = self.function_env();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let process = FunctionProcess::spawn(binary, &runtime.address(), &env)?;
        Ok((runtime, process))
    }

    /// The onlogin function wired to this stack, as `main` would build it (fresh clients).
    pub async fn login_service(
        &self,
    ) -> anyhow::Result<Login<DynamoTable, WeChatClient, StackKeySource>> {
        self.login_service_with(self.config()).await
    }

    /// The onlogin function for a modified config (another WeChat base, another secret...).
    pub async fn login_service_with(
        &self,
        config: Config,
    ) -> anyhow::Result<Login<DynamoTable, WeChatClient, StackKeySource>> {
        let (table, apps) = self.adapters(&config).await?;
        Ok(wxlogin::edge::login_service(&config, table, apps)?)
    }

    /// Fresh DynamoDB and WeChat adapters for `config`, as a new instance would build them.
    async fn adapters(&self, config: &Config) -> anyhow::Result<(DynamoTable, Apps<WeChatClient>)> {
        let dynamodb = local_client(&self.dynamodb_endpoint).await;
        let apps = wxlogin::edge::wechat_apps(config)?;
        Ok((DynamoTable::new(dynamodb, &config.sessions_table), apps))
    }

    /// The decrypt-phone use-case wired to this stack as `main` builds it, but without the
    /// daily quota (the quota's own tests set it), so a test may verify as often as it needs.
    pub async fn phone_service(&self) -> anyhow::Result<PhoneNumbers<DynamoTable, WeChatClient>> {
        self.phone_service_with(self.config()).await
    }

    /// The decrypt-phone function for a modified config.
    pub async fn phone_service_with(
        &self,
        config: Config,
    ) -> anyhow::Result<PhoneNumbers<DynamoTable, WeChatClient>> {
        let (table, apps) = self.adapters(&config).await?;
        let watermark = WatermarkPolicy {
            max_age: config.watermark_max_age,
        };
        Ok(PhoneNumbers::new(table, apps, watermark))
    }

    /// The session use-case (`GET`/`DELETE /session`) wired to this stack, without the
    /// per-minute check limit (its own tests set it).
    pub async fn session_service(
        &self,
    ) -> anyhow::Result<SessionQueries<DynamoTable, WeChatClient>> {
        let (table, apps) = self.adapters(&self.config()).await?;
        Ok(SessionQueries::new(table, apps))
    }

    /// The account use-cases (`GET`/`DELETE /account`) wired to this stack as `main`
    /// builds them.
    pub async fn account_service(&self) -> anyhow::Result<Accounts<DynamoTable, StackKeySource>> {
        let env = self.function_env();
        let config = AccountConfig::from_lookup(|name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })?;
        let table = DynamoTable::new(
            local_client(&self.dynamodb_endpoint).await,
            &config.sessions_table,
        );
        Ok(
            Accounts::new(table, StackKeySource::new(&config.stack_key), config.appids)
                .with_audit_retention(config.audit_retention)
                .with_phone_daily_limit(config.quotas.phone_verifications_per_day),
        )
    }

    /// `WECHAT_PUSH_KEYS` for every app of the stack: the test Token and EncodingAESKey,
    /// the pages in safe mode.
    pub fn push_keys_json(&self) -> String {
        self.push_keys_json_in("safe")
    }

    /// `WECHAT_PUSH_KEYS` for every app of the stack, the pages in `mode`.
    pub fn push_keys_json_in(&self, mode: &str) -> String {
        let entry = json!({
            "token": TEST_PUSH_TOKEN, "encoding_aes_key": TEST_PUSH_AES_KEY, "mode": mode,
        });
        let mut keys = serde_json::Map::new();
        keys.insert(TEST_APPID.to_owned(), entry.clone());
        if self.second_secret.is_some() {
            keys.insert(SECOND_APPID.to_owned(), entry);
        }
        Value::Object(keys).to_string()
    }

    /// The push receiver (`/wechat/events/{appid}`) wired to this stack as `main` builds it.
    pub async fn push_service(&self) -> anyhow::Result<crate::push_endpoint::StackReceiver> {
        self.push_service_in("safe").await
    }

    /// The push receiver, every app's 消息推送 page in `mode`.
    pub async fn push_service_in(
        &self,
        mode: &str,
    ) -> anyhow::Result<crate::push_endpoint::StackReceiver> {
        let mut env = self.function_env();
        env.retain(|(name, _)| name != "WECHAT_PUSH_KEYS");
        env.push(("WECHAT_PUSH_KEYS".to_owned(), self.push_keys_json_in(mode)));
        let config = PushConfig::from_lookup(|name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })?;
        let account = config.account;
        let table = DynamoTable::new(
            local_client(&self.dynamodb_endpoint).await,
            &account.sessions_table,
        );
        let accounts = Accounts::new(
            table,
            StackKeySource::new(&account.stack_key),
            account.appids.clone(),
        )
        .with_audit_retention(account.audit_retention);
        Ok(PushReceiver::new(
            accounts,
            PushKeySource::new(&config.push_keys),
            account.appids,
        ))
    }

    /// The push receiver served on a local port, and the sandbox's 消息推送 settings of
    /// `appid` saved to it (checked by the sandbox as WeChat checks them) in `mode` and
    /// `format`.
    pub async fn push_endpoint(
        &self,
        appid: &str,
        mode: &str,
        format: &str,
    ) -> anyhow::Result<crate::push_endpoint::PushEndpoint> {
        let endpoint =
            crate::push_endpoint::PushEndpoint::start(self.push_service_in(mode).await?).await?;
        let saved = self
            .sandbox_post(
                "/sandbox/push-config",
                json!({
                    "appid": appid, "url": endpoint.url(appid), "token": TEST_PUSH_TOKEN,
                    "encoding_aes_key": TEST_PUSH_AES_KEY, "mode": mode, "format": format,
                }),
            )
            .await?;
        anyhow::ensure!(saved["verified"] == true, "the URL check failed: {saved}");
        Ok(endpoint)
    }

    /// `POST /sandbox/push` with `body`: WeChat pushing an event to the saved URL.
    pub async fn sandbox_push(&self, body: Value) -> anyhow::Result<Value> {
        self.sandbox_post("/sandbox/push", body).await
    }

    /// A user who went through `wx.login` and `/onlogin`: `(bearer token, sandbox answer)`.
    pub async fn logged_in_user(&self, login: Value) -> anyhow::Result<(String, Value)> {
        let user = self.sandbox_login(login).await?;
        let service = self.login_service().await?;
        // The sandbox names the user's app: a stack of two needs it in the login.
        let body = serde_json::json!({ "code": user["code"], "appid": user["appid"] }).to_string();
        let answer = TestResponse::from_response(service.handle(post(body)).await)?;
        anyhow::ensure!(
            answer.status == 200,
            "onlogin answered {}: {}",
            answer.status,
            answer.json
        );
        let token = answer.json["token"]
            .as_str()
            .context("no token")?
            .to_owned();
        Ok((token, user))
    }

    /// A token whose session (for the sandbox `user`) expired 100 s ago but is still in
    /// the table and listed on the user, as DynamoDB's lazy TTL leaves it.
    pub async fn expired_session(&self, user: &Value) -> anyhow::Result<SessionToken> {
        let openid = user["openid"].as_str().context("no openid")?;
        let token = SessionToken::issue(&wxlogin::testing::user_key(openid))?;
        let now = now_epoch_seconds();
        let session = Session {
            appid: TEST_APPID.to_owned(),
            openid: openid.to_owned(),
            unionid: None,
            session_key: user["session_key"]
                .as_str()
                .context("no session_key")?
                .to_owned()
                .into(),
            created_at: now - 7300,
            expires_at: now - 100,
            issued_at_ms: (now - 7300) * 1000,
        };
        let store = self.store();
        store.put_session(&token.hash(), &session).await?;
        let login = UserLogin {
            appid: TEST_APPID.to_owned(),
            openid: openid.to_owned(),
            unionid: None,
            at: now,
            session: ListedSession::of(&session, &token.hash()),
            keep_until: None,
        };
        store
            .record_login(&wxlogin::testing::user_key(openid), &login)
            .await?;
        Ok(token)
    }

    /// `POST /sandbox/phone` with `body`: what the getPhoneNumber button would give.
    pub async fn sandbox_phone(&self, body: Value) -> anyhow::Result<Value> {
        self.sandbox_post("/sandbox/phone", body).await
    }

    /// The DynamoDB adapter over this stack's table.
    pub fn store(&self) -> DynamoTable {
        DynamoTable::new(self.dynamodb.clone(), &self.table)
    }

    /// Every item in this stack's table, across scan pages.
    pub async fn items(&self) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
        crate::tables::all_items(&self.dynamodb, &self.table).await
    }

    /// `POST /sandbox/login` with `body`: what `wx.login` would give.
    pub async fn sandbox_login(&self, body: Value) -> anyhow::Result<Value> {
        self.sandbox_post("/sandbox/login", body).await
    }

    /// Resets the AppSecret of [`TEST_APPID`] at WeChat (`POST /sandbox/secret`): from now
    /// on only `secret` is accepted.
    pub async fn sandbox_reset_secret(&self, secret: &str) -> anyhow::Result<()> {
        self.sandbox_reset_secret_of(TEST_APPID, secret).await
    }

    /// Resets `appid`'s AppSecret at WeChat; the stack's other app keeps its own.
    pub async fn sandbox_reset_secret_of(&self, appid: &str, secret: &str) -> anyhow::Result<()> {
        self.sandbox_post(
            "/sandbox/secret",
            serde_json::json!({ "appid": appid, "secret": secret }),
        )
        .await
        .map(drop)
    }

    /// `GET /sandbox/stats`: calls per API, forced refreshes and their refusals.
    pub async fn sandbox_stats(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/sandbox/stats", self.sandbox.base_url()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// `POST /sandbox/risk` with `body`: a rank for an openid, or risk control turned off.
    pub async fn sandbox_risk(&self, body: Value) -> anyhow::Result<Value> {
        self.sandbox_post("/sandbox/risk", body).await
    }

    /// `POST /sandbox/faults` with `body`.
    pub async fn sandbox_fault(&self, body: Value) -> anyhow::Result<()> {
        self.sandbox_post("/sandbox/faults", body).await.map(drop)
    }

    /// How many times the sandbox's `api` was called.
    pub async fn wechat_calls(&self, api: &str) -> anyhow::Result<u64> {
        let stats: Value = self
            .http
            .get(format!("{}/sandbox/stats", self.sandbox.base_url()))
            .send()
            .await?
            .json()
            .await?;
        Ok(stats["calls"][api].as_u64().unwrap_or(0))
    }

    async fn sandbox_post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.sandbox.base_url()))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        anyhow::ensure!(
            status.is_success(),
            "sandbox {path} answered {status}: {answer}"
        );
        Ok(answer)
    }

    /// Stops this stack's private DynamoDB Local (an outage).
    pub async fn stop_dynamodb(&mut self) -> anyhow::Result<()> {
        let mut local = self
            .private_dynamodb
            .take()
            .context("no private DynamoDB Local")?;
        let local = tokio::task::spawn_blocking(move || {
            local.stop();
            local
        })
        .await?;
        self.private_dynamodb = Some(local);
        Ok(())
    }

    /// Freezes (`true`) or thaws (`false`) this stack's private DynamoDB Local.
    pub fn freeze_dynamodb(&self, frozen: bool) -> anyhow::Result<()> {
        let local = self
            .private_dynamodb
            .as_ref()
            .context("no private DynamoDB Local")?;
        if frozen {
            local.pause()
        } else {
            local.resume()
        }
    }

    /// Brings the private DynamoDB Local back (empty, in-memory) and recreates the table.
    pub async fn restart_dynamodb(&mut self) -> anyhow::Result<()> {
        let mut local = self
            .private_dynamodb
            .take()
            .context("no private DynamoDB Local")?;
        let local = tokio::task::spawn_blocking(move || local.restart().map(|()| local)).await??;
        self.private_dynamodb = Some(local);
        create_sessions_table(&self.dynamodb, &self.table).await
    }
}

/// A handler's answer, decoded.
#[derive(Debug)]
pub struct TestResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers, lower-case names.
    pub headers: http::HeaderMap,
    /// The JSON body.
    pub json: Value,
}

impl TestResponse {
    /// Decodes a handler response; a non-JSON body is a test failure.
    pub fn from_response(response: Response<Body>) -> anyhow::Result<Self> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let json = serde_json::from_slice(response.body().as_ref())
            .with_context(|| format!("status {status}: body is not JSON"))?;
        Ok(Self {
            status,
            headers,
            json,
        })
    }

    /// The `error` code of an error body.
    pub fn error_code(&self) -> &str {
        self.json["error"].as_str().unwrap_or_default()
    }
}

/// Asserts `response` is the API's error: `status`, `{"error": code, "message": …}`
/// with a non-empty message, JSON, and a request id.
pub fn assert_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(
        (response.status, response.error_code()),
        (status, code),
        "{:?}",
        response.json
    );
    assert!(
        response.json["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{:?}",
        response.json
    );
    assert!(response.headers.contains_key("x-request-id"));
    assert_eq!(response.headers["content-type"], "application/json");
}

/// The WeChat failures every phone-side API must map alike, as sandbox faults (without
/// their `api`) with the status and error code the client must get.
pub fn wechat_fault_table() -> Vec<(Value, u16, &'static str)> {
    vec![
        (
            json!({ "errcode": -1, "times": 2 }),
            503,
            "wechat_unavailable",
        ),
        (json!({ "errcode": 45011, "times": 1 }), 429, "rate_limited"),
        (json!({ "errcode": 40164, "times": 1 }), 502, "wechat_error"),
        (
            json!({ "body": "<html>bad gateway</html>", "times": 1 }),
            502,
            "wechat_error",
        ),
        (
            json!({ "delay_ms": 8000, "times": 1 }),
            503,
            "wechat_unavailable",
        ),
    ]
}
