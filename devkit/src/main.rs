//! `devkit`: chores for the local stack.
//!
//! - `devkit create-table <endpoint> <table>`: the sessions table with its TTL
//!   (idempotent), as the SAM template defines it.
//! - `devkit signing-keys init <secrets-endpoint> <secret> <lambda-base>`: the signing-key
//!   secret with an empty ring, then its first rotation by the `signing-keys` function
//!   (nothing when the secret exists); `devkit signing-keys rotate <lambda-base> <secret>`:
//!   one more rotation (`devkit::signing_keys`).
//! - `devkit gateway <port> <lambda-base> ["METHOD /path=function"…] [--playground
//!   <dir> <sandbox-base> <dynamodb-endpoint> <table>]`: API Gateway's part in front of
//!   `cargo lambda watch`: the routes given run behind the `authorizer` function, the rest
//!   is forwarded (`devkit::gateway`); with `--playground`, it serves the playground page
//!   too (`devkit::playground`). It answers this machine only (`Host` `localhost`,
//!   `127.0.0.1`, `[::1]`; no `POST` from pages of other origins), widened by
//!   `DEV_ALLOWED_HOSTS` and `DEV_ALLOWED_ORIGINS` (`wechat_sandbox::local_only`).

use anyhow::{Context, bail};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create-table", endpoint, table] => {
            let client = devkit::tables::local_client(endpoint).await;
            devkit::tables::create_sessions_table(&client, table).await?;
            println!("table {table} ready at {endpoint} (key pk, TTL on expires_at)");
            Ok(())
        }
        ["signing-keys", "init", secrets, secret, lambda] => {
            if devkit::signing_keys::create_secret(secrets, secret).await? {
                let keys = devkit::signing_keys::rotate(lambda, secret).await?;
                println!("secret {secret} made, first key {}", keys.join(", "));
            } else {
                println!("secret {secret} kept from an earlier start");
            }
            Ok(())
        }
        ["signing-keys", "rotate", lambda, secret] => {
            let keys = devkit::signing_keys::rotate(lambda, secret).await?;
            println!("{secret} rotated: keys {}", keys.join(", "));
            Ok(())
        }
        ["gateway", port, lambda, rest @ ..] => {
            let (routes, playground) = match rest.iter().position(|arg| *arg == "--playground") {
                Some(at) => match &rest[at + 1..] {
                    [dir, sandbox, dynamodb, table] => (
                        &rest[..at],
                        Some(
                            devkit::playground::Playground::new(
                                std::path::Path::new(dir),
                                sandbox,
                                dynamodb,
                                table,
                            )
                            .await,
                        ),
                    ),
                    _ => {
                        bail!("--playground takes <dir> <sandbox-base> <dynamodb-endpoint> <table>")
                    }
                },
                None => (rest, None),
            };
            let routes = routes
                .iter()
                .map(|spec| devkit::gateway::ProtectedRoute::parse(spec))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let port: u16 = port.parse().context("the port is a number")?;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .with_context(|| format!("listening on 127.0.0.1:{port}"))?;
            for route in &routes {
                println!(
                    "gateway on port {port}: {} {} behind the authorizer, then {}",
                    route.method, route.path, route.function
                );
            }
            println!("gateway on port {port}: everything else to {lambda}");
            let gateway = devkit::gateway::Gateway::new(lambda, routes)
                .with_local_only(wechat_sandbox::LocalOnly::new().widened_by_env());
            let gateway = match playground {
                Some(playground) => {
                    println!("gateway on port {port}: the playground at /playground/");
                    gateway.with_playground(playground)
                }
                None => gateway,
            };
            gateway.serve(listener).await
        }
        _ => bail!(
            "usage: devkit create-table <dynamodb-endpoint> <table>\n       devkit signing-keys init <secrets-manager-endpoint> <secret> <lambda-base-url>\n       devkit signing-keys rotate <lambda-base-url> <secret>\n       devkit gateway <port> <lambda-base-url> [\"METHOD /path=function\"…] [--playground <dir> <sandbox-base-url> <dynamodb-endpoint> <table>]"
        ),
    }
}
