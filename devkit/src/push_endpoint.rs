//! A push receiver on a local HTTP port, as API Gateway puts the `wechat-events` route on
//! one: the sandbox's pushes arrive over real HTTP (query, headers, body), and each
//! becomes the request the function would get (path parameter and query parameters set).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use lambda_http::RequestExt;
use tokio::net::TcpListener;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::push_keys::PushKeySource;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::edge::respond;
use wxlogin::edge::routes::{self, PUSH_PATH_PREFIX, WECHAT_EVENTS};
use wxlogin::usecases::PushReceiver;

/// The receiver the test stack builds.
pub type StackReceiver = PushReceiver<DynamoTable, StackKeySource, PushKeySource>;

/// A receiver served on 127.0.0.1; stops when dropped.
pub struct PushEndpoint {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl PushEndpoint {
    /// Serves `receiver` on a free local port.
    pub async fn start(receiver: StackReceiver) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(serve).with_state(Arc::new(receiver));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { base, task })
    }

    /// The push URL of `appid`.
    pub fn url(&self, appid: &str) -> String {
        format!("{}{PUSH_PATH_PREFIX}{appid}", self.base)
    }
}

impl Drop for PushEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(State(receiver): State<Arc<StackReceiver>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut lambda_request = lambda_http::Request::new(lambda_http::Body::Text(text));
    *lambda_request.method_mut() = parts.method.clone();
    *lambda_request.uri_mut() = parts.uri.clone();
    *lambda_request.headers_mut() = parts.headers.clone();
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    if let Ok(url) = reqwest::Url::parse(&format!("http://local{}", parts.uri)) {
        for (name, value) in url.query_pairs() {
            query
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
    }
    let mut path_parameters = HashMap::new();
    if let Some(appid) = parts.uri.path().strip_prefix(PUSH_PATH_PREFIX) {
        path_parameters.insert("appid".to_owned(), appid.to_owned());
    }
    let lambda_request = lambda_request
        .with_query_string_parameters(query)
        .with_path_parameters(path_parameters);
    let response = respond(&WECHAT_EVENTS, lambda_request, async |request| {
        routes::wechat_events(&receiver, request).await
    })
    .await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    Response::from_parts(parts, Body::from(bytes))
}
