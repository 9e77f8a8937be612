//! `wxlogin-dev`: chores for the local stack.
//!
//! - `wxlogin-dev create-table <endpoint> <table>`: the sessions table with its TTL
//!   (idempotent), as the SAM template defines it.
//! - `wxlogin-dev demo <api-base> <sandbox-base>`: plays a mini-program against a running stack.

use anyhow::bail;

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
        ["demo", api, sandbox] => {
            devkit::demo::run(devkit::demo::Endpoints {
                api: api.trim_end_matches('/').to_owned(),
                sandbox: sandbox.trim_end_matches('/').to_owned(),
            })
            .await
        }
        _ => bail!(
            "usage: wxlogin-dev create-table <dynamodb-endpoint> <table>\n       wxlogin-dev demo <api-base-url> <sandbox-base-url>"
        ),
    }
}
