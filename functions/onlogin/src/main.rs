//! `onlogin` Lambda: `POST /onlogin`. Wiring only; the handler is `wxlogin::login`.

use lambda_http::Error;
use wxlogin::function::run_function;
use wxlogin::login::LoginService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run_function::<LoginService>().await
}
