//! A local stand-in for `api.weixin.qq.com`, with WeChat's semantics for one or several
//! mini-programs (each its own appid, AppSecret, users, codes and access tokens).
//!
//! WeChat's own paths (`GET /sns/jscode2session`, `POST /cgi-bin/stable_token`,
//! `POST /wxa/business/getuserphonenumber`, `GET /wxa/checksession`,
//! `POST /wxa/getuserriskrank`, `GET /wxa/charge/usage/get`) answer like WeChat does: HTTP 200,
//! JSON labelled `text/plain`, errors as `{"errcode", "errmsg"}`, single-use codes that
//! expire, and stable_token's rules (renewal in a token's last 5 minutes, forced refreshes
//! that cut off the old token at once, at most one per 30 s and 20 a day: see `access.rs`).
//! Control paths under `/sandbox/` play the mini-program's side and the platform's; those
//! about one app take an optional `"appid"` (default: the first configured app):
//!
//! - `POST /sandbox/login {"appid"?, "openid"?, "unionid"?, "session_key"?}`: what
//!   `wx.login` yields in that app (the same `unionid` in two apps plays one person);
//! - `POST /sandbox/phone {"appid"?, "openid", "phoneNumber", "countryCode"?, "realtime"?}`:
//!   what the getPhoneNumber (or getRealtimePhoneNumber) button yields; 402 with `errno`
//!   1400001, and no code, when that kind's packs are empty;
//! - `POST /sandbox/charge {"appid"?, "pack" | "spuId", "all", "used"?}`: sets a kind's
//!   phone-verification packs (each app starts with a 1,000-unit free trial per kind; each
//!   code `/sandbox/phone` issues uses one unit of its kind, redeemed or not);
//! - `POST /sandbox/risk {"appid"?, "openid", "rank"}` or `{"appid"?, "enabled"}`:
//!   getuserriskrank's answer for a user, or the app without risk control (`48001`);
//! - `POST /sandbox/faults {"api", "errcode"?, "delay_ms"?, "body"?, "times"}`: faults;
//! - `GET /sandbox/stats` → `{"calls": {"<api>": N}, "forced_refreshes": N,
//!   "forced_refresh_refusals": {"too_soon": N, "daily_limit": N}, "billed": {"quick": N,
//!   "realtime": N}, "apps": {"<appid>": {"forced_refreshes": N, "billed": {…}}}}` (calls,
//!   refusals and billed verifications, i.e. codes the buttons issued, summed over the apps);
//! - `POST /sandbox/secret {"appid"?, "secret"}` → `{"ok": true}`: resets that app's
//!   AppSecret (the old one then gets `40125`);
//! - `POST /sandbox/token-day` → `{"ok": true}`: a new day for every app's forced-refresh
//!   limit;
//! - `POST /sandbox/push-config {"appid"?, "url", "token", "encoding_aes_key", "mode"?,
//!   "format"?}` → `{"verified": true}`: the app's 消息推送 settings, saved once the URL
//!   answers WeChat's signed check (mode `plaintext`, `compatible` or `safe`, default
//!   safe; format `xml` or `json`, default json);
//! - `POST /sandbox/push {"appid"?, "openid", "event", "revoke_info"?, "mode"?,
//!   "format"?}` → `{"delivered", "attempts": [{"status", "body"}…]}`: WeChat pushes an
//!   `authorized_user_information_changes` event (or any other) for the user to that URL,
//!   signed and encrypted as WeChat does, retried up to 3 attempts.
//!
//! Every path answers only this machine ([`LocalOnly`], configured by
//! [`SandboxConfig::local_only`]): `Host` must name it (421 otherwise), a `POST` from a page
//! of another origin is 403, and every `POST` takes `content-type: application/json` (415
//! otherwise), WeChat's own `POST` APIs included: WeChat documents their bodies as JSON,
//! and the functions send them so. [`local_only`] also guards the devkit's gateway.
//!
//! For dev and tests only.

mod access;
mod charge;
mod control;
pub mod local_only;
mod phone;
mod push;
mod random;
mod risk;
mod state;
mod wechat_api;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use local_only::LocalOnly;
pub use state::Api;

/// One mini-program the sandbox serves.
#[derive(Debug, Clone)]
pub struct SandboxApp {
    /// Its appid.
    pub appid: String,
    /// The AppSecret it accepts at start; `POST /sandbox/secret` rotates it, after which
    /// only the new one is accepted.
    pub secret: String,
}

/// How a sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The apps it serves (at least one; the first is the control paths' default). Any
    /// other appid gets `40013`.
    pub apps: Vec<SandboxApp>,
    /// How long a login or phone code stays valid (WeChat: about 5 minutes).
    pub code_ttl: Duration,
    /// How long an access token lives (WeChat: 7200 s).
    pub access_token_ttl: Duration,
    /// A normal-mode stable_token call when the current token has this long or less to
    /// live gets a new token; the old one keeps working until its own expiry
    /// (WeChat: 300 s). At or above `access_token_ttl`, every normal call renews.
    pub renew_before_expiry: Duration,
    /// A forced refresh within this long of the previous effective one does not refresh:
    /// it answers the current token and does not count (WeChat: 30 s).
    pub force_refresh_min_interval: Duration,
    /// Effective forced refreshes allowed per sandbox day; the next one answers `45009`
    /// (WeChat: 20).
    pub forced_refreshes_per_day: u32,
    /// getuserriskrank answers `61010` for a user whose last `wx.login` is older than this
    /// (WeChat: the user must have visited the mini-program in the last 30 minutes).
    pub risk_openid_window: Duration,
    /// Who may reach it: by default this machine's names plus `host.docker.internal` (what
    /// `sam local`'s containers call it), JSON bodies only; the binary widens it with
    /// `DEV_ALLOWED_HOSTS` and `DEV_ALLOWED_ORIGINS`.
    pub local_only: LocalOnly,
}

/// The sandbox's default [`LocalOnly`]: this machine, `host.docker.internal`, JSON bodies.
pub fn sandbox_local_only() -> LocalOnly {
    LocalOnly::new().with_host(DOCKER_HOST).json_bodies()
}

/// The name `sam local`'s containers reach this machine by (docs/deploy.md).
pub const DOCKER_HOST: &str = "host.docker.internal";

impl SandboxConfig {
    /// A sandbox for `appid`/`secret` with WeChat's numbers: 5-minute codes, 7200 s access
    /// tokens renewed in their last 300 s, forced refreshes at most 20 a day and 30 s apart,
    /// risk ranks for users seen in the last 30 minutes.
    pub fn new(appid: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            apps: vec![SandboxApp {
                appid: appid.into(),
                secret: secret.into(),
            }],
            code_ttl: Duration::from_secs(300),
            access_token_ttl: Duration::from_secs(7200),
            renew_before_expiry: Duration::from_secs(300),
            force_refresh_min_interval: Duration::from_secs(30),
            forced_refreshes_per_day: 20,
            risk_openid_window: Duration::from_secs(30 * 60),
            local_only: sandbox_local_only(),
        }
    }

    /// The same sandbox serving one more app.
    #[must_use]
    pub fn with_app(mut self, appid: impl Into<String>, secret: impl Into<String>) -> Self {
        self.apps.push(SandboxApp {
            appid: appid.into(),
            secret: secret.into(),
        });
        self
    }
}

#[derive(Clone)]
struct Shared {
    config: Arc<SandboxConfig>,
    state: Arc<Mutex<state::State>>,
}

/// The sandbox's routes, ready to serve.
pub fn router(config: SandboxConfig) -> Router {
    let state = state::State {
        apps: config
            .apps
            .iter()
            .map(|app| {
                let state = state::AppState {
                    secret: app.secret.clone(),
                    ..state::AppState::default()
                };
                (app.appid.clone(), state)
            })
            .collect(),
        default_appid: config
            .apps
            .first()
            .map(|app| app.appid.clone())
            .unwrap_or_default(),
        ..state::State::default()
    };
    let local_only = config.local_only.clone();
    let shared = Shared {
        config: Arc::new(config),
        state: Arc::new(Mutex::new(state)),
    };
    let routes = Router::new()
        .route("/sns/jscode2session", get(wechat_api::jscode2session))
        .route("/cgi-bin/stable_token", post(access::stable_token))
        .route(
            "/wxa/business/getuserphonenumber",
            post(phone::getuserphonenumber),
        )
        .route("/wxa/checksession", get(phone::checksession))
        .route("/wxa/getuserriskrank", post(risk::getuserriskrank))
        .route("/wxa/charge/usage/get", get(charge::usage_get))
        .route("/sandbox/login", post(control::login))
        .route("/sandbox/phone", post(phone::sandbox_phone))
        .route("/sandbox/charge", post(charge::charge))
        .route("/sandbox/risk", post(risk::sandbox_risk))
        .route("/sandbox/faults", post(control::faults))
        .route("/sandbox/stats", get(control::stats))
        .route("/sandbox/secret", post(control::secret))
        .route("/sandbox/token-day", post(control::token_day))
        .route("/sandbox/push-config", post(push::push_config))
        .route("/sandbox/push", post(push::push))
        .fallback(wechat_api::not_found)
        .with_state(shared);
    local_only.protect(routes)
}

/// A sandbox serving on a background task of the current Tokio runtime.
pub struct RunningSandbox {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSandbox {
    /// Base URL to use as `WECHAT_API_BASE`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a sandbox on `listener` in the background; it stops when the handle drops.
pub fn spawn(listener: TcpListener, config: SandboxConfig) -> std::io::Result<RunningSandbox> {
    let addr = listener.local_addr()?;
    let app = router(config);
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "sandbox server stopped");
        }
    });
    Ok(RunningSandbox { addr, task })
}

/// Starts a sandbox on a free port of 127.0.0.1, as the tests and the `TestStack` want one:
/// [`spawn`] on a fresh local listener.
pub async fn spawn_local(config: SandboxConfig) -> std::io::Result<RunningSandbox> {
    spawn(TcpListener::bind("127.0.0.1:0").await?, config)
}
