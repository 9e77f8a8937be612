//! A real function binary running under the Runtime API emulator, with its output captured.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::Context;

/// The debug build of a workspace binary (`onlogin`, `decrypt-phone`), found beside the
/// running test executable (`target/debug/deps/..` → `target/debug/<name>`). Cargo builds
/// every workspace binary when tests run with `--workspace`, as `make test` does.
pub fn workspace_binary(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test executable outside a target directory")?;
    let binary = profile_dir.join(name);
    anyhow::ensure!(
        binary.is_file(),
        "{} is not built: run the tests with --workspace (make test does)",
        binary.display()
    );
    Ok(binary)
}

/// A function process; killed when dropped.
pub struct FunctionProcess {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
}

impl FunctionProcess {
    /// Starts `binary` against the emulator at `runtime_api` with the Lambda environment
    /// plus `env` (the function's own configuration).
    pub fn spawn(
        binary: &Path,
        runtime_api: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        Self::spawn_command(binary, &[], runtime_api, env)
    }

    /// Like [`FunctionProcess::spawn`] for a program that takes arguments (`node handler.mjs`).
    pub fn spawn_command(
        binary: &Path,
        args: &[&str],
        runtime_api: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(binary);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "local")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/local")
            .env("AWS_REGION", "us-east-1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = Arc::clone(&output);
            std::thread::spawn(move || copy_into(stream, &sink));
        }
        Ok(Self { child, output })
    }

    /// The operating system's id for the process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far, in KiB (`VmHWM` from `/proc/<pid>/status`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time the process has used so far, summed over its threads: the first field of
    /// each `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on a CPU). What Lambda, which
    /// gives a 128 MB function about 1/14 of a vCPU, turns into wall time.
    pub fn cpu_time(&self) -> Option<std::time::Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid())).ok()?;
        let nanos: u64 = tasks
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Some(std::time::Duration::from_nanos(nanos))
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        let bytes = self
            .output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Whether the process has exited, and how.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the process to exit on its own (a failed init), up to `timeout`.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.exit_status() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(std::time::Duration::from_millis(100));
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }
}

fn copy_into(mut stream: Box<dyn Read + Send>, sink: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 8192];
    while let Ok(read) = stream.read(&mut buf) {
        if read == 0 {
            break;
        }
        sink.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(&buf[..read]);
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
