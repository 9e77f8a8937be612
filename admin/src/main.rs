//! `wxlogin-admin`: what an operator does for one user on request, with the same
//! use-cases as `GET`/`DELETE /account`.
//!
//! ```text
//! wxlogin-admin export --appid <appid> --openid <openid>   # prints the user's data (JSON)
//! wxlogin-admin erase  --appid <appid> --openid <openid>   # erases them (reason: operator)
//! wxlogin-admin logout --unionid <unionid>                 # ends their sessions in every app
//! ```
//!
//! `logout --unionid` reads the whole table (a Scan: the table has no index on unionid),
//! so run it for a person, not in a loop.
//!
//! Configured as the account function is (docs/configuration.md): `SESSIONS_TABLE`, the
//! apps (`WECHAT_APPID` or `WECHAT_APPIDS`), the stack key (`STACK_KEY_SECRET_ID`, the
//! stack's `StackKeySecret`), and AWS credentials and region as the AWS CLI takes them.
//! Exit status: 0 done, 1 no such user, 2 bad usage or configuration, 3 AWS failed.

use std::process::ExitCode;

use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::stack_key::StackKeySource;
use wxlogin::config::AccountConfig;
use wxlogin::domain::ErasureReason;
use wxlogin::edge::routes::AccountBody;
use wxlogin::usecases::{Accounts, end_sessions_in_every_app};

const USAGE: &str = "usage: wxlogin-admin (export | erase) --appid <appid> --openid <openid>\n       wxlogin-admin logout --unionid <unionid>";

enum Command {
    Export,
    Erase,
}

enum Request {
    /// One user of one app.
    User {
        command: Command,
        appid: String,
        openid: String,
    },
    /// Every session of one person, in every app.
    LogoutEverywhere { unionid: String },
}

fn parse(args: &[String]) -> Result<Request, String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let command = match command.as_str() {
        "export" => Some(Command::Export),
        "erase" => Some(Command::Erase),
        "logout" => None,
        _ => return Err(USAGE.to_owned()),
    };
    let (mut appid, mut openid, mut unionid) = (None, None, None);
    let mut flags = rest.iter();
    while let Some(flag) = flags.next() {
        let value = flags.next().ok_or(USAGE)?.trim().to_owned();
        match flag.as_str() {
            "--appid" if appid.is_none() => appid = Some(value),
            "--openid" if openid.is_none() => openid = Some(value),
            "--unionid" if unionid.is_none() => unionid = Some(value),
            _ => return Err(USAGE.to_owned()),
        }
    }
    let given = |value: &Option<String>| value.as_ref().is_some_and(|v| !v.is_empty());
    match command {
        Some(command) if given(&appid) && given(&openid) && unionid.is_none() => {
            Ok(Request::User {
                command,
                appid: appid.unwrap_or_default(),
                openid: openid.unwrap_or_default(),
            })
        }
        None if given(&unionid) && appid.is_none() && openid.is_none() => {
            Ok(Request::LogoutEverywhere {
                unionid: unionid.unwrap_or_default(),
            })
        }
        _ => Err(USAGE.to_owned()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let request = match parse(&args) {
        Ok(request) => request,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let config = match AccountConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("configuration: {err}");
            return ExitCode::from(2);
        }
    };
    let table = DynamoTable::connect(&config.sessions_table).await;
    let (command, appid, openid) = match request {
        Request::User {
            command,
            appid,
            openid,
        } => (command, appid, openid),
        Request::LogoutEverywhere { unionid } => {
            return match end_sessions_in_every_app(&table, &unionid).await {
                Ok(ended) => {
                    let apps: Vec<_> = ended
                        .iter()
                        .map(|app| serde_json::json!({ "appid": app.appid, "sessions": app.sessions }))
                        .collect();
                    println!(
                        "{}",
                        serde_json::json!({ "unionid": unionid, "apps": apps })
                    );
                    if ended.is_empty() {
                        eprintln!("no user with unionid {unionid}");
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(err) => {
                    eprintln!("{err}");
                    ExitCode::from(3)
                }
            };
        }
    };
    if !config.appids.contains(&appid) {
        eprintln!(
            "{appid} is not an app of this stack ({})",
            config.appids.join(", ")
        );
        return ExitCode::from(2);
    }
    let accounts = Accounts::new(
        table,
        StackKeySource::new(&config.stack_key),
        config.appids.clone(),
    )
    .with_audit_retention(config.audit_retention)
    .with_phone_daily_limit(config.quotas.phone_verifications_per_day);
    let outcome = match command {
        Command::Export => accounts
            .export(&appid, &openid)
            .await
            .map(|data| data.map(|data| serde_json::to_value(AccountBody::new(data)))),
        Command::Erase => accounts
            .erase(&appid, &openid, ErasureReason::Operator)
            .await
            .map(|erased| {
                erased
                    .found
                    .then(|| Ok(serde_json::json!({ "erased": true, "sessions": erased.sessions })))
            }),
    };
    match outcome {
        Ok(Some(Ok(answer))) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Ok(Some(Err(err))) => {
            eprintln!("the answer could not be written: {err}");
            ExitCode::from(3)
        }
        Ok(None) => {
            eprintln!("no user {openid} in {appid}");
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(3)
        }
    }
}
