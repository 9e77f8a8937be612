//! HTTP client for WeChat's server API, built once per Lambda instance.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Errcode;
use crate::config::Config;
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

/// Why a WeChat call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeChatError {
    /// WeChat answered with a non-zero `errcode`.
    #[error("WeChat answered errcode {}", .0.raw())]
    Api(Errcode),
    /// No connection could be made, so the request was never sent.
    #[error("WeChat unreachable (connection failed before the request was sent)")]
    Unreachable,
    /// The request was sent but no answer came within our budget.
    #[error("WeChat did not answer within {}s", REQUEST_TIMEOUT.as_secs())]
    Timeout,
    /// The connection failed after the request was sent.
    #[error("WeChat connection failed mid-request")]
    Transport,
    /// An answer came but it is not what the API documents.
    #[error("WeChat's answer was unusable: {0}")]
    BadResponse(&'static str),
}

impl WeChatError {
    /// True when WeChat certainly did not consume the login code.
    pub fn leaves_code_unused(&self) -> bool {
        match self {
            Self::Api(errcode) => errcode.leaves_code_unused(),
            Self::Unreachable => true,
            Self::Timeout | Self::Transport | Self::BadResponse(_) => false,
        }
    }

    /// True when repeating the very same call cannot turn a success into 40163: only a
    /// busy answer or a request that never left (wechat-facts: never retry after a timeout).
    pub(super) fn safe_to_retry(&self) -> bool {
        matches!(self, Self::Api(Errcode::SystemBusy) | Self::Unreachable)
    }

    /// The `Errcode` dimension of the `WeChatErrors` metric: WeChat's number, or what
    /// went wrong on the way.
    pub fn metric_label(&self) -> String {
        match self {
            Self::Api(errcode) => errcode.raw().to_string(),
            Self::Unreachable => "unreachable".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Transport => "transport".to_owned(),
            Self::BadResponse(_) => "bad_response".to_owned(),
        }
    }

    fn from_transport(err: &reqwest::Error) -> Self {
        // Checked first: a connect timeout also reports is_timeout, yet nothing was sent.
        if err.is_connect() {
            Self::Unreachable
        } else if err.is_timeout() {
            Self::Timeout
        } else {
            Self::Transport
        }
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

/// Client for the WeChat endpoints wxlogin uses.
pub struct WeChatClient {
    http: reqwest::Client,
    api_base: String,
    appid: String,
    secret: SecretString,
}

impl WeChatClient {
    /// Builds the client (TLS roots, connection pool) once, from validated config.
    pub fn new(config: &Config) -> Result<Self, ClientBuildError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(concat!("wxlogin/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            api_base: config.wechat_api_base.clone(),
            appid: config.appid.clone(),
            secret: config.secret.clone(),
        })
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
            metrics::record_wechat_error(api, err.metric_label());
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
            .map_err(|err| WeChatError::from_transport(&err))?;
        if !response.status().is_success() {
            return Err(WeChatError::BadResponse("non-2xx HTTP status"));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|err| WeChatError::from_transport(&err))?;
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

    /// The appid calls are made for.
    pub fn appid(&self) -> &str {
        &self.appid
    }

    pub(super) fn secret(&self) -> &SecretString {
        &self.secret
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

    #[test]
    fn only_busy_and_unsent_calls_are_retried() {
        assert!(WeChatError::Api(Errcode::SystemBusy).safe_to_retry());
        assert!(WeChatError::Unreachable.safe_to_retry());
        assert!(!WeChatError::Timeout.safe_to_retry());
        assert!(!WeChatError::Transport.safe_to_retry());
        assert!(!WeChatError::Api(Errcode::RateLimited).safe_to_retry());
        assert!(!WeChatError::BadResponse("x").safe_to_retry());
    }

    #[test]
    fn metric_labels_name_the_errcode_or_the_failure() {
        let labels: Vec<String> = [
            WeChatError::Api(Errcode::SystemBusy),
            WeChatError::Api(Errcode::Other(61450)),
            WeChatError::Timeout,
            WeChatError::Unreachable,
            WeChatError::Transport,
            WeChatError::BadResponse("x"),
        ]
        .iter()
        .map(WeChatError::metric_label)
        .collect();
        assert_eq!(
            labels,
            [
                "-1",
                "61450",
                "timeout",
                "unreachable",
                "transport",
                "bad_response"
            ]
        );
    }

    #[test]
    fn a_timeout_may_have_consumed_the_code() {
        assert!(!WeChatError::Timeout.leaves_code_unused());
        assert!(WeChatError::Unreachable.leaves_code_unused());
        assert!(WeChatError::Api(Errcode::SystemBusy).leaves_code_unused());
    }
}
