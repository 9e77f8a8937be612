//! `session` Lambda: `GET /session` and `DELETE /session`. Wiring only; the handler is
//! `wxlogin::session_route`.

use lambda_http::Error;
use wxlogin::function::run_function;
use wxlogin::session_route::SessionService;

// One request at a time per instance: a single-threaded runtime starts faster and
// needs no worker threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_function::<SessionService>().await
}
