//! A local stand-in for `api.weixin.qq.com`, with WeChat's semantics for one appid/secret.
//!
//! WeChat's own paths (`GET /sns/jscode2session`, `POST /cgi-bin/stable_token`,
//! `POST /wxa/business/getuserphonenumber`, `GET /wxa/checksession`) answer like WeChat does: HTTP 200,
//! JSON labelled `text/plain`, errors as `{"errcode", "errmsg"}`, single-use codes that
//! expire. Control paths under `/sandbox/` play the mini-program's side
//! (`/sandbox/login` is what `wx.login` yields, `/sandbox/phone` what the getPhoneNumber
//! button yields) and inject faults. For dev and tests only.

mod access;
mod control;
mod phone;
mod random;
mod state;
mod wechat_api;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use state::Api;

/// How a sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The only appid it accepts.
    pub appid: String,
    /// The only AppSecret it accepts.
    pub secret: String,
    /// How long a login or phone code stays valid (WeChat: about 5 minutes).
    pub code_ttl: Duration,
    /// How long an access token lives (WeChat: 7200 s).
    pub access_token_ttl: Duration,
}

impl SandboxConfig {
    /// A sandbox for `appid`/`secret` with WeChat's 5-minute code life.
    pub fn new(appid: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            appid: appid.into(),
            secret: secret.into(),
            code_ttl: Duration::from_secs(300),
            access_token_ttl: Duration::from_secs(7200),
        }
    }
}

#[derive(Clone)]
struct Shared {
    config: Arc<SandboxConfig>,
    state: Arc<Mutex<state::State>>,
}

/// The sandbox's routes, ready to serve.
pub fn router(config: SandboxConfig) -> Router {
    let shared = Shared {
        config: Arc::new(config),
        state: Arc::default(),
    };
    Router::new()
        .route("/sns/jscode2session", get(wechat_api::jscode2session))
        .route("/cgi-bin/stable_token", post(access::stable_token))
        .route(
            "/wxa/business/getuserphonenumber",
            post(phone::getuserphonenumber),
        )
        .route("/wxa/checksession", get(phone::checksession))
        .route("/sandbox/login", post(control::login))
        .route("/sandbox/phone", post(phone::sandbox_phone))
        .route("/sandbox/faults", post(control::faults))
        .route("/sandbox/stats", get(control::stats))
        .fallback(wechat_api::not_found)
        .with_state(shared)
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
