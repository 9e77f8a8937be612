//! CloudWatch metrics as Embedded Metric Format (EMF) lines on stdout: CloudWatch Logs
//! turns them into metrics, so recording costs no API call and no latency. The `metrics`
//! facade records; `metrics_cloudwatch_embedded` writes one EMF document per dimension set
//! when [`flush`] runs after each request (a frozen instance must not hold data back).
//!
//! Every name and dimension here is documented in docs/operations.md, and the template's
//! alarms read [`UPSTREAM_FAILURES`], [`FORCED_TOKEN_REFRESHES`] and [`PHONE_PACK_DAYS_LEFT`].

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ::metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_cloudwatch_embedded::{Builder, Collector};

/// The namespace when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "wxlogin";
/// `/onlogin` requests by `Outcome`.
pub const LOGINS: &str = "Logins";
/// `/decrypt-phone` requests by `Form` and `Outcome`.
pub const PHONE_DECRYPTS: &str = "PhoneDecrypts";
/// `/session` requests by `Action` and `Outcome`.
pub const SESSION_REQUESTS: &str = "SessionRequests";
/// `GET` and `DELETE /account` requests, by outcome and action.
pub const ACCOUNT_REQUESTS: &str = "AccountRequests";
/// Token function requests by `Action` (`issue`, `jwks`, `discovery`) and `Outcome`.
pub const TOKEN_REQUESTS: &str = "TokenRequests";
/// Signing-key rotation steps by `Step` and `Outcome`.
pub const KEY_ROTATION_STEPS: &str = "KeyRotationSteps";
/// Stream batches the `retention` function handled, by `Outcome` (`ok`, `partial`).
pub const RETENTION_BATCHES: &str = "RetentionBatches";
/// Message pushes handled, by `Event` and `Action` (what we did).
pub const PUSHES: &str = "Pushes";
/// `/wechat/events/{appid}` requests (URL checks and pushes) by outcome and kind.
pub const PUSH_REQUESTS: &str = "PushRequests";
/// User data erased, by reason (`user`, `wechat_cancellation`, `wechat_revoke_phone`,
/// `operator`, `inactivity`).
pub const ERASURES: &str = "Erasures";
/// Requests that failed because WeChat or DynamoDB did (dimension `Upstream`).
pub const UPSTREAM_FAILURES: &str = "UpstreamFailures";
/// Time a request waited on one upstream, in milliseconds (`Upstream`, `Function`).
pub const UPSTREAM_LATENCY: &str = "UpstreamLatency";
/// Non-zero errcodes and transport failures per WeChat call (`Api`, `Errcode`).
pub const WECHAT_ERRORS: &str = "WeChatErrors";
/// Authorizer decisions by `Outcome`: `allow`, `deny`, `error` (the store failed).
pub const AUTHORIZATIONS: &str = "Authorizations";
/// Forced access-token refreshes this stack made (no dimensions): each invalidates the
/// token every other holder of the appid has, and WeChat allows 20 a day.
pub const FORCED_TOKEN_REFRESHES: &str = "ForcedTokenRefreshes";
/// Risk-rank questions at sign-up by `Outcome` (`rank_0`…`rank_4`, `not_enabled`,
/// `failed`, `no_address`).
pub const RISK_CHECKS: &str = "RiskChecks";
/// Instances started (`Function`): one per cold start, sent with its first request.
pub const COLD_STARTS: &str = "ColdStarts";
/// Runs of the `phone-packs` function, by `Outcome`: `ok`, `partial` (some app or kind
/// could not be read), `failed` (none could).
pub const PHONE_PACK_CHECKS: &str = "PhonePackChecks";
/// Units used of one app's phone-verification packs of one kind (`AppId`, `Pack`).
pub const PHONE_PACK_USED: &str = "PhonePackUsed";
/// Units left of one app's packs of one kind (`AppId`, `Pack`).
pub const PHONE_PACK_LEFT: &str = "PhonePackLeft";
/// Days until one app's packs of one kind are used up at their recent rate (`AppId`,
/// `Pack`); without dimensions, the fewest of every app and kind in one run: the phone
/// pack alarm's metric.
pub const PHONE_PACK_DAYS_LEFT: &str = "PhonePackDaysLeft";
/// `Upstream` value for WeChat.
pub const WECHAT: &str = "wechat";
/// `Upstream` value for DynamoDB.
pub const DYNAMODB: &str = "dynamodb";

/// Most apps a stack may serve and still get the `AppId` dimension: each value is a
/// metric of its own, and an alarm reads the aggregate without it.
pub const MAX_APPS_WITH_APP_DIMENSION: usize = 10;

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();
static SEVERAL_APPS: AtomicBool = AtomicBool::new(false);
static PER_APP: AtomicBool = AtomicBool::new(false);

/// Tells the telemetry how many apps the stack serves: with several, each request's log
/// line names its app; with 2 to [`MAX_APPS_WITH_APP_DIMENSION`], the per-app metrics are
/// also recorded by `AppId`, beside the aggregate the alarms read (which therefore fire
/// for any app).
pub fn track_apps(count: usize) {
    let (several, per_app) = app_telemetry(count);
    SEVERAL_APPS.store(several, Ordering::Relaxed);
    PER_APP.store(per_app, Ordering::Relaxed);
}

/// For a stack of `count` apps: whether log lines name the app, and whether metrics are
/// also recorded by `AppId`.
fn app_telemetry(count: usize) -> (bool, bool) {
    (
        count >= 2,
        (2..=MAX_APPS_WITH_APP_DIMENSION).contains(&count),
    )
}

/// True when the stack serves several apps.
pub fn several_apps() -> bool {
    SEVERAL_APPS.load(Ordering::Relaxed)
}

/// True when metrics are also recorded by `AppId`.
pub fn per_app() -> bool {
    PER_APP.load(Ordering::Relaxed)
}

/// Installs the EMF recorder unless `WXLOGIN_METRICS=off`, and counts this cold start of
/// `function`; the namespace comes from `METRICS_NAMESPACE` (the template sets one per
/// stack, so two stages never mix).
pub fn init(function: &'static str) {
    if std::env::var("WXLOGIN_METRICS").is_ok_and(|value| value.eq_ignore_ascii_case("off")) {
        return;
    }
    let namespace = std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|namespace| !namespace.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    match Builder::new().cloudwatch_namespace(namespace).init() {
        Ok(collector) => {
            for outcomes in [LOGINS, PHONE_DECRYPTS, SESSION_REQUESTS, AUTHORIZATIONS] {
                describe_counter!(outcomes, Unit::Count, "requests by outcome");
            }
            describe_counter!(
                UPSTREAM_FAILURES,
                Unit::Count,
                "requests failed by an upstream"
            );
            describe_counter!(WECHAT_ERRORS, Unit::Count, "WeChat calls that failed");
            describe_histogram!(UPSTREAM_LATENCY, Unit::Milliseconds, "time on an upstream");
            describe_counter!(COLD_STARTS, Unit::Count, "instances started");
            describe_counter!(
                FORCED_TOKEN_REFRESHES,
                Unit::Count,
                "forced access-token refreshes"
            );
            for (name, what) in [
                (PHONE_PACK_USED, "phone-verification units used"),
                (PHONE_PACK_LEFT, "phone-verification units left"),
            ] {
                describe_histogram!(name, Unit::Count, what);
            }
            let _ = COLLECTOR.set(collector);
            counter!(COLD_STARTS, "Function" => function).increment(1);
        }
        // A second recorder (tests building two functions in one process) keeps the first.
        Err(err) => tracing::debug!(error = %err, "metrics recorder not installed"),
    }
}

/// Writes what was recorded since the last flush to stdout, as EMF lines.
pub fn flush() {
    if let Some(collector) = COLLECTOR.get()
        && let Err(err) = collector.flush(std::io::stdout().lock())
    {
        tracing::warn!(error = %err, "metrics not written");
    }
}

/// One finished request, as its metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct RequestMetrics<'a> {
    /// The function's name (`Function` dimension of the latency).
    pub function: &'static str,
    /// The function's outcome metric: `Logins`, `PhoneDecrypts`, `SessionRequests`,
    /// `Authorizations`.
    pub metric: &'static str,
    /// The function's extra dimension and this request's value (`Form` = `code`, …).
    pub kind: Option<(&'static str, &'static str)>,
    /// `ok` or the stable error code the client got; the authorizer's `allow`, `deny` or
    /// `error`.
    pub outcome: &'static str,
    /// The app the request was for, when the stack serves several and the request got that
    /// far (recorded by `AppId` only while [`per_app`]).
    pub app: Option<&'a str>,
    /// The upstream whose failure failed the request, if one did.
    pub failed_upstream: Option<&'static str>,
    /// Time spent waiting on WeChat.
    pub wechat: Duration,
    /// Time spent waiting on DynamoDB.
    pub store: Duration,
}

/// Counts the request by outcome, its upstream failure if any, and its upstream latency.
pub fn record_request(request: &RequestMetrics<'_>) {
    let outcome = ("Outcome", request.outcome);
    match request.kind {
        Some(kind) => counter!(request.metric, &[kind, outcome]).increment(1),
        None => counter!(request.metric, &[outcome]).increment(1),
    }
    if let Some(app) = request.app.filter(|_| per_app()) {
        let app = ("AppId", app.to_owned());
        let outcome = ("Outcome", request.outcome.to_owned());
        match request.kind {
            Some((name, value)) => {
                counter!(request.metric, &[(name, value.to_owned()), outcome, app]).increment(1);
            }
            None => counter!(request.metric, &[outcome, app]).increment(1),
        }
    }
    if let Some(upstream) = request.failed_upstream {
        counter!(UPSTREAM_FAILURES, "Upstream" => upstream).increment(1);
    }
    for (upstream, waited) in [(WECHAT, request.wechat), (DYNAMODB, request.store)] {
        if !waited.is_zero() {
            histogram!(UPSTREAM_LATENCY, "Upstream" => upstream, "Function" => request.function)
                .record(waited.as_secs_f64() * 1000.0);
        }
    }
}

/// Counts one failed WeChat call: `errcode` is WeChat's number, or `timeout`,
/// `unreachable`, `transport`, `bad_response`.
/// With several apps it is also counted by `AppId` and `Api`.
pub fn record_wechat_error(appid: &str, api: &'static str, errcode: String) {
    counter!(WECHAT_ERRORS, "Api" => api, "Errcode" => errcode).increment(1);
    if per_app() {
        counter!(WECHAT_ERRORS, "Api" => api, "AppId" => appid.to_owned()).increment(1);
    }
}

/// Counts one erasure of a user's data (the whole user, or the phone number) for `reason`.
pub fn record_erasure(appid: &str, reason: &'static str) {
    counter!(ERASURES, "Reason" => reason).increment(1);
    if per_app() {
        counter!(ERASURES, "Reason" => reason, "AppId" => appid.to_owned()).increment(1);
    }
}

/// Counts one push handled: its event and what was done.
pub fn record_push(appid: &str, event: &'static str, action: &'static str) {
    counter!(PUSHES, "Event" => event, "Action" => action).increment(1);
    if per_app() {
        counter!(PUSHES, "Event" => event, "AppId" => appid.to_owned()).increment(1);
    }
}

/// Counts one risk-rank question at sign-up by outcome: `rank_0`…`rank_4`, `not_enabled`
/// (48001), `failed`, `no_address`.
pub fn record_risk_check(appid: &str, outcome: &'static str) {
    counter!(RISK_CHECKS, "Outcome" => outcome).increment(1);
    if per_app() {
        counter!(RISK_CHECKS, "Outcome" => outcome, "AppId" => appid.to_owned()).increment(1);
    }
}

/// Counts one forced access-token refresh of `appid` (its own alarm: docs/operations.md).
pub fn record_forced_refresh(appid: &str) {
    counter!(FORCED_TOKEN_REFRESHES).increment(1);
    if per_app() {
        counter!(FORCED_TOKEN_REFRESHES, "AppId" => appid.to_owned()).increment(1);
    }
}

/// One app's packs of one kind as read this run: used and left, and the days left when
/// known. Recorded as one-value distributions, not gauges: a gauge is written again at
/// every flush of a warm instance, so an app whose read failed would repeat last
/// hour's numbers; these are written only by the run that measured them.
pub fn record_phone_pack(
    appid: &str,
    pack: &'static str,
    used: u64,
    left: u64,
    days_left: Option<f64>,
) {
    let labels = [("AppId", appid.to_owned()), ("Pack", pack.to_owned())];
    // Counts far below 2^52: exact as f64.
    histogram!(PHONE_PACK_USED, &labels).record(used as f64);
    histogram!(PHONE_PACK_LEFT, &labels).record(left as f64);
    if let Some(days) = days_left {
        histogram!(PHONE_PACK_DAYS_LEFT, &labels).record(days);
    }
}

/// The fewest days left of every app and kind read this run, without dimensions: what the
/// phone pack alarm watches.
pub fn record_phone_pack_minimum(days_left: f64) {
    histogram!(PHONE_PACK_DAYS_LEFT).record(days_left);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_are_named_from_two_and_counted_apart_up_to_ten() {
        assert_eq!(app_telemetry(1), (false, false), "one app: nothing extra");
        assert_eq!(app_telemetry(2), (true, true));
        assert_eq!(app_telemetry(MAX_APPS_WITH_APP_DIMENSION), (true, true));
        assert_eq!(
            app_telemetry(MAX_APPS_WITH_APP_DIMENSION + 1),
            (true, false),
            "too many apps for a metric each: still named in the logs"
        );
    }
}
