//! A Lambda Runtime API emulator: enough of `/2018-06-01/runtime/*` to run a real
//! function binary, hand it events and collect its answers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

/// What a function answered for one invocation.
pub type Outcome = Result<Value, Value>;

struct Invocation {
    event: Value,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
struct Shared {
    queue: Arc<Mutex<mpsc::Receiver<Invocation>>>,
    pending: Arc<std::sync::Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    /// When a function first asked for work; a watch so waiters wake the moment it does.
    first_poll: Arc<tokio::sync::watch::Sender<Option<Instant>>>,
    init_error: Arc<std::sync::Mutex<Option<Value>>>,
}

/// A running emulator; functions reach it through `AWS_LAMBDA_RUNTIME_API`.
pub struct RuntimeApi {
    addr: SocketAddr,
    sender: mpsc::Sender<Invocation>,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts an emulator on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let (sender, receiver) = mpsc::channel(1024);
        let shared = Shared {
            queue: Arc::new(Mutex::new(receiver)),
            pending: Arc::default(),
            first_poll: Arc::new(tokio::sync::watch::Sender::new(None)),
            init_error: Arc::default(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            sender,
            shared,
            task,
        })
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When a function first asked for work: the end of its init.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.borrow()
    }

    /// Waits until a function first asks for work (its init is over) and says when.
    pub async fn wait_first_poll(&self, timeout: Duration) -> anyhow::Result<Instant> {
        let mut receiver = self.shared.first_poll.subscribe();
        let polled = tokio::time::timeout(timeout, receiver.wait_for(Option::is_some))
            .await
            .context("the function never asked for work")?
            .map_err(|_| anyhow!("emulator stopped"))?;
        polled.context("first poll vanished")
    }

    /// What a function reported through `/runtime/init/error`, if anything.
    pub fn init_error(&self) -> Option<Value> {
        lock(&self.shared.init_error).clone()
    }

    /// Hands `event` to the next polling function and waits for its answer.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> anyhow::Result<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Invocation { event, reply })
            .await
            .map_err(|_| anyhow!("emulator stopped"))?;
        tokio::time::timeout(timeout, answer)
            .await
            .context("the function did not answer in time")?
            .context("the invocation was dropped")
    }

    /// Invokes with an API Gateway HTTP event and decodes the function's HTTP answer; a
    /// function error is an error. A body that is not JSON (the push URL's plain text)
    /// reads as `null` in `body`, whole in `raw_body`.
    pub async fn invoke_http(&self, event: Value) -> anyhow::Result<HttpAnswer> {
        let response = self
            .invoke(event, HTTP_INVOKE_TIMEOUT)
            .await?
            .map_err(|err| anyhow!("the function reported an error: {err}"))?;
        let status = response["statusCode"]
            .as_u64()
            .and_then(|status| u16::try_from(status).ok())
            .context("no statusCode")?;
        let raw_body = response["body"].as_str().context("no body")?.to_owned();
        let body = serde_json::from_str(&raw_body).unwrap_or(Value::Null);
        Ok(HttpAnswer {
            status,
            headers: response["headers"].clone(),
            body,
            raw_body,
        })
    }
}

/// How long [`RuntimeApi::invoke_http`] waits for an answer.
const HTTP_INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A function's answer to an API Gateway HTTP event.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// HTTP status.
    pub status: u16,
    /// Response headers as the event's JSON object.
    pub headers: Value,
    /// The JSON body (`null` when the body is not JSON).
    pub body: Value,
    /// The body as sent.
    pub raw_body: String,
}

impl HttpAnswer {
    /// The API's `error` code, if the body has one.
    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fresh_request_id() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

async fn next(State(shared): State<Shared>) -> Response {
    let now = Instant::now();
    shared
        .first_poll
        .send_if_modified(|first| first.is_none() && first.replace(now).is_none());
    let Some(invocation) = shared.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let request_id = fresh_request_id();
    lock(&shared.pending).insert(request_id.clone(), invocation.reply);
    let deadline_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| now.as_millis() + 30_000);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", request_id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:local".to_owned(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
    );
    set("content-type", "application/json".to_owned());
    (headers, invocation.event.to_string()).into_response()
}

fn settle(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    match lock(&shared.pending).remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn as_json(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn respond(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    settle(&shared, &id, Ok(as_json(&body)))
}

async fn fail(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    settle(&shared, &id, Err(as_json(&body)))
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> Response {
    *lock(&shared.init_error) = Some(as_json(&body));
    StatusCode::ACCEPTED.into_response()
}
