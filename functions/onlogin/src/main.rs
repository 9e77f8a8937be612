//! `onlogin` Lambda: `POST /onlogin`. Wiring only; the handler is `wxlogin::login`.

use lambda_http::Error;
use wxlogin::function::run_function;
use wxlogin::login::LoginService;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_function::<LoginService>().await
}
