//! `wechat-sandbox`: serves the WeChat stand-in on a port.
//!
//! Env: `WECHAT_APPID` and `WECHAT_SECRET`, or `WECHAT_APPS='{"<appid>": "<secret>", …}'`
//! for several apps (the first by name is the control paths' default), `SANDBOX_PORT` (default 9100),
//! `SANDBOX_HOST` (default 127.0.0.1), `SANDBOX_CODE_TTL_SECONDS` (default 300),
//! `SANDBOX_ACCESS_TOKEN_TTL_SECONDS` (default 7200), `SANDBOX_RENEW_BEFORE_EXPIRY_SECONDS`
//! (default 300), `SANDBOX_FORCE_REFRESH_MIN_INTERVAL_SECONDS` (default 30),
//! `SANDBOX_FORCED_REFRESHES_PER_DAY` (default 20): WeChat's numbers unless set.
//!
//! It answers only this machine (`wechat_sandbox::local_only`): `Host` `localhost`,
//! `127.0.0.1`, `[::1]` or `host.docker.internal` (for `sam local`'s containers), plus
//! `SANDBOX_HOST` when it names one address, plus the names of `DEV_ALLOWED_HOSTS`; pages of
//! this machine's origins, or of `DEV_ALLOWED_ORIGINS`, may `POST`; JSON bodies only.

use std::time::Duration;

use anyhow::{Context, bail};
use wechat_sandbox::{SandboxApp, SandboxConfig};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// `name` as whole seconds, `default` when unset or empty.
fn seconds(name: &str, default: &str) -> anyhow::Result<Duration> {
    let seconds: u64 = env_or(name, default)
        .parse()
        .with_context(|| format!("{name} must be whole seconds"))?;
    Ok(Duration::from_secs(seconds))
}

/// The apps served: `WECHAT_APPS` (a JSON object, appid → AppSecret) when set, else
/// `WECHAT_APPID` + `WECHAT_SECRET`. An entry that is not a non-empty string fails,
/// naming its appid (never a secret).
fn apps() -> anyhow::Result<Vec<SandboxApp>> {
    if let Some(apps) = std::env::var("WECHAT_APPS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        let apps: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&apps)
            .map_err(|_| {
                anyhow::anyhow!(
                    "WECHAT_APPS must be a JSON object {{\"<appid>\": \"<AppSecret>\", …}}"
                )
            })?;
        if apps.is_empty() {
            bail!("WECHAT_APPS names no app");
        }
        return apps
            .into_iter()
            .map(|(appid, secret)| match secret.as_str() {
                Some(secret) if !appid.is_empty() && !secret.is_empty() => Ok(SandboxApp {
                    secret: secret.to_owned(),
                    appid,
                }),
                _ => bail!(
                    "WECHAT_APPS: the entry for {appid:?} must be a non-empty AppSecret string"
                ),
            })
            .collect();
    }
    let Ok(appid) = std::env::var("WECHAT_APPID") else {
        bail!("WECHAT_APPID is required (the appid the sandbox accepts), or WECHAT_APPS");
    };
    let Ok(secret) = std::env::var("WECHAT_SECRET") else {
        bail!("WECHAT_SECRET is required (the AppSecret the sandbox accepts), or WECHAT_APPS");
    };
    Ok(vec![SandboxApp { appid, secret }])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let apps = apps()?;
    let host = env_or("SANDBOX_HOST", "127.0.0.1");
    let port: u16 = env_or("SANDBOX_PORT", "9100")
        .parse()
        .context("SANDBOX_PORT must be a port number")?;
    let code_ttl = seconds("SANDBOX_CODE_TTL_SECONDS", "300")?;
    let access_token_ttl = seconds("SANDBOX_ACCESS_TOKEN_TTL_SECONDS", "7200")?;
    let renew_before_expiry = seconds("SANDBOX_RENEW_BEFORE_EXPIRY_SECONDS", "300")?;
    let force_refresh_min_interval = seconds("SANDBOX_FORCE_REFRESH_MIN_INTERVAL_SECONDS", "30")?;
    let forced_refreshes_per_day: u32 = env_or("SANDBOX_FORCED_REFRESHES_PER_DAY", "20")
        .parse()
        .context("SANDBOX_FORCED_REFRESHES_PER_DAY must be a whole number")?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| {
            format!("cannot listen on {host}:{port} (is the port busy? set SANDBOX_PORT)")
        })?;
    let mut local_only = wechat_sandbox::sandbox_local_only();
    // Listening on one address (not every one): the name clients reach it by.
    if !matches!(host.as_str(), "0.0.0.0" | "::" | "[::]") {
        local_only = local_only.with_host(&host);
    }
    let local_only = local_only.widened_by_env();
    let config = SandboxConfig {
        local_only,
        code_ttl,
        access_token_ttl,
        renew_before_expiry,
        force_refresh_min_interval,
        forced_refreshes_per_day,
        // WeChat's 30 minutes; tests that need less set the field.
        risk_openid_window: Duration::from_secs(30 * 60),
        apps,
    };
    tracing::info!("wechat-sandbox listening on http://{host}:{port}");
    axum::serve(listener, wechat_sandbox::router(config)).await?;
    Ok(())
}
