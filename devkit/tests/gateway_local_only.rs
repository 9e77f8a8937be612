//! The local gateway answers this machine only, on every path: a foreign `Host` (a page
//! that rebound its DNS name to 127.0.0.1) is 421, a mutation from a page of another origin
//! or site is 403, and neither reaches what is behind it (cargo lambda watch, the sandbox).
//! Watch's own APIs (invoke, runtime) are never forwarded.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use devkit::gateway::{Gateway, ProtectedRoute};
use devkit::playground::Playground;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;

/// What reached the upstream: `METHOD /path` each.
type Seen = Arc<Mutex<Vec<String>>>;

/// An upstream that answers 200 `{}` to anything, with CORS headers granting the
/// request's origin (as cargo lambda watch's default CORS does), and records what reached
/// it.
async fn upstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .fallback(|State(seen): State<Seen>, request: Request| async move {
            seen.lock()
                .unwrap()
                .push(format!("{} {}", request.method(), request.uri().path()));
            let origin = request
                .headers()
                .get("origin")
                .cloned()
                .unwrap_or(axum::http::HeaderValue::from_static("*"));
            (
                [
                    ("access-control-allow-origin", origin),
                    (
                        "access-control-allow-credentials",
                        axum::http::HeaderValue::from_static("true"),
                    ),
                    ("x-request-id", axum::http::HeaderValue::from_static("r1")),
                ],
                axum::Json(serde_json::json!({})),
            )
        })
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

/// A gateway with the playground in front of an upstream playing both watch and the
/// sandbox; its base URL and what reached the upstream.
async fn gateway() -> (String, Seen) {
    let (upstream, seen) = upstream().await;
    let playground = Playground::new(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../playground"),
        &upstream,
        // Never reached by these tests.
        "http://127.0.0.1:9",
        "sessions",
    )
    .await;
    let gateway = Gateway::new(
        &upstream,
        vec![ProtectedRoute::parse("GET /me=me").unwrap()],
    )
    .with_playground(playground);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gateway.serve(listener));
    (base, seen)
}

async fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .body("{}");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn taken(seen: &Seen) -> Vec<String> {
    std::mem::take(&mut *seen.lock().unwrap())
}

#[tokio::test]
async fn only_this_machines_names_are_answered_on_every_path() {
    let (base, seen) = gateway().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (status, answer) = send(&base, "POST", "/onlogin", &[("host", &host)]).await;
        assert_eq!(status, StatusCode::OK, "{host}: {answer}");
        let (status, _) = send(&base, "GET", "/playground/", &[("host", &host)]).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    assert_eq!(taken(&seen), ["POST /onlogin"; 3]);

    let rebound = format!("rebound.example:{port}");
    for (method, path) in [
        ("POST", "/onlogin"),
        ("GET", "/session"),
        ("DELETE", "/account"),
        ("GET", "/me"),
        ("GET", "/playground/"),
        ("GET", "/playground/items"),
        ("GET", "/sandbox/stats"),
        ("POST", "/sandbox/login"),
        ("GET", "/wechat/events/wx0000000000local1"),
    ] {
        let (status, answer) = send(&base, method, path, &[("host", &rebound)]).await;
        assert_eq!(
            status,
            StatusCode::MISDIRECTED_REQUEST,
            "{method} {path}: {answer}"
        );
        assert_eq!(answer["error"], "host_not_allowed", "{answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("DEV_ALLOWED_HOSTS")
        );
    }
    assert_eq!(taken(&seen), Vec::<String>::new(), "nothing was forwarded");
}

#[tokio::test]
async fn only_pages_of_this_machine_may_change_things() {
    let (base, seen) = gateway().await;
    // The playground's own calls (same origin), other local pages, WeChat's pages, and
    // clients without an Origin (curl, Node, WeChat DevTools, the sandbox's pushes).
    for headers in [
        vec![("origin", base.as_str()), ("sec-fetch-site", "same-origin")],
        vec![("origin", "http://localhost:5173")],
        vec![("origin", "https://servicewechat.com")],
        vec![("content-type", "text/xml")],
    ] {
        let (status, answer) = send(&base, "POST", "/onlogin", &headers).await;
        assert_eq!(status, StatusCode::OK, "{headers:?}: {answer}");
        let (status, answer) = send(&base, "POST", "/sandbox/login", &headers).await;
        assert_eq!(status, StatusCode::OK, "{headers:?}: {answer}");
    }
    assert_eq!(
        taken(&seen),
        ["POST /onlogin", "POST /sandbox/login"].repeat(4)
    );

    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("origin", "http://localhost.evil.example:9200")],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("content-type", "text/plain"),
        ],
    ] {
        for (method, path) in [
            ("POST", "/onlogin"),
            ("POST", "/decrypt-phone"),
            ("DELETE", "/session"),
            ("DELETE", "/account"),
            ("POST", "/wechat/events/wx0000000000local1"),
            ("POST", "/sandbox/login"),
            ("POST", "/sandbox/faults"),
        ] {
            let (status, answer) = send(&base, method, path, &headers).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{headers:?} {method} {path}: {answer}"
            );
            assert!(
                ["origin_not_allowed", "cross_site"].contains(&answer["error"].as_str().unwrap()),
                "{answer}"
            );
        }
    }
    assert_eq!(taken(&seen), Vec::<String>::new(), "nothing was forwarded");
}

#[tokio::test]
async fn watchs_invoke_and_runtime_apis_are_not_forwarded() {
    let (base, seen) = gateway().await;
    for path in [
        "/2015-03-31/functions/me/invocations",
        "/2015-03-31/functions/authorizer/invocations",
        "/.rt/2018-06-01/runtime/invocation/next",
        "/.rt",
        "//2015-03-31/functions/me/invocations",
        "//.rt/2018-06-01/runtime/invocation/next",
    ] {
        for method in ["GET", "POST"] {
            let (status, answer) = send(&base, method, path, &[]).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(answer, serde_json::json!({"message": "Not Found"}));
        }
    }
    assert_eq!(taken(&seen), Vec::<String>::new(), "nothing was forwarded");
    let (status, _) = send(&base, "GET", "/session", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(taken(&seen), ["GET /session"]);
}

#[tokio::test]
async fn more_hosts_and_origins_can_be_allowed() {
    let (upstream, seen) = upstream().await;
    let tunnel = [
        ("host", "tunnel.example"),
        ("origin", "https://tunnel.example"),
    ];
    for (widened, expected) in [
        (false, StatusCode::MISDIRECTED_REQUEST),
        (true, StatusCode::OK),
    ] {
        let mut local_only = wechat_sandbox::LocalOnly::new();
        if widened {
            local_only = local_only.widened("tunnel.example", "https://tunnel.example");
        }
        let gateway = Gateway::new(&upstream, Vec::new()).with_local_only(local_only);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(gateway.serve(listener));
        let (status, _) = send(&base, "POST", "/onlogin", &tunnel).await;
        assert_eq!(status, expected, "widened: {widened}");
    }
    assert_eq!(taken(&seen), ["POST /onlogin"]);
}

#[tokio::test]
async fn watchs_cors_answers_are_not_passed_on() {
    let (base, seen) = gateway().await;
    for (method, path) in [("GET", "/session"), ("OPTIONS", "/onlogin")] {
        let response = reqwest::Client::new()
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("origin", "http://evil.example")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
        let headers = response.headers();
        assert_eq!(headers["x-request-id"], "r1", "the rest is passed on");
        assert!(
            headers
                .keys()
                .all(|name| !name.as_str().starts_with("access-control-")),
            "{method} {path}: {headers:?}"
        );
    }
    assert_eq!(taken(&seen), ["GET /session", "OPTIONS /onlogin"]);
}
