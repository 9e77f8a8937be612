//! HTTP client for WeChat's server API, built once per Lambda instance.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::app_secret::AppSecret;
use serde::de::DeserializeOwned;

use crate::config::{AppConfig, Config};
use crate::domain::{Errcode, WeChatError};
use crate::telemetry::metrics;

/// Time to open a TCP+TLS connection; WeChat's edge answers in tens of milliseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Whole-request budget: a stalled WeChat must not eat the Lambda's own timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections older than this are dropped rather than reused: after a Lambda freeze
/// WeChat may have closed them, and a request written to a dead socket fails mid-flight,
/// where we can no longer tell whether the code was consumed.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause before the single retry of a call that certainly did not consume the code.
const RETRY_DELAY: Duration = Duration::from_millis(200);

/// How a transport failure reads: whether the request can have reached WeChat.
fn transport_error(err: &reqwest::Error) -> WeChatError {
    // Checked first: a connect timeout also reports is_timeout, yet nothing was sent.
    if err.is_connect() {
        WeChatError::Unreachable
    } else if err.is_timeout() {
        WeChatError::Timeout
    } else {
        WeChatError::Transport
    }
}

/// Why the WeChat client could not be built at init.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// The TLS configuration was refused.
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    /// reqwest could not build the client.
    #[error("HTTP client setup failed: {0}")]
    Http(#[from] reqwest::Error),
}

/// TLS for api.weixin.qq.com with Mozilla's roots compiled in (webpki-roots): reading and
/// parsing the system store, reqwest's default, cost about 2 ms of every cold start.
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// Client for the WeChat endpoints wxlogin uses, for one app.
pub struct WeChatClient {
    http: reqwest::Client,
    api_base: String,
    pub(super) appid: String,
    app_secret: AppSecret,
}

impl WeChatClient {
    /// Builds one client per app the stack serves, from validated config, sharing one
    /// TLS setup and connection pool (built once: the apps call the same host).
    pub fn for_each_app(config: &Config) -> Result<Vec<Self>, ClientBuildError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(concat!("wxlogin/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(config
            .apps
            .iter()
            .map(|app| Self::for_app(http.clone(), &config.wechat_api_base, app))
            .collect())
    }

    fn for_app(http: reqwest::Client, api_base: &str, app: &AppConfig) -> Self {
        Self {
            http,
            api_base: api_base.to_owned(),
            appid: app.appid.clone(),
            app_secret: AppSecret::new(&app.secret, &app.appid),
        }
    }

    /// `{api_base}{path}`.
    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base)
    }

    /// Sends `request` to WeChat's `api` and decodes the answer; a failure is counted in
    /// the `WeChatErrors` metric under `api`.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        api: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, WeChatError> {
        let outcome = Self::send(request).await;
        if let Err(err) = &outcome {
            metrics::record_wechat_error(&self.appid, api, err.metric_label());
        }
        outcome
    }

    /// WeChat answers HTTP 200 with JSON that it labels `text/plain`, so the content-type
    /// is ignored; a non-zero `errcode` is an error whatever else the body holds.
    async fn send<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, WeChatError> {
        let response = request
            .send()
            .await
            // The reqwest error's Display holds the URL, secrets included: classify, drop it.
            .map_err(|err| transport_error(&err))?;
        if !response.status().is_success() {
            return Err(WeChatError::BadResponse("non-2xx HTTP status"));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|err| transport_error(&err))?;
        let envelope: Envelope = serde_json::from_slice(&bytes)
            .map_err(|_| WeChatError::BadResponse("body is not the documented JSON"))?;
        if let Some(errcode) = Errcode::from_raw(envelope.errcode) {
            return Err(WeChatError::Api(errcode));
        }
        serde_json::from_slice(&bytes)
            .map_err(|_| WeChatError::BadResponse("body lacks the documented fields"))
    }

    /// Runs `attempt`, and once more after a pause if it failed in a way that cannot have
    /// consumed anything (busy, or never sent).
    pub(super) async fn with_safe_retry<T, F, Fut>(&self, attempt: F) -> Result<T, WeChatError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, WeChatError>>,
    {
        match attempt().await {
            Err(err) if err.safe_to_retry() => {
                tracing::debug!(error = %err, "WeChat call retried once");
                tokio::time::sleep(RETRY_DELAY).await;
                attempt().await
            }
            outcome => outcome,
        }
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Runs `attempt` with the AppSecret; when WeChat rejects it (40125, answered before
    /// anything else is looked at, so a login code is not spent) and a re-read finds a
    /// rotated one, runs it once more with that.
    pub(super) async fn with_app_secret<T, F, Fut>(&self, attempt: F) -> Result<T, WeChatError>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<T, WeChatError>>,
    {
        let current = self.app_secret.current().await?;
        match attempt(current.secret.clone()).await {
            Err(WeChatError::Api(Errcode::InvalidAppSecret)) => {
                match self.app_secret.after_rejection(&current).await? {
                    Some(rotated) => attempt(rotated.secret).await,
                    None => Err(WeChatError::Api(Errcode::InvalidAppSecret)),
                }
            }
            outcome => outcome,
        }
    }
}

/// The part every WeChat answer shares.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    errcode: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_never_sent() {
        // A port that was just free: nothing listens there, so the connect is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap();
        let err = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .expect_err("nothing listens there");
        assert_eq!(transport_error(&err), WeChatError::Unreachable);
    }
}
