//! `make bench`: measures, in one run on this machine, the release builds of our
//! functions (`onlogin`, `decrypt-phone`, `session`, `authorizer`, `account`,
//! `wechat-events`, `phone-packs`, `token`) beside the floor (a bare lambda_http
//! function) and a Node 20 + AWS SDK v3 onlogin, all under the same Lambda Runtime API
//! emulator against the same DynamoDB Local, WeChat sandbox and moto server; then the
//! token's signing against KMS `Sign` (`signing`). Writes `docs/bench/results.md` and
//! `docs/bench/chart.svg`.
//!
//! Usage: `bench [--starts N] [--requests N] [--spaced N] [--load-seconds N] [--env NAME=VALUE]… [--only TEXT]`
//! (defaults 15, 1000 back to back and 30 after an idle spell each; `--env` sets a
//! variable for our functions, e.g. `WXLOGIN_METRICS=off` to price the metric lines; `--only`
//! measures the subjects whose label contains TEXT (or one of TEXT's comma-separated
//! parts), the floor always, and writes nothing; `--only signing` adds the key-store
//! comparison alone). `--load-seconds` (20; 0 skips it) is the
//! length of each setup of the login-flood scenario (`load`), run after the rest.

mod load;
mod measure;
mod report;
mod risk_check;
mod secret_read;
mod signing;
mod store_proxy;
mod subjects;

use anyhow::Context;
use devkit::dynamodb_local::workspace_root;
use devkit::stack::TestStack;

use crate::measure::{Sample, measure_init, measure_store_calls, measure_warm};
use crate::subjects::{Subject, Work};

fn flag(args: &[String], name: &str, default: usize) -> anyhow::Result<usize> {
    match args.iter().position(|arg| arg == name) {
        Some(at) => args
            .get(at + 1)
            .with_context(|| format!("{name} needs a number"))?
            .parse()
            .with_context(|| format!("{name} needs a number")),
        None => Ok(default),
    }
}

/// Every `--env NAME=VALUE`.
fn env_flags(args: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    args.iter()
        .enumerate()
        .filter(|(_, arg)| *arg == "--env")
        .map(|(at, _)| {
            let given = args.get(at + 1).context("--env needs NAME=VALUE")?;
            given
                .split_once('=')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .with_context(|| format!("--env needs NAME=VALUE, not {given}"))
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let starts = flag(&args, "--starts", 15)?;
    let requests = flag(&args, "--requests", 1000)?;
    let spaced = flag(&args, "--spaced", measure::SPACED_REQUESTS)?;
    let load_seconds = flag(&args, "--load-seconds", 20)?;
    anyhow::ensure!(
        spaced > 0,
        "--spaced needs at least 1: the CPU targets are judged on those requests"
    );
    let only = args
        .iter()
        .position(|arg| arg == "--only")
        .map(|at| args.get(at + 1).context("--only needs a label fragment"))
        .transpose()?;

    let stack = TestStack::start().await?;
    let mut subjects: Vec<Subject> = Subject::all(&stack)
        .into_iter()
        .enumerate()
        .filter(|(index, subject)| {
            *index == 0
                || only.is_none_or(|only| {
                    only.split(',')
                        .any(|fragment| subject.label.contains(fragment))
                })
        })
        .map(|(_, subject)| subject)
        .collect();
    let extra_env = env_flags(&args)?;
    for subject in subjects.iter_mut().filter(|subject| subject.logs_latency) {
        subject.env.extend(extra_env.iter().cloned());
    }
    // The token function's signing keys, and the key-store comparison: moto's Secrets
    // Manager (and KMS) only when something needs them.
    let key_store = if subjects
        .iter()
        .any(|subject| subject.work.reads_signing_keys())
        || only.is_some_and(|only| only.contains("signing"))
    {
        Some(signing::KeyStore::start().await?)
    } else {
        None
    };
    if let Some(keys) = &key_store {
        for subject in subjects
            .iter_mut()
            .filter(|subject| subject.work.reads_signing_keys())
        {
            subject.env.extend(keys.env());
        }
    }
    for subject in &subjects {
        subject.check_installed()?;
    }
    let mut rows = Vec::new();
    for subject in subjects {
        eprintln!(
            "measuring {} ({starts} cold starts, {requests} warm requests, {spaced} after idle spells)",
            subject.label
        );
        let init = measure_init(&subject, starts).await?;
        let warm = measure_warm(&subject, &stack, requests, spaced).await?;
        let store_calls = measure_store_calls(&subject, &stack).await?;
        rows.push(Sample {
            store_calls,
            arm64_bytes: subject.arm64_size(),
            subject,
            init,
            warm,
        });
    }

    let machine = report::machine();
    let mut table = report::table(&rows, &machine, starts, requests, spaced);
    if let Some(onlogin) = rows
        .iter()
        .find(|row| row.subject.label == "onlogin (ours)")
    {
        eprintln!("measuring the AppSecret's first read ({starts} fresh instances each way)");
        let (given, read) =
            secret_read::measure_first_login(&onlogin.subject, &stack, starts).await?;
        table.push_str(&format!(
            "\nFirst login of a fresh onlogin instance, round trip p50: {:.2} ms with \
             `WECHAT_SECRET`, {:.2} ms reading the AppSecret from Secrets Manager (moto's \
             server on loopback: the SDK's work, not AWS's network) — {:.2} ms more, once \
             per instance ({starts} starts each).\n",
            given.p50,
            read.p50,
            read.p50 - given.p50
        ));
        let signups = requests.clamp(20, 200);
        eprintln!("measuring sign-ups with RISK_CHECK off and record ({signups} each)");
        let (off, record) = risk_check::measure_signups(&onlogin.subject, &stack, signups).await?;
        table.push_str(&format!(
            "\nSign-up (a new user's first login) on a warm onlogin, round trip p50 / p99: \
             {:.2} / {:.2} ms with `RISK_CHECK=off`, {:.2} / {:.2} ms with `record` (one \
             getuserriskrank call to the sandbox on loopback and one more DynamoDB write) \
             — {:.2} ms more at the median; returning users are not asked ({signups} \
             sign-ups each).\n",
            off.p50,
            off.p99,
            record.p50,
            record.p99,
            record.p50 - off.p50
        ));
    }
    if let Some(rotation) = subjects::arm64_size("signing-keys") {
        // Not measured per request: Secrets Manager invokes it four times a rotation.
        table.push_str(&format!(
            "\nThe signing keys' rotation function (`signing-keys`, four invocations a rotation): \
             {:.2} MiB arm64.\n",
            rotation as f64 / (1024.0 * 1024.0)
        ));
    }
    if let Some(me) = subjects::arm64_size("me") {
        // Not measured per request: it only reads the context (examples/protected-route).
        table.push_str(&format!(
            "\nA team's own route on `wxlogin-caller` alone (examples/protected-route, `me`): \
             {:.2} MiB arm64.\n",
            me as f64 / (1024.0 * 1024.0)
        ));
    }
    if let Some(keys) = &key_store {
        eprintln!(
            "measuring the signing: RS256 in process, KMS Sign and the ring's read against moto"
        );
        let token = rows
            .iter()
            .find(|row| row.subject.work == Work::Token)
            .map(|row| &row.subject);
        table.push_str(&signing::report(keys, token, &stack).await?);
    }
    if load_seconds > 0 && only.is_none_or(|only| only.contains("load")) {
        let mut runs = Vec::new();
        for (index, setup) in load::SETUPS.into_iter().enumerate() {
            eprintln!("login flood: {} ({load_seconds} s)", setup.name);
            let outcome = load::run(&stack, index, setup, load_seconds as u64).await?;
            runs.push((setup, outcome));
        }
        table.push_str(&load::report(load_seconds as u64, &runs));
    }
    println!("{table}");
    if only.is_some() {
        eprintln!("--only: docs/bench left as they were");
        return Ok(());
    }
    let out = workspace_root().join("docs/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("results.md"), &table)?;
    std::fs::write(out.join("chart.svg"), report::chart(&rows))?;
    eprintln!("wrote docs/bench/results.md and docs/bench/chart.svg");
    Ok(())
}
