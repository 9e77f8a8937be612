//! `POST /onlogin`: `{"code"}` from `wx.login` → a session token.

use http::Method;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

use super::PhoneBody;
use crate::domain::LoginCode;
use crate::edge::{ApiError, Function, Route, client_address, json_body, referer_appid};
use crate::ports::{AccessTokenStore, CodeClaims, Quotas, Sessions, StackKeys, Users, WeChat};
use crate::telemetry::metrics;
use crate::usecases::{AppHint, LoggedIn, Login};

const SHAPE_HINT: &str = "expected a JSON object with a string field \"code\" from wx.login (1-128 bytes, no control characters), and optionally a string \"appid\"";

#[derive(Deserialize)]
struct LoginRequest {
    code: String,
    /// The mini-program, when the stack serves several (else WeChat's Referer says).
    appid: Option<String>,
}

/// The 200 body: the token for its owner, who they are, whether this was their first
/// login, and the phone number they already verified (the client asks for one only when
/// it is absent: WeChat bills every verification).
#[derive(Serialize)]
pub struct LoginBody {
    token: String,
    expires_in: u64,
    appid: String,
    openid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unionid: Option<String>,
    new_user: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<PhoneBody>,
}

impl From<LoggedIn> for LoginBody {
    fn from(logged_in: LoggedIn) -> Self {
        Self {
            token: logged_in.token.expose().to_owned(),
            expires_in: logged_in.expires_in.as_secs(),
            appid: logged_in.appid,
            openid: logged_in.session.openid,
            unionid: logged_in.user.unionid.or(logged_in.session.unionid),
            new_user: logged_in.new_user,
            phone: logged_in
                .user
                .phone
                .map(|bound| PhoneBody::from(bound.number)),
        }
    }
}

/// `POST /onlogin`, served by the `onlogin` binary.
pub const LOGIN: Route = Route {
    function: Function {
        name: "onlogin",
        path: Some("/onlogin"),
        outcome_metric: metrics::LOGINS,
        kind_dimension: None,
    },
    // A login that ran out of time on WeChat may have spent its code.
    deadline_on_wechat: ApiError::WeChatUnavailableNewCodeNeeded,
};

/// Logs in with the `wx.login` code of the request's body.
pub async fn login<S, W, K>(
    login: &Login<S, W, K>,
    request: &Request,
) -> Result<LoginBody, ApiError>
where
    S: CodeClaims + Sessions + Users + Quotas + AccessTokenStore + Clone,
    W: WeChat,
    K: StackKeys,
{
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed { allow: "POST" });
    }
    let body: LoginRequest = json_body(request, SHAPE_HINT)?;
    let code = LoginCode::parse(&body.code).ok_or(ApiError::InvalidRequest(SHAPE_HINT))?;
    let hint = AppHint {
        named: body.appid.as_deref(),
        referer: referer_appid(request),
    };
    Ok(login
        .login_from(hint, &code, client_address(request))
        .await?
        .into())
}
