//! The measurements: cold starts to the first `/invocation/next`, warm requests with the
//! upstream time subtracted, and peak RSS.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use devkit::function_process::FunctionProcess;
use devkit::runtime_api::RuntimeApi;
use devkit::stack::TestStack;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::store_proxy::StoreProxy;
use crate::subjects::{Fixture, Subject};

/// Requests sent through the counting proxy to count DynamoDB calls per request.
const COUNTED_REQUESTS: u32 = 20;

/// Warm requests sent after an idle spell each (by default; `--spaced N`), as Lambda
/// sends them to an instance that waited for its next event: the process's caches have
/// gone cold, which costs the floor about 0.3 ms of CPU more than a back-to-back request.
pub const SPACED_REQUESTS: usize = 30;
/// The idle spell before each spaced request.
pub const SPACING: Duration = Duration::from_millis(100);

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
    /// CPU time of the first request of a fresh process, milliseconds.
    pub first_request_cpu: Option<f64>,
    /// CPU time per request after the first, sent back to back, milliseconds.
    pub cpu: Option<Quantiles>,
    /// CPU time per request after an idle spell ([`SPACING`]), milliseconds: the
    /// figure the CPU targets are set on.
    pub spaced_cpu: Option<Quantiles>,
}

/// Init, as the wall clock and as CPU time.
pub struct Init {
    /// Process start → first `/invocation/next`, milliseconds.
    pub wall: Quantiles,
    /// CPU time used by then, milliseconds (summed over the process's threads).
    pub cpu: Option<Quantiles>,
}

/// One subject's results.
pub struct Sample {
    /// What was measured.
    pub subject: Subject,
    /// Process start → first `/invocation/next`: wall and CPU.
    pub init: Init,
    /// Warm figures.
    pub warm: Warm,
    /// Stripped arm64 binary size.
    pub arm64_bytes: Option<u64>,
    /// DynamoDB calls per warm request, by operation.
    pub store_calls: StoreCalls,
}

/// DynamoDB calls per warm request, by operation (`BatchGetItem`, `PutItem`…).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StoreCalls(pub BTreeMap<String, f64>);

impl StoreCalls {
    /// Calls of any kind per request.
    pub fn total(&self) -> f64 {
        self.0.values().sum()
    }

    fn per_request(counts: BTreeMap<String, u64>, requests: u32) -> Self {
        Self(
            counts
                .into_iter()
                .map(|(operation, count)| (operation, count as f64 / f64::from(requests)))
                .collect(),
        )
    }
}

fn spawn(subject: &Subject, runtime: &RuntimeApi) -> anyhow::Result<FunctionProcess> {
    spawn_with(subject, runtime, &subject.env)
}

pub(crate) fn spawn_with(
    subject: &Subject,
    runtime: &RuntimeApi,
    env: &[(String, String)],
) -> anyhow::Result<FunctionProcess> {
    // `WXLOGIN_BENCH_WRAPPER="valgrind --tool=callgrind …"` runs each subject under that
    // command, for an instruction-level profile (docs/benchmarks.md).
    let wrapper = std::env::var("WXLOGIN_BENCH_WRAPPER").unwrap_or_default();
    let mut words: Vec<String> = wrapper.split_whitespace().map(str::to_owned).collect();
    let program = if words.is_empty() {
        subject.program.clone()
    } else {
        words.push(subject.program.display().to_string());
        std::path::PathBuf::from(words.remove(0))
    };
    let args: Vec<&str> = words
        .iter()
        .chain(&subject.args)
        .map(String::as_str)
        .collect();
    FunctionProcess::spawn_command(&program, &args, &runtime.address(), env)
}

/// Starts the subject `starts` times; each time, the span from spawning the process to
/// its first `GET /runtime/invocation/next` (the end of Lambda's init phase), and the CPU
/// time it used by then.
pub async fn measure_init(subject: &Subject, starts: usize) -> anyhow::Result<Init> {
    let mut samples = Vec::with_capacity(starts);
    let mut cpu = Vec::with_capacity(starts);
    for _ in 0..starts {
        let runtime = RuntimeApi::start().await?;
        let started = Instant::now();
        let process = spawn(subject, &runtime)?;
        let first_poll = runtime
            .wait_first_poll(INIT_TIMEOUT)
            .await
            .with_context(|| format!("{}: {}", subject.label, process.output()))?;
        samples.push(first_poll.duration_since(started).as_secs_f64() * 1000.0);
        cpu.extend(process.cpu_time().map(|used| used.as_secs_f64() * 1000.0));
        dump_profile(&process, "init");
        drop(process);
    }
    Ok(Init {
        wall: Quantiles::of(samples),
        cpu: (cpu.len() == starts).then(|| Quantiles::of(cpu)),
    })
}

/// Under a callgrind wrapper, dumps the counts so far as part `name` and zeroes them
/// (`callgrind_control -d`), so init, the first request and the warm ones are profiled
/// apart. Nothing otherwise.
fn dump_profile(process: &FunctionProcess, name: &str) {
    let wrapped = std::env::var("WXLOGIN_BENCH_WRAPPER").unwrap_or_default();
    if !wrapped.contains("callgrind") {
        return;
    }
    let dumped = std::process::Command::new("callgrind_control")
        .arg(format!("--dump={name}"))
        .arg(process.pid().to_string())
        .stdout(std::process::Stdio::null())
        .status();
    if !dumped.is_ok_and(|status| status.success()) {
        eprintln!(
            "callgrind_control could not dump {name} of {}",
            process.pid()
        );
    }
}

/// One invocation through the emulator; an invocation error or an answer other than the
/// subject's success is an error naming the subject.
pub(crate) async fn invoke_checked(
    subject: &Subject,
    runtime: &RuntimeApi,
    event: Value,
) -> anyhow::Result<()> {
    let answer = runtime
        .invoke(event, INVOKE_TIMEOUT)
        .await?
        .map_err(|err| anyhow::anyhow!("{}: invocation error {err}", subject.label))?;
    ensure!(subject.succeeded(&answer), "{}: {answer}", subject.label);
    Ok(())
}

/// Milliseconds of CPU between consecutive readings.
fn cpu_deltas(readings: &[Duration]) -> Vec<f64> {
    readings
        .windows(2)
        .map(|pair| pair[1].saturating_sub(pair[0]).as_secs_f64() * 1000.0)
        .collect()
}

/// The latency fields of our functions' JSON `request done` lines, in order: total, and
/// the time spent waiting on WeChat and DynamoDB.
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

/// DynamoDB calls per warm request: a fresh instance pointed at a counting proxy, one
/// request to warm it (its init and first request may fetch what later ones reuse), then
/// [`COUNTED_REQUESTS`] counted.
pub async fn measure_store_calls(
    subject: &Subject,
    stack: &TestStack,
) -> anyhow::Result<StoreCalls> {
    let proxy = StoreProxy::start(&stack.dynamodb_endpoint).await?;
    let env: Vec<(String, String)> = subject
        .env
        .iter()
        .map(|(name, value)| {
            let value = if name == "AWS_ENDPOINT_URL_DYNAMODB" {
                proxy.endpoint()
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect();
    let runtime = RuntimeApi::start().await?;
    let _process = spawn_with(subject, &runtime, &env)?;
    let fixture = Fixture::new(stack).await?;
    for counted in [false, true] {
        if counted {
            proxy.take();
        }
        let requests = if counted { COUNTED_REQUESTS } else { 1 };
        for _ in 0..requests {
            let event = fixture.event(subject.work, stack).await?;
            invoke_checked(subject, &runtime, event).await?;
        }
    }
    Ok(StoreCalls::per_request(proxy.take(), COUNTED_REQUESTS))
}

/// `requests` warm requests, one at a time, every answer checked, then `spaced` more
/// after idle spells ([`measure_spaced`]).
pub async fn measure_warm(
    subject: &Subject,
    stack: &TestStack,
    requests: usize,
    spaced: usize,
) -> anyhow::Result<Warm> {
    let runtime = RuntimeApi::start().await?;
    let process = spawn(subject, &runtime)?;
    let fixture = Fixture::new(stack).await?;
    runtime
        .wait_first_poll(INIT_TIMEOUT)
        .await
        .with_context(|| format!("{}: {}", subject.label, process.output()))?;
    let mut round_trips = Vec::with_capacity(requests);
    // Read before each request, once the previous one's work (its answer, the flush, the
    // next poll) is done; and once after the last.
    let mut cpu_readings = Vec::with_capacity(requests + 1);
    dump_profile(&process, "init");
    for request in 0..requests {
        let event = fixture.event(subject.work, stack).await?;
        if request == 1 {
            dump_profile(&process, "first-request");
        }
        cpu_readings.extend(process.cpu_time());
        let sent = Instant::now();
        invoke_checked(subject, &runtime, event).await?;
        round_trips.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    // Let the last log lines reach the pipe.
    tokio::time::sleep(Duration::from_millis(300)).await;
    cpu_readings.extend(process.cpu_time());
    dump_profile(&process, "warm");
    let cpu = (cpu_readings.len() == requests + 1).then(|| cpu_deltas(&cpu_readings));
    let spaced_cpu = measure_spaced(subject, stack, &runtime, &process, &fixture, spaced).await?;
    let peak_rss_kib = process.peak_rss_kib();

    let mut warm = Warm {
        round_trip: Quantiles::of(round_trips.clone()),
        peak_rss_kib,
        first_request_cpu: cpu.as_ref().and_then(|cpu| cpu.first().copied()),
        cpu: cpu
            .filter(|cpu| cpu.len() > 1)
            .map(|cpu| Quantiles::of(cpu[1..].to_vec())),
        spaced_cpu,
        ..Warm::default()
    };
    if subject.logs_latency {
        let logged = logged_latencies(&process.output());
        ensure!(
            logged.len() == requests + spaced,
            "{}: {} log lines for {} requests",
            subject.label,
            logged.len(),
            requests + spaced
        );
        // The latency columns are the back-to-back requests'.
        let logged = &logged[..requests];
        warm.handler_own = Some(Quantiles::of(
            logged
                .iter()
                .map(|(total, upstream)| total - upstream)
                .collect(),
        ));
        warm.round_trip_own = Some(Quantiles::of(
            round_trips
                .iter()
                .zip(logged)
                .map(|(rtt, (_, upstream))| rtt - upstream)
                .collect(),
        ));
        warm.upstream_mean =
            Some(logged.iter().map(|(_, upstream)| upstream).sum::<f64>() / requests as f64);
    }
    Ok(warm)
}

/// `spaced` more requests to a warm process, each after [`SPACING`] of idle
/// time; the CPU each one cost (the idle spell costs none: the process waits in its poll).
async fn measure_spaced(
    subject: &Subject,
    stack: &TestStack,
    runtime: &RuntimeApi,
    process: &FunctionProcess,
    fixture: &Fixture,
    spaced: usize,
) -> anyhow::Result<Option<Quantiles>> {
    let mut deltas = Vec::with_capacity(spaced);
    for _ in 0..spaced {
        let event = fixture.event(subject.work, stack).await?;
        tokio::time::sleep(SPACING).await;
        let before = process.cpu_time();
        invoke_checked(subject, runtime, event).await?;
        // The answer is in; the rest of the request's work (the log line's flush, the
        // next poll) ends within a few milliseconds. Work later than this would not run
        // on Lambda either: there the instance is frozen once it polls again.
        tokio::time::sleep(SPACING / 4).await;
        if let Some((before, after)) = before.zip(process.cpu_time()) {
            deltas.push(after.saturating_sub(before).as_secs_f64() * 1000.0);
        }
    }
    // Let the last log lines reach the pipe before the caller counts them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok((!deltas.is_empty() && deltas.len() == spaced).then(|| Quantiles::of(deltas)))
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

    #[test]
    fn store_calls_are_per_request() {
        let calls = StoreCalls::per_request(
            BTreeMap::from([("BatchGetItem".to_owned(), 20), ("PutItem".to_owned(), 10)]),
            20,
        );
        assert_eq!(calls.total(), 1.5);
        assert_eq!(calls.0["BatchGetItem"], 1.0);
    }
}
