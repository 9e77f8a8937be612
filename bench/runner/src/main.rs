//! `make bench`: measures, in one run on this machine, the release builds of `onlogin`,
//! `decrypt-phone` and `session` beside the floor (a bare lambda_http function) and a Node 20 + AWS SDK
//! v3 onlogin, all under the same Lambda Runtime API emulator against the same DynamoDB
//! Local and WeChat sandbox. Writes `docs/bench/results.md` and `docs/bench/chart.svg`.
//!
//! Usage: `bench [--starts N] [--requests N]` (defaults 15 and 1000).

mod measure;
mod report;
mod subjects;

use anyhow::Context;
use devkit::dynamodb_local::workspace_root;
use devkit::stack::TestStack;

use crate::measure::{Sample, measure_init, measure_warm};
use crate::subjects::Subject;

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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let starts = flag(&args, "--starts", 15)?;
    let requests = flag(&args, "--requests", 1000)?;

    let stack = TestStack::start().await?;
    let mut rows = Vec::new();
    for subject in Subject::all(&stack)? {
        eprintln!(
            "measuring {} ({starts} cold starts, {requests} warm requests)",
            subject.label
        );
        let init = measure_init(&subject, starts).await?;
        let warm = measure_warm(&subject, &stack, requests).await?;
        rows.push(Sample {
            arm64_bytes: subject.arm64_size(),
            subject,
            init,
            warm,
        });
    }

    let machine = report::machine();
    let table = report::table(&rows, &machine, starts, requests);
    println!("{table}");
    let out = workspace_root().join("docs/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("results.md"), &table)?;
    std::fs::write(out.join("chart.svg"), report::chart(&rows))?;
    eprintln!("wrote docs/bench/results.md and docs/bench/chart.svg");
    Ok(())
}
