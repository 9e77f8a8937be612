//! The login-flood scenario: one client sends junk codes at twice `/onlogin`'s route limit
//! while real users log in from their own addresses, through a model of API Gateway's route throttle (a
//! token bucket: 20 requests a second, bursts of 40, the template's defaults) in front of
//! the real login (DynamoDB Local, the WeChat sandbox over HTTP). Three ways of running
//! the stack: no per-client limit, the per-client limit (FAILED_LOGINS_PER_CLIENT_PER_MINUTE),
//! and the limit behind the optional edge (AWS WAF's per-IP rate rule, modelled as
//! refusing the address once it passed the rule's count).

use std::sync::Arc;
use std::time::{Duration, Instant};

use devkit::stack::{TestResponse, TestStack};
use serde_json::json;
use wxlogin::testing::ServeHttp;

use crate::measure::Quantiles;

/// `/onlogin`'s route throttle by default (OnLoginThrottlingRateLimit,
/// OnLoginThrottlingBurstLimit).
const ROUTE_RATE: f64 = 20.0;
const ROUTE_BURST: f64 = 40.0;
/// The junk sender: twice the route's rate.
const JUNK_PER_SECOND: f64 = 40.0;
/// The real clients: a login every half second, each from one of [`REAL_CLIENTS`]
/// addresses in turn (people behind their own addresses, not one device in a loop).
const REAL_PER_SECOND: f64 = 2.0;
const REAL_CLIENTS: usize = 20;
/// examples/edge-waf's OnLoginRequestsPerIp default, scaled from its 300 s window to
/// the scenario's length: the count past which the web ACL blocks the address.
const WAF_LOGINS_PER_300_S: f64 = 300.0;

/// Addresses from the benchmarking range (198.18.0.0/15), a block per setup, so that no
/// setup inherits another's per-client counters.
fn junk_ip(setup: usize) -> String {
    format!("198.19.{setup}.66")
}

fn real_ip(setup: usize, login: usize) -> String {
    format!("198.18.{setup}.{}", login % REAL_CLIENTS + 1)
}

/// One way of running the stack.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub name: &'static str,
    client_limit: bool,
    edge: bool,
    /// The route throttle's rate; its burst is twice that.
    route_rate: f64,
}

pub const SETUPS: [Setup; 4] = [
    Setup {
        name: "no per-client limit",
        client_limit: false,
        edge: false,
        route_rate: ROUTE_RATE,
    },
    Setup {
        name: "per-client limit (6 refused codes a minute)",
        client_limit: true,
        edge: false,
        route_rate: ROUTE_RATE,
    },
    Setup {
        name: "per-client limit, route limit raised to 100/s",
        client_limit: true,
        edge: false,
        route_rate: 100.0,
    },
    Setup {
        name: "per-client limit + edge (WAF per-IP rule)",
        client_limit: true,
        edge: true,
        route_rate: ROUTE_RATE,
    },
];

/// What one run gave.
#[derive(Debug, Default)]
pub struct Outcome {
    pub real_sent: usize,
    pub real_ok: usize,
    /// The real client's logins that went through, milliseconds.
    pub real_latency: Quantiles,
    /// The real client's requests API Gateway's route throttle refused.
    pub real_throttled: usize,
    pub junk_sent: usize,
    /// Junk requests that reached the function.
    pub junk_invoked: usize,
    /// code2Session calls the junk cost (WeChat quota).
    pub junk_wechat_calls: u64,
}

/// API Gateway's route throttle: a token bucket.
struct Bucket {
    tokens: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: f64) -> Self {
        Self {
            tokens: rate * ROUTE_BURST / ROUTE_RATE,
            rate,
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.rate;
        let burst = self.rate * ROUTE_BURST / ROUTE_RATE;
        self.tokens = (self.tokens + refill).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// `POST /onlogin` as API Gateway hands it over from `source_ip`.
fn login_request(source_ip: &str, code: &str) -> lambda_http::Request {
    let body = json!({ "code": code }).to_string();
    let mut event = devkit::apigw::http_event("POST", "/onlogin", Some(&body), &[]);
    event["requestContext"]["http"]["sourceIp"] = json!(source_ip);
    #[allow(clippy::expect_used)]
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event")
}

/// Runs `setup` (the `index`th) for `seconds`.
pub async fn run(
    stack: &TestStack,
    index: usize,
    setup: Setup,
    seconds: u64,
) -> anyhow::Result<Outcome> {
    let mut config = stack.config();
    if !setup.client_limit {
        config.quotas.failed_logins_per_client_per_minute = None;
    }
    let service = Arc::new(stack.login_service_with(config).await?);
    // Real codes up front: the sandbox call is not part of a login's latency.
    let real_count = (seconds as f64 * REAL_PER_SECOND).ceil() as usize;
    let mut codes = Vec::with_capacity(real_count);
    for _ in 0..real_count {
        let user = stack.sandbox_login(json!({})).await?;
        codes.push(user["code"].as_str().unwrap_or_default().to_owned());
    }
    let wechat_before = stack.wechat_calls("jscode2session").await?;

    let waf_limit = WAF_LOGINS_PER_300_S * seconds as f64 / 300.0;
    let mut bucket = Bucket::new(setup.route_rate);
    let mut outcome = Outcome::default();
    let mut real_tasks = Vec::new();
    let mut junk_tasks = Vec::new();
    let started = Instant::now();
    let (junk_gap, real_gap) = (1.0 / JUNK_PER_SECOND, 1.0 / REAL_PER_SECOND);
    let (mut next_junk, mut next_real) = (0.0, 0.0);
    let mut codes = codes.into_iter();
    loop {
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed >= seconds as f64 {
            break;
        }
        if elapsed >= next_junk {
            next_junk += junk_gap;
            outcome.junk_sent += 1;
            let blocked_at_edge = setup.edge && outcome.junk_sent as f64 > waf_limit;
            if !blocked_at_edge && bucket.take() {
                outcome.junk_invoked += 1;
                let service = Arc::clone(&service);
                let code = format!("junk-{}", outcome.junk_sent);
                let from = junk_ip(index);
                junk_tasks.push(tokio::spawn(async move {
                    service.handle(login_request(&from, &code)).await
                }));
            }
        }
        if elapsed >= next_real {
            next_real += real_gap;
            if let Some(code) = codes.next() {
                outcome.real_sent += 1;
                if bucket.take() {
                    let service = Arc::clone(&service);
                    let from = real_ip(index, outcome.real_sent);
                    real_tasks.push(tokio::spawn(async move {
                        let sent = Instant::now();
                        let answer = service.handle(login_request(&from, &code)).await;
                        (answer, sent.elapsed())
                    }));
                } else {
                    outcome.real_throttled += 1;
                }
            }
        }
        let wake = next_junk.min(next_real) - started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs_f64(wake.max(0.0))).await;
    }
    let mut latencies = Vec::new();
    for task in real_tasks {
        let (answer, took) = task.await?;
        if TestResponse::from_response(answer)?.status == 200 {
            outcome.real_ok += 1;
            latencies.push(took.as_secs_f64() * 1000.0);
        }
    }
    for task in junk_tasks {
        task.await?;
    }
    outcome.real_latency = Quantiles::of(latencies);
    outcome.junk_wechat_calls =
        stack.wechat_calls("jscode2session").await? - wechat_before - outcome.real_ok as u64;
    Ok(outcome)
}

/// The scenario's section of the report.
pub fn report(seconds: u64, runs: &[(Setup, Outcome)]) -> String {
    let mut text = format!(
        "\n## Login flood ({seconds} s per setup)\n\nOne client sends junk codes at \
         {JUNK_PER_SECOND:.0}/s, twice `/onlogin`'s route limit ({ROUTE_RATE:.0}/s, burst \
         {ROUTE_BURST:.0}, modelled as API Gateway's token bucket); real users log in at \
         {REAL_PER_SECOND:.0}/s, from {REAL_CLIENTS} addresses in turn. The login is the real one (DynamoDB Local, the WeChat \
         sandbox over HTTP), in process: what a request costs is not measured here, only \
         who gets through. The edge is modelled as the web ACL blocking the \
         junk address once it passed examples/edge-waf's per-IP count (300 per 300 s, \
         scaled); the real rule also takes up to a minute to react.\n\n\
         | setup | real logins ok | real p50 / p99 ms | real logins refused by the route throttle | junk reaching the function | junk code2Session calls |\n\
         |---|---|---|---|---|---|\n"
    );
    for (setup, outcome) in runs {
        let rate = if outcome.real_sent == 0 {
            0.0
        } else {
            100.0 * outcome.real_ok as f64 / outcome.real_sent as f64
        };
        text.push_str(&format!(
            "| {} | {}/{} ({rate:.0} %) | {:.1} / {:.1} | {} | {}/{} | {} |\n",
            setup.name,
            outcome.real_ok,
            outcome.real_sent,
            outcome.real_latency.p50,
            outcome.real_latency.p99,
            outcome.real_throttled,
            outcome.junk_invoked,
            outcome.junk_sent,
            outcome.junk_wechat_calls,
        ));
    }
    text
}
