//! `onlogin` Lambda: wiring only. Config and clients are built once per instance; each
//! invocation is served by `wxlogin::login::LoginService::handle`.

use std::convert::Infallible;

use lambda_http::{Error, run, service_fn};
use wxlogin::config::Config;
use wxlogin::login::LoginService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    wxlogin::telemetry::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            // Fail init loudly: Lambda shows this line and marks the init as failed.
            eprintln!("onlogin: configuration error: {err}");
            std::process::exit(2);
        }
    };
    let service = LoginService::from_config(&config).await?;
    let service = &service;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(service.handle(request).await)
    }))
    .await
}
