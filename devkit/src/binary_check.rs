//! A real function binary checked end to end, as the functions' `runtime_binary` tests do:
//! spawned under a fresh Runtime API emulator with a [`TestStack`]'s environment plus
//! extra variables, invoked with API Gateway HTTP events, and everything it printed
//! collected and searched for secrets.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::function_process::FunctionProcess;
use crate::runtime_api::{HttpAnswer, RuntimeApi};
use crate::stack::TestStack;

/// The most verbose logging, as JSON lines: what the secret checks read.
pub const VERBOSE_JSON_LOGS: [(&str, &str); 2] = [
    ("AWS_LAMBDA_LOG_LEVEL", "trace"),
    ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
];

/// Set it to see what the function printed (`SHOW_FUNCTION_OUTPUT=1 cargo test …`).
pub const SHOW_OUTPUT_ENV: &str = "SHOW_FUNCTION_OUTPUT";

/// How long the function gets to print its last lines before they are read.
const SETTLE: Duration = Duration::from_millis(200);

/// A function binary running under its own Runtime API emulator; killed when dropped.
pub struct FunctionUnderTest {
    /// The emulator that hands the function its invocations.
    pub runtime: RuntimeApi,
    /// The function's process, its output captured.
    pub process: FunctionProcess,
}

impl FunctionUnderTest {
    /// `binary` with `stack`'s function environment plus `extra` (log level and format,
    /// metrics switches), through [`TestStack::spawn_function`].
    pub async fn spawn(
        stack: &TestStack,
        binary: &Path,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let (runtime, process) = stack.spawn_function(binary, extra).await?;
        Ok(Self { runtime, process })
    }

    /// Like [`FunctionUnderTest::spawn`], logging at trace level as JSON
    /// ([`VERBOSE_JSON_LOGS`]) before `extra`.
    pub async fn spawn_verbose(
        stack: &TestStack,
        binary: &Path,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let env: Vec<(&str, &str)> = VERBOSE_JSON_LOGS.iter().chain(extra).copied().collect();
        Self::spawn(stack, binary, &env).await
    }

    /// The function's HTTP answer to an API Gateway HTTP `event`. A test helper: a
    /// function error, a timeout or a non-JSON body fails the test.
    pub async fn invoke(&self, event: Value) -> HttpAnswer {
        self.runtime
            .invoke_http(event)
            .await
            .unwrap_or_else(|err| panic!("invoking the function: {err:#}"))
    }

    /// Invokes with `event` and asserts the answer is `status` with the error code `error`.
    pub async fn assert_error(&self, event: Value, status: u16, error: &str) {
        let answer = self.invoke(event).await;
        assert_eq!(
            (answer.status, answer.error()),
            (status, Some(error)),
            "{}",
            answer.body
        );
    }

    /// Everything the function printed, once its last lines have had time to arrive;
    /// echoed to stderr when [`SHOW_OUTPUT_ENV`] is set.
    pub async fn settled_output(&self) -> String {
        tokio::time::sleep(SETTLE).await;
        let output = self.process.output();
        if std::env::var_os(SHOW_OUTPUT_ENV).is_some() {
            eprintln!("{output}");
        }
        output
    }
}

/// Spawns `binary` with exactly `env` under a fresh emulator and asserts its init fails,
/// with `message` in what it printed, without ever asking for work.
pub async fn assert_init_fails(binary: &Path, env: &[(String, String)], message: &str) {
    let runtime = RuntimeApi::start()
        .await
        .unwrap_or_else(|err| panic!("the emulator did not start: {err:#}"));
    let mut process = FunctionProcess::spawn(binary, &runtime.address(), env)
        .unwrap_or_else(|err| panic!("the binary did not start: {err:#}"));
    let Some(status) = process.wait_exit(Duration::from_secs(20)) else {
        panic!("init must fail, not serve: {}", process.output());
    };
    assert!(!status.success());
    assert!(process.output().contains(message), "{}", process.output());
    assert!(runtime.first_poll().is_none(), "it never asked for work");
}

/// The lines of `output` that are JSON objects (log lines and metrics), in order.
pub fn json_lines(output: &str) -> impl Iterator<Item = Value> + '_ {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
}

/// Fails the test if any of `secrets` (`(what it is, its value)`) appears anywhere in
/// `output`, naming it and showing the output.
pub fn assert_no_secret(output: &str, secrets: &[(&str, &str)]) {
    for (what, secret) in secrets {
        assert!(!secret.is_empty(), "the {what} to look for is empty");
        assert!(
            !output.contains(secret),
            "the {what} appears in the logs:\n{output}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::assert_no_secret;

    #[test]
    #[should_panic(expected = "the AppSecret appears in the logs")]
    fn a_secret_anywhere_in_the_output_fails() {
        assert_no_secret(
            "{\"level\":\"TRACE\",\"secret\":\"s3cr3t\"}\n",
            &[("token", "tok"), ("AppSecret", "s3cr3t")],
        );
    }

    #[test]
    fn output_without_the_secrets_passes() {
        assert_no_secret("{\"status\":200}\n", &[("token", "tok")]);
    }
}
