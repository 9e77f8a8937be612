//! `/wechat/events/{appid}`: each mini-program's message-push URL (its 消息推送 page).
//! `GET` is WeChat's URL check, answered with `echostr` as plain text; `POST` is a push,
//! answered `success`. Anything refused gets the API's JSON error and changes nothing.

use http::Method;
use lambda_http::{Request, RequestExt};

use crate::edge::{ApiError, Function, PlainText, Route, body_bytes};
use crate::ports::{ErasureLog, PushKeyring, Quotas, Sessions, StackKeys, Users};
use crate::telemetry::current::set_kind;
use crate::telemetry::metrics;
use crate::usecases::{PushQuery, PushReceiver};

/// The route's path before the appid.
pub const PUSH_PATH_PREFIX: &str = "/wechat/events/";

/// `GET` and `POST /wechat/events/{appid}`, served by the `wechat-events` binary.
pub const WECHAT_EVENTS: Route = Route {
    function: Function {
        name: "wechat-events",
        path: Some("/wechat/events/{appid}"),
        outcome_metric: metrics::PUSH_REQUESTS,
        kind_dimension: Some("Kind"),
    },
    // The receiver never calls WeChat.
    deadline_on_wechat: ApiError::StoreUnavailable,
};

const APPID_HINT: &str = "the path is /wechat/events/{appid}, with the app's appid";

/// Checks the URL for WeChat, or handles one of its pushes.
pub async fn wechat_events<S, A, K>(
    receiver: &PushReceiver<S, A, K>,
    request: &Request,
) -> Result<PlainText, ApiError>
where
    S: Sessions + Users + Quotas + ErasureLog,
    A: StackKeys,
    K: PushKeyring,
{
    let method = request.method();
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::MethodNotAllowed { allow: "GET, POST" });
    }
    set_kind(if method == Method::GET {
        "verify"
    } else {
        "push"
    });
    let appid = appid_of(request).ok_or(ApiError::InvalidRequest(APPID_HINT))?;
    let query = push_query(request)?;
    if method == Method::GET {
        return Ok(PlainText(receiver.verify_url(&appid, &query).await?));
    }
    let body = text_body(request)?;
    receiver.receive(&appid, &query, body).await?;
    Ok(PlainText("success".to_owned()))
}

/// The `{appid}` path parameter, else the last segment of a `/wechat/events/…` path (a
/// local router that passes no parameters).
fn appid_of(request: &Request) -> Option<String> {
    let from_parameters = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("appid"))
        .map(str::to_owned);
    let appid = from_parameters.or_else(|| {
        request
            .uri()
            .path()
            .split_once(PUSH_PATH_PREFIX)
            .map(|(_, rest)| rest.trim_end_matches('/').to_owned())
    })?;
    let well_formed = (3..=32).contains(&appid.len())
        && appid.starts_with("wx")
        && appid.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then_some(appid)
}

/// The query WeChat sends, each parameter at most once.
fn push_query(request: &Request) -> Result<PushQuery, ApiError> {
    let parameters = request.query_string_parameters_ref();
    let one = |name: &str| -> Result<Option<String>, ApiError> {
        let values = parameters
            .and_then(|parameters| parameters.all(name))
            .unwrap_or_default();
        match values.as_slice() {
            [] => Ok(None),
            [value] if value.len() <= 512 => Ok(Some((*value).to_owned())),
            _ => Err(ApiError::InvalidRequest(
                "each query parameter is given at most once, at most 512 characters",
            )),
        }
    };
    Ok(PushQuery {
        signature: one("signature")?,
        timestamp: one("timestamp")?,
        nonce: one("nonce")?,
        echostr: one("echostr")?,
        encrypt_type: one("encrypt_type")?,
        msg_signature: one("msg_signature")?,
    })
}

fn text_body(request: &Request) -> Result<&str, ApiError> {
    std::str::from_utf8(body_bytes(request)?)
        .map_err(|_| ApiError::InvalidRequest("the body is not UTF-8 text"))
}
