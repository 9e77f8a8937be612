//! `decrypt-phone` Lambda: `POST /decrypt-phone`. Wiring only; the handler is `wxlogin::phone`.

use lambda_http::Error;
use wxlogin::function::run_function;
use wxlogin::phone::PhoneService;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_function::<PhoneService>().await
}
