//! [`Caller`]: who is calling one of the app's own routes, as wxlogin's authorizer told
//! API Gateway (`requestContext.authorizer.lambda`). A team's Rust route depends on this
//! crate alone (lambda_http and serde, no AWS SDK) to read it; Node and Python read the
//! same fields from the event (`event.requestContext.authorizer.lambda.openid`).

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Serialize;
use serde_json::Value;

/// The caller of a route behind the wxlogin authorizer: what the authorizer puts in
/// `requestContext.authorizer.lambda` (serialized as `{"appid", "openid", "unionid"?,
/// "phoneNumber"?, "phoneVerifiedBy"?, "phoneVerifiedAt"?, "riskRank"?}`), and what a
/// route reads back. `Debug` redacts the phone number, so
/// logging a caller never logs personal data.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    /// The mini-program they logged in to.
    pub appid: String,
    /// The caller's openid (their id in that app).
    pub openid: String,
    /// Their unionid, when WeChat has sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// The phone number they verified through wxlogin, when they have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// How that number was last verified: `legacy`, `code` or `realtime` (WeChat
    /// re-checked it with the carrier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified_by: Option<String>,
    /// Epoch seconds of that verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified_at: Option<i64>,
    /// WeChat's risk rank (0 least, 4 riskiest) at sign-up, when the stack recorded one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_rank: Option<u8>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("appid", &self.appid)
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .field(
                "phone_number",
                &self.phone_number.as_ref().map(|_| "[REDACTED]"),
            )
            .field("phone_verified_by", &self.phone_verified_by)
            .field("phone_verified_at", &self.phone_verified_at)
            .field("risk_rank", &self.risk_rank)
            .finish()
    }
}

/// Why a request carries no caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MissingCaller {
    /// The request did not come through an API Gateway HTTP API (payload 2.0).
    #[error("not an API Gateway HTTP API request: is the function behind an HTTP API?")]
    NotHttpApi,
    /// No Lambda authorizer context: the route is not behind the wxlogin authorizer.
    #[error("no authorizer context: attach the wxlogin authorizer to this route")]
    NoAuthorizer,
    /// The context lacks an appid or openid: another authorizer answered.
    #[error("the authorizer context has no appid or openid: is it the wxlogin authorizer?")]
    NotWxlogin,
    /// A live session of a mini-program this route does not serve (answer 403): on a
    /// stack of several apps, one app's session must not act on another's routes, even
    /// for the same unionid.
    #[error("a session of {0}, which this route does not serve")]
    WrongApp(String),
}

impl MissingCaller {
    /// The HTTP status a route answers: 403 for another app's session, 500 for the
    /// wiring mistakes (the route is not behind the wxlogin authorizer).
    pub fn status(&self) -> u16 {
        match self {
            Self::WrongApp(_) => 403,
            _ => 500,
        }
    }
}

impl Caller {
    /// The caller API Gateway attached to `request`, when they logged in to one of
    /// `apps` (the mini-programs this route serves): the app check is part of reading the
    /// caller, so no route forgets it. A route that truly serves every app of the stack
    /// says so with [`Caller::from_request_of_any_app`].
    pub fn from_request(request: &Request, apps: &[&str]) -> Result<Self, MissingCaller> {
        let caller = Self::from_request_of_any_app(request)?;
        caller.require_app(apps)?;
        Ok(caller)
    }

    /// True when the caller's phone number was verified within `max_age` of now with a
    /// code the mini-program said came from the getRealtimePhoneNumber button: what a
    /// sensitive action (a payout, a change of phone) can demand. The recency is WeChat's
    /// (it redeemed the code then); the button is the client's word, since WeChat
    /// answers both buttons' codes alike (docs/integration.md).
    pub fn phone_checked_in_realtime_within(&self, max_age: std::time::Duration) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.phone_checked_in_realtime_within_at(max_age, now)
    }

    fn phone_checked_in_realtime_within_at(&self, max_age: std::time::Duration, now: u64) -> bool {
        let Some(at) = self.phone_verified_at.and_then(|at| u64::try_from(at).ok()) else {
            return false;
        };
        self.phone_verified_by.as_deref() == Some("realtime")
            && now.saturating_sub(at) <= max_age.as_secs()
    }

    /// Refuses a caller who logged in to none of `apps`, e.g. for a part of a route
    /// that only one app may use.
    pub fn require_app(&self, apps: &[&str]) -> Result<&Self, MissingCaller> {
        if apps.contains(&self.appid.as_str()) {
            Ok(self)
        } else {
            Err(MissingCaller::WrongApp(self.appid.clone()))
        }
    }

    /// The caller, whichever app of the stack they logged in to. Key nothing shared
    /// between apps on `unionid` from here without checking `appid`: a session of a
    /// campaign app built by someone else carries the same unionid as the brand app's.
    pub fn from_request_of_any_app(request: &Request) -> Result<Self, MissingCaller> {
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            return Err(MissingCaller::NotHttpApi);
        };
        let fields = context
            .authorizer
            .as_ref()
            .map(|authorizer| &authorizer.fields)
            .filter(|fields| !fields.is_empty())
            .ok_or(MissingCaller::NoAuthorizer)?;
        let text = |name: &str| {
            fields
                .get(name)
                .and_then(Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        Ok(Self {
            appid: text("appid").ok_or(MissingCaller::NotWxlogin)?,
            openid: text("openid").ok_or(MissingCaller::NotWxlogin)?,
            unionid: text("unionid"),
            phone_number: text("phoneNumber"),
            phone_verified_by: text("phoneVerifiedBy"),
            phone_verified_at: fields.get("phoneVerifiedAt").and_then(Value::as_i64),
            risk_rank: fields
                .get("riskRank")
                .and_then(Value::as_u64)
                .and_then(|rank| u8::try_from(rank).ok()),
        })
    }
}

/// Requests as API Gateway hands them to a route behind the authorizer, for tests.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use lambda_http::Request;
    use serde_json::{Value, json};

    /// A `GET /me` request whose `requestContext.authorizer` is `authorizer`
    /// (`{"lambda": {…}}` for wxlogin's).
    ///
    /// # Panics
    /// If lambda_http cannot read the event (it always can: the shape is API Gateway's).
    pub fn request_behind_authorizer(authorizer: Value) -> Request {
        let event = json!({
            "version": "2.0", "routeKey": "GET /me", "rawPath": "/me", "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "123", "apiId": "api", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "GET", "path": "/me", "protocol": "HTTP/1.1",
                         "sourceIp": "1.2.3.4", "userAgent": "t"},
                "requestId": "r", "routeKey": "GET /me", "stage": "$default",
                "time": "26/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
                "authorizer": authorizer
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string())
            .unwrap_or_else(|err| panic!("an API Gateway v2 event: {err}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn request_with(authorizer: Value) -> Request {
        testing::request_behind_authorizer(authorizer)
    }

    fn caller_with_phone() -> Caller {
        Caller {
            appid: "wxA".into(),
            openid: "o1".into(),
            unionid: None,
            phone_number: Some("13800138000".into()),
            phone_verified_by: Some("code".into()),
            phone_verified_at: Some(1_764_892_900),
            risk_rank: Some(1),
        }
    }

    #[test]
    fn reads_the_wxlogin_context() {
        let caller = Caller::from_request_of_any_app(&request_with(json!({"lambda": {
            "appid": "wxA", "openid": "o1", "phoneNumber": "13800138000",
            "phoneVerifiedBy": "code", "phoneVerifiedAt": 1_764_892_900, "riskRank": 1
        }})))
        .unwrap();
        assert_eq!(caller, caller_with_phone());
        let bare = Caller::from_request_of_any_app(&request_with(
            json!({"lambda": {"appid": "wxA", "openid": "o1"}}),
        ))
        .unwrap();
        assert_eq!(
            (bare.phone_number, bare.phone_verified_at, bare.risk_rank),
            (None, None, None)
        );
    }

    #[test]
    fn only_a_recent_realtime_check_counts_as_one() {
        let at = 1_764_892_900;
        let realtime = Caller {
            phone_verified_by: Some("realtime".into()),
            ..caller_with_phone()
        };
        let ten_minutes = std::time::Duration::from_secs(600);
        assert!(realtime.phone_checked_in_realtime_within_at(ten_minutes, at + 600));
        assert!(!realtime.phone_checked_in_realtime_within_at(ten_minutes, at + 601));
        assert!(!caller_with_phone().phone_checked_in_realtime_within_at(ten_minutes, at));
        let unverified = Caller {
            phone_verified_at: None,
            ..realtime.clone()
        };
        assert!(!unverified.phone_checked_in_realtime_within_at(ten_minutes, at));
        assert!(
            !realtime.phone_checked_in_realtime_within(ten_minutes),
            "a check made in 2025 is not recent now"
        );
    }

    #[test]
    fn refuses_a_session_of_an_app_the_route_does_not_serve() {
        let request = request_with(
            json!({"lambda": {"appid": "wxcampaign", "openid": "o1", "unionid": "u1"}}),
        );
        let refused = Caller::from_request(&request, &["wxbrand"]).unwrap_err();
        assert_eq!(refused, MissingCaller::WrongApp("wxcampaign".into()));
        assert_eq!(refused.status(), 403);
        let caller = Caller::from_request(&request, &["wxbrand", "wxcampaign"]).unwrap();
        assert_eq!(caller.unionid.as_deref(), Some("u1"));
        assert!(caller.require_app(&["wxcampaign"]).is_ok());
        assert!(caller.require_app(&[]).is_err());
    }

    #[test]
    fn debug_hides_the_phone_number() {
        let caller = caller_with_phone();
        assert!(!format!("{caller:?}").contains("1380"));
    }

    #[test]
    fn says_what_is_missing() {
        let apps = &["wxA"];
        assert_eq!(
            Caller::from_request(&request_with(json!({})), apps),
            Err(MissingCaller::NoAuthorizer)
        );
        assert_eq!(
            Caller::from_request(&request_with(json!({"lambda": {"sub": "x"}})), apps),
            Err(MissingCaller::NotWxlogin)
        );
        assert_eq!(
            Caller::from_request(&Request::default(), apps),
            Err(MissingCaller::NotHttpApi)
        );
        assert_eq!(MissingCaller::NoAuthorizer.status(), 500);
    }
}
