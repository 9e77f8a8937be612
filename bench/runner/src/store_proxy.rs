//! A counting proxy in front of DynamoDB Local: a function pointed at it (through
//! `AWS_ENDPOINT_URL_DYNAMODB`) has every call forwarded as is and counted by operation
//! (`X-Amz-Target`), so the report can say how many DynamoDB round trips a request costs.
//! DynamoDB Local does not check SigV4 signatures, so forwarding under another host is fine.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The most a forwarded request body may hold (DynamoDB's own limit is 16 MB).
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Clone)]
struct Shared {
    upstream: String,
    client: reqwest::Client,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

/// A running proxy; stops when dropped.
pub struct StoreProxy {
    addr: SocketAddr,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StoreProxy {
    /// A proxy on a free loopback port forwarding to `upstream` (`http://127.0.0.1:port`).
    pub async fn start(upstream: &str) -> anyhow::Result<Self> {
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            counts: Arc::clone(&counts),
        };
        let app = Router::new().fallback(forward).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, counts, task })
    }

    /// The endpoint to hand the function.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The calls counted so far by operation (`BatchGetItem`, `PutItem`…), and resets.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for StoreProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operation of a DynamoDB JSON call: `DynamoDB_20120810.BatchGetItem` → `BatchGetItem`.
fn operation(target: Option<&str>) -> String {
    target
        .and_then(|target| target.rsplit('.').next())
        .filter(|name| !name.is_empty())
        .unwrap_or("unknown")
        .to_owned()
}

/// Headers the proxy sets itself on each leg.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ]
    .contains(name)
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok());
    *shared
        .counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(operation(target))
        .or_default() += 1;
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = shared
        .client
        .request(parts.method, format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let Ok(bytes) = answer.bytes().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::operation;

    #[test]
    fn the_operation_is_the_last_part_of_the_target() {
        assert_eq!(
            operation(Some("DynamoDB_20120810.BatchGetItem")),
            "BatchGetItem"
        );
        assert_eq!(operation(None), "unknown");
        assert_eq!(operation(Some("")), "unknown");
    }
}
