//! `decrypt-phone` Lambda: `POST /decrypt-phone`. Wiring only; the route is
//! `wxlogin::edge::routes::PhoneFunction`.

use lambda_http::Error;
use wxlogin::edge::routes::PhoneFunction;
use wxlogin::edge::run_function;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_function::<PhoneFunction>().await
}
