//! The measurements: cold starts to the first `/invocation/next`, warm requests with the
//! upstream time subtracted, and peak RSS.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use devkit::function_process::FunctionProcess;
use devkit::runtime_api::RuntimeApi;
use devkit::stack::TestStack;
use serde_json::Value;

use crate::subjects::{Fixture, Subject};

const INIT_TIMEOUT: Duration = Duration::from_secs(30);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Milliseconds at the quantiles we report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quantiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Quantiles {
    /// Nearest-rank quantiles of `values` (milliseconds).
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = (q * values.len() as f64).ceil() as usize;
            values[rank.clamp(1, values.len()) - 1]
        };
        Self {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
        }
    }
}

/// Warm-request figures.
#[derive(Debug, Default)]
pub struct Warm {
    /// Emulator round trip (event out → answer in), milliseconds.
    pub round_trip: Quantiles,
    /// Round trip minus the time the function spent waiting on WeChat and DynamoDB.
    pub round_trip_own: Option<Quantiles>,
    /// Inside the handler, minus the upstream waits (from the function's own log line).
    pub handler_own: Option<Quantiles>,
    /// Mean upstream wait per request, milliseconds.
    pub upstream_mean: Option<f64>,
    /// Peak resident memory after the requests, KiB.
    pub peak_rss_kib: Option<u64>,
}

/// One subject's results.
pub struct Sample {
    /// What was measured.
    pub subject: Subject,
    /// Process start → first `/invocation/next`, milliseconds.
    pub init: Quantiles,
    /// Warm figures.
    pub warm: Warm,
    /// Stripped arm64 binary size.
    pub arm64_bytes: Option<u64>,
}

fn spawn(subject: &Subject, runtime: &RuntimeApi) -> anyhow::Result<FunctionProcess> {
    let args: Vec<&str> = subject.args.iter().map(String::as_str).collect();
    FunctionProcess::spawn_command(&subject.program, &args, &runtime.address(), &subject.env)
}

/// Starts the subject `starts` times; each time, the span from spawning the process to
/// its first `GET /runtime/invocation/next` (the end of Lambda's init phase).
pub async fn measure_init(subject: &Subject, starts: usize) -> anyhow::Result<Quantiles> {
    let mut samples = Vec::with_capacity(starts);
    for _ in 0..starts {
        let runtime = RuntimeApi::start().await?;
        let started = Instant::now();
        let process = spawn(subject, &runtime)?;
        let first_poll = runtime
            .wait_first_poll(INIT_TIMEOUT)
            .await
            .with_context(|| format!("{}: {}", subject.label, process.output()))?;
        samples.push(first_poll.duration_since(started).as_secs_f64() * 1000.0);
        drop(process);
    }
    Ok(Quantiles::of(samples))
}

/// The latency fields of our functions' JSON log lines, in order.
fn logged_latencies(output: &str) -> Vec<(f64, f64)> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "request done")
        .filter_map(|line| {
            let total = line["latency_ms"].as_f64()?;
            let upstream = line["wechat_ms"].as_f64()? + line["store_ms"].as_f64()?;
            Some((total, upstream))
        })
        .collect()
}

/// `requests` warm requests, one at a time, every answer checked.
pub async fn measure_warm(
    subject: &Subject,
    stack: &TestStack,
    requests: usize,
) -> anyhow::Result<Warm> {
    let runtime = RuntimeApi::start().await?;
    let process = spawn(subject, &runtime)?;
    let fixture = Fixture::new(stack).await?;
    let mut round_trips = Vec::with_capacity(requests);
    for _ in 0..requests {
        let event = fixture.event(subject.work, stack).await?;
        let sent = Instant::now();
        let answer = runtime
            .invoke(event, INVOKE_TIMEOUT)
            .await?
            .map_err(|err| anyhow::anyhow!("{}: invocation error {err}", subject.label))?;
        round_trips.push(sent.elapsed().as_secs_f64() * 1000.0);
        ensure!(answer["statusCode"] == 200, "{}: {answer}", subject.label);
    }
    // Let the last log lines reach the pipe.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let peak_rss_kib = process.peak_rss_kib();

    let mut warm = Warm {
        round_trip: Quantiles::of(round_trips.clone()),
        peak_rss_kib,
        ..Warm::default()
    };
    if subject.logs_latency {
        let logged = logged_latencies(&process.output());
        ensure!(
            logged.len() == requests,
            "{}: {} log lines for {requests} requests",
            subject.label,
            logged.len()
        );
        warm.handler_own = Some(Quantiles::of(
            logged
                .iter()
                .map(|(total, upstream)| total - upstream)
                .collect(),
        ));
        warm.round_trip_own = Some(Quantiles::of(
            round_trips
                .iter()
                .zip(&logged)
                .map(|(rtt, (_, upstream))| rtt - upstream)
                .collect(),
        ));
        warm.upstream_mean =
            Some(logged.iter().map(|(_, upstream)| upstream).sum::<f64>() / requests as f64);
    }
    Ok(warm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let q = Quantiles::of((1..=100).map(f64::from).collect());
        assert_eq!((q.p50, q.p90, q.p99), (50.0, 90.0, 99.0));
        let one = Quantiles::of(vec![7.0]);
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
    }

    #[test]
    fn reads_the_latency_fields_of_request_lines_only() {
        let output = concat!(
            "{\"message\":\"access token refreshed\"}\n",
            "{\"message\":\"request done\",\"latency_ms\":5.0,\"wechat_ms\":1.0,\"store_ms\":3.5}\n",
            "not json\n"
        );
        assert_eq!(logged_latencies(output), vec![(5.0, 4.5)]);
    }
}
