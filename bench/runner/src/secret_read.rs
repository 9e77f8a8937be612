//! What reading the AppSecret from Secrets Manager costs the first login of an instance:
//! the release `onlogin` started fresh, once configured with `WECHAT_SECRET` and once with
//! `WECHAT_SECRET_ID` against moto's server on loopback (the same protocol and SDK calls
//! as in AWS, without AWS's network latency), its first login timed each way.

use std::time::{Duration, Instant};

use anyhow::Context;
use devkit::runtime_api::RuntimeApi;
use devkit::secrets_manager::SecretsManagerServer;
use devkit::stack::{TestStack, unique_suffix};

use crate::measure::{Quantiles, invoke_checked, spawn_with};
use crate::subjects::{Fixture, Subject, Work};

const TIMEOUT: Duration = Duration::from_secs(30);

/// First-login round trips (ms) with the secret given, and with it read from Secrets
/// Manager, over `starts` fresh instances each.
pub async fn measure_first_login(
    onlogin: &Subject,
    stack: &TestStack,
    starts: usize,
) -> anyhow::Result<(Quantiles, Quantiles)> {
    let secrets = SecretsManagerServer::start().await?;
    let name = format!("wxlogin/bench-{}", unique_suffix());
    secrets.create(&name, &stack.secret).await?;
    let mut from_secrets_manager = onlogin.env.clone();
    from_secrets_manager.retain(|(key, _)| key != "WECHAT_SECRET");
    from_secrets_manager.push(("WECHAT_SECRET_ID".into(), name));
    from_secrets_manager.push((
        "AWS_ENDPOINT_URL_SECRETS_MANAGER".into(),
        secrets.endpoint().to_owned(),
    ));
    let fixture = Fixture::new(stack).await?;
    let (mut given, mut read) = (Vec::new(), Vec::new());
    for _ in 0..starts {
        for (env, samples) in [
            (&onlogin.env, &mut given),
            (&from_secrets_manager, &mut read),
        ] {
            let runtime = RuntimeApi::start().await?;
            let process = spawn_with(onlogin, &runtime, env)?;
            runtime
                .wait_first_poll(TIMEOUT)
                .await
                .with_context(|| process.output())?;
            let event = fixture.event(Work::Login, stack).await?;
            let sent = Instant::now();
            invoke_checked(onlogin, &runtime, event)
                .await
                .context("first login")?;
            samples.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok((Quantiles::of(given), Quantiles::of(read)))
}
