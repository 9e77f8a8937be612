//! `/account`: `GET` answers a copy of everything stored about the bearer's user;
//! `DELETE` cancels the account (注销): erases the user, every session and quota counter.

use http::Method;
use lambda_http::Request;
use serde::Serialize;

use super::PhoneBody;
use crate::domain::ListedSession;
use crate::edge::{ApiError, Function, Route, bearer_token};
use crate::ports::{ErasureLog, Quotas, Sessions, StackKeys, Users};
use crate::telemetry::current::set_kind;
use crate::telemetry::metrics;
use crate::usecases::{AccountData, Accounts, QuotaUse};

const ALLOWED_METHODS: &str = "GET, DELETE";

/// `GET` and `DELETE /account`, served by the `account` binary.
pub const ACCOUNT: Route = Route {
    function: Function {
        name: "account",
        path: Some("/account"),
        outcome_metric: metrics::ACCOUNT_REQUESTS,
        kind_dimension: Some("Action"),
    },
    // The account function never calls WeChat.
    deadline_on_wechat: ApiError::StoreUnavailable,
};

/// The 200 body of either method.
#[derive(Serialize)]
#[serde(untagged)]
pub enum AccountAnswer {
    /// `GET`: the user's data.
    Data(Box<AccountBody>),
    /// `DELETE`: `{"deleted": true, "sessions": n}`.
    Deleted {
        /// Always true: nothing of the user is stored any more.
        deleted: bool,
        /// The sessions that were live and are ended, the caller's included.
        sessions: u32,
    },
}

/// `GET /account`'s body: every field docs/api.md lists, never a token, hash or key.
#[derive(Serialize)]
pub struct AccountBody {
    appid: String,
    openid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unionid: Option<String>,
    created_at: i64,
    last_login_at: i64,
    /// When the user expires for inactivity, if the stack expires users.
    #[serde(skip_serializing_if = "Option::is_none")]
    kept_until: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<BoundPhoneBody>,
    /// WeChat's risk rank at sign-up, when the stack recorded one.
    #[serde(skip_serializing_if = "Option::is_none")]
    risk: Option<RiskBody>,
    sessions: Vec<SessionBody>,
    quotas: QuotasBody,
}

/// The bound phone number, and when and how it was verified.
#[derive(Serialize)]
struct BoundPhoneBody {
    #[serde(flatten)]
    number: PhoneBody,
    verified_at: i64,
    verified_by: &'static str,
}

/// WeChat's risk rank of the user and when it was asked.
#[derive(Serialize)]
struct RiskBody {
    rank: u8,
    checked_at: i64,
}

/// One live session: its times, and whether it is the caller's.
#[derive(Serialize)]
struct SessionBody {
    created_at: i64,
    expires_at: i64,
    current: bool,
}

/// The quotas in force on the user.
#[derive(Serialize)]
struct QuotasBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_verifications_today: Option<QuotaBody>,
}

#[derive(Serialize)]
struct QuotaBody {
    used: u32,
    limit: u32,
    resets_at: i64,
}

impl From<QuotaUse> for QuotaBody {
    fn from(quota: QuotaUse) -> Self {
        Self {
            used: quota.used,
            limit: quota.limit,
            resets_at: quota.resets_at,
        }
    }
}

impl AccountBody {
    /// What `GET /account` says about `data` (and what an operator's export prints).
    pub fn new(data: AccountData) -> Self {
        let AccountData {
            user,
            sessions,
            current,
            phone_verifications_today,
        } = data;
        let session_body = |listed: &ListedSession| SessionBody {
            created_at: listed.created_at,
            expires_at: listed.expires_at,
            current: current.as_ref() == Some(listed),
        };
        let mut sessions: Vec<_> = sessions.iter().map(session_body).collect();
        sessions.sort_by_key(|session| (session.created_at, session.expires_at));
        Self {
            appid: user.appid,
            openid: user.openid,
            unionid: user.unionid,
            created_at: user.created_at,
            last_login_at: user.last_login_at,
            kept_until: user.expires_at,
            phone: user.phone.map(|phone| BoundPhoneBody {
                number: phone.number.into(),
                verified_at: phone.verified_at,
                verified_by: phone.verified_by.name(),
            }),
            risk: user.risk.map(|risk| RiskBody {
                rank: risk.rank.value(),
                checked_at: risk.checked_at,
            }),
            sessions,
            quotas: QuotasBody {
                phone_verifications_today: phone_verifications_today.map(QuotaBody::from),
            },
        }
    }
}

/// Answers the bearer's data, or cancels their account.
pub async fn account<S, K>(
    accounts: &Accounts<S, K>,
    request: &Request,
) -> Result<AccountAnswer, ApiError>
where
    S: Sessions + Users + Quotas + ErasureLog,
    K: StackKeys,
{
    let method = request.method();
    let delete = if method == Method::GET {
        false
    } else if method == Method::DELETE {
        true
    } else {
        return Err(ApiError::MethodNotAllowed {
            allow: ALLOWED_METHODS,
        });
    };
    set_kind(if delete { "delete" } else { "export" });
    let token = bearer_token(request)?;
    let live = accounts.session(&token).await?;
    if delete {
        let erased = accounts.cancel(&token, &live).await?;
        Ok(AccountAnswer::Deleted {
            deleted: true,
            sessions: erased.sessions,
        })
    } else {
        let data = accounts.data(&token, &live).await?;
        Ok(AccountAnswer::Data(Box::new(AccountBody::new(data))))
    }
}
