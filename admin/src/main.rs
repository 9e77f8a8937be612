//! `wxlogin-admin`: what an operator does for one user on request, with the same
//! use-cases as `GET`/`DELETE /account`.
//!
//! ```text
//! wxlogin-admin export --appid <appid> --openid <openid>   # prints the user's data (JSON)
//! wxlogin-admin erase  --appid <appid> --openid <openid>   # erases them (reason: operator)
//! ```
//!
//! Configured as the account function is (docs/configuration.md): `SESSIONS_TABLE`, the
//! apps (`WECHAT_APPID` or `WECHAT_APPIDS`), the audit key (`AUDIT_KEY_SECRET_ID`, the
//! stack's `AuditKeySecret`), and AWS credentials and region as the AWS CLI takes them.
//! Exit status: 0 done, 1 no such user, 2 bad usage or configuration, 3 AWS failed.

use std::process::ExitCode;

use wxlogin::adapters::audit_key::AuditKeySource;
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::config::AccountConfig;
use wxlogin::domain::ErasureReason;
use wxlogin::edge::routes::AccountBody;
use wxlogin::usecases::Accounts;

const USAGE: &str = "usage: wxlogin-admin (export | erase) --appid <appid> --openid <openid>";

enum Command {
    Export,
    Erase,
}

struct Request {
    command: Command,
    appid: String,
    openid: String,
}

fn parse(args: &[String]) -> Result<Request, String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let command = match command.as_str() {
        "export" => Command::Export,
        "erase" => Command::Erase,
        _ => return Err(USAGE.to_owned()),
    };
    let (mut appid, mut openid) = (None, None);
    let mut flags = rest.iter();
    while let Some(flag) = flags.next() {
        let value = flags.next().ok_or(USAGE)?.trim().to_owned();
        match flag.as_str() {
            "--appid" if appid.is_none() => appid = Some(value),
            "--openid" if openid.is_none() => openid = Some(value),
            _ => return Err(USAGE.to_owned()),
        }
    }
    match (appid, openid) {
        (Some(appid), Some(openid)) if !appid.is_empty() && !openid.is_empty() => Ok(Request {
            command,
            appid,
            openid,
        }),
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
    if !config.appids.contains(&request.appid) {
        eprintln!(
            "{} is not an app of this stack ({})",
            request.appid,
            config.appids.join(", ")
        );
        return ExitCode::from(2);
    }
    let table = DynamoTable::connect(&config.sessions_table).await;
    let accounts = Accounts::new(
        table,
        AuditKeySource::new(&config.audit_key),
        config.appids.clone(),
    )
    .with_audit_retention(config.audit_retention)
    .with_phone_daily_limit(config.quotas.phone_verifications_per_day);
    let outcome = match request.command {
        Command::Export => accounts
            .export(&request.appid, &request.openid)
            .await
            .map(|data| data.map(|data| serde_json::to_value(AccountBody::new(data)))),
        Command::Erase => accounts
            .erase(&request.appid, &request.openid, ErasureReason::Operator)
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
            eprintln!("no user {} in {}", request.openid, request.appid);
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(3)
        }
    }
}
