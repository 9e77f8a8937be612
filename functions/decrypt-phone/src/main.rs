//! `decrypt-phone` Lambda: `POST /decrypt-phone`. Wiring only; the handler is `wxlogin::phone`.

use lambda_http::Error;
use wxlogin::function::run_function;
use wxlogin::phone::PhoneService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run_function::<PhoneService>().await
}
