//! `authorizer` Lambda: the HTTP API Lambda authorizer (payload 2.0, simple responses)
//! for the app's own routes. Wiring only; the work is `wxlogin::edge::authorizer`.

// The runtime's service stack nests futures deeper than the default limit lets rustc
// compute their layout (the HTTP functions' stack is boxed inside lambda_http).
#![recursion_limit = "256"]

use lambda_http::lambda_runtime::Error;
use wxlogin::edge::authorizer::run_authorizer;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_authorizer().await
}
