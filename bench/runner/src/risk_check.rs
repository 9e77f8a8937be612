//! What `RISK_CHECK=record` costs a sign-up: the release `onlogin`, warm, logging in new
//! users (each a first login) once with the check off and once recording WeChat's risk
//! rank from the sandbox's `getuserriskrank`, alternating so both see the same machine.

use std::time::{Duration, Instant};

use anyhow::Context;
use devkit::runtime_api::RuntimeApi;
use devkit::stack::TestStack;

use crate::measure::{Quantiles, invoke_checked, spawn_with};
use crate::subjects::{Fixture, Subject, Work};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Sign-up round trips (ms) with `RISK_CHECK` off and `record`, `signups` each, on one
/// warm instance per setting.
pub async fn measure_signups(
    onlogin: &Subject,
    stack: &TestStack,
    signups: usize,
) -> anyhow::Result<(Quantiles, Quantiles)> {
    let fixture = Fixture::new(stack).await?;
    let mut instances = Vec::new();
    for setting in ["off", "record"] {
        let mut env = onlogin.env.clone();
        env.retain(|(key, _)| key != "RISK_CHECK");
        env.push(("RISK_CHECK".into(), setting.into()));
        let runtime = RuntimeApi::start().await?;
        let process = spawn_with(onlogin, &runtime, &env)?;
        runtime
            .wait_first_poll(TIMEOUT)
            .await
            .with_context(|| process.output())?;
        // Warm: the stack key, the access token and the connections are in hand.
        let event = fixture.event(Work::Login, stack).await?;
        invoke_checked(onlogin, &runtime, event)
            .await
            .with_context(|| format!("warming RISK_CHECK={setting}"))?;
        instances.push((runtime, process, Vec::with_capacity(signups)));
    }
    for _ in 0..signups {
        for (runtime, _, samples) in &mut instances {
            let event = fixture.event(Work::Login, stack).await?;
            let sent = Instant::now();
            invoke_checked(onlogin, runtime, event)
                .await
                .context("sign-up")?;
            samples.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let mut quantiles = instances
        .into_iter()
        .map(|(_, _, samples)| Quantiles::of(samples));
    let off = quantiles.next().context("the off instance")?;
    let record = quantiles.next().context("the record instance")?;
    Ok((off, record))
}
