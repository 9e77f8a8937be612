//! `onlogin` Lambda: `POST /onlogin`. Wiring only; the route is
//! `wxlogin::edge::routes::LoginFunction`.

use lambda_http::Error;
use wxlogin::edge::routes::LoginFunction;
use wxlogin::edge::run_function;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_function::<LoginFunction>().await
}
