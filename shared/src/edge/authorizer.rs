//! The `authorizer` function: an API Gateway HTTP API Lambda authorizer (payload format
//! 2.0, simple responses) for the app's own routes. A live bearer token is allowed, with
//! the caller in the context; anything else is denied; a store failure fails the
//! invocation (API Gateway answers 500), so nothing is let through unchecked.

use std::collections::HashMap;

use lambda_http::lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};

use super::auth::parse_bearer;
use super::{ApiError, Caller, Ending, Function};
#[cfg(test)]
use crate::domain::SessionToken;
use crate::domain::{LiveSession, StoreError};
use crate::ports::Sessions;
use crate::telemetry::current::{Upstream, set_app};
use crate::telemetry::metrics;
use crate::usecases::{Authorize, Refusal};

/// What API Gateway sends a `REQUEST` authorizer (payload 2.0); only what we read.
/// `Debug` shows header names only: the values hold the bearer token.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerEvent {
    /// The request's headers, names lower-cased, repeated values joined with commas.
    #[serde(default)]
    pub headers: HashMap<String, String>,
    /// The values of the configured identity sources (`$request.header.Authorization`,
    /// then `$context.routeKey`, which keeps API Gateway's cache of answers per route).
    #[serde(default)]
    pub identity_source: Option<Vec<String>>,
    /// The route asked about (`GET /orders`), as the team's stack named it: which apps'
    /// sessions it accepts is bound to it.
    #[serde(default)]
    pub route_key: Option<String>,
}

impl std::fmt::Debug for AuthorizerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizerEvent")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field(
                "identity_source",
                &self.identity_source.as_ref().map(Vec::len),
            )
            .field("route_key", &self.route_key)
            .finish()
    }
}

impl AuthorizerEvent {
    /// The one `Authorization` value: the header, else the first identity source.
    fn authorization(&self) -> Option<&str> {
        let header = self
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.as_str());
        let identity_source = match self.identity_source.as_deref() {
            Some([authorization]) => Some(authorization.as_str()),
            Some([authorization, route]) if Some(route) == self.route_key.as_ref() => {
                Some(authorization.as_str())
            }
            _ => None,
        };
        header.or(identity_source)
    }
}

/// The simple response: `{"isAuthorized": true, "context": {…}}` or
/// `{"isAuthorized": false}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    /// Whether API Gateway lets the request through.
    pub is_authorized: bool,
    /// The caller, when authorized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Caller>,
}

impl AuthorizerResponse {
    const DENY: Self = Self {
        is_authorized: false,
        context: None,
    };
}

/// The `authorizer` binary.
pub const AUTHORIZER: Function = Function {
    name: "authorizer",
    path: None,
    outcome_metric: metrics::AUTHORIZATIONS,
    kind_dimension: None,
};

/// Decides one request: allow with the caller, deny, or the store failure that must fail
/// the invocation (API Gateway then answers 500 and lets nothing through).
pub async fn authorize<S: Sessions>(
    authorize: &Authorize<S>,
    event: &AuthorizerEvent,
) -> Result<AuthorizerResponse, StoreError> {
    // Everything checkable without I/O first: a malformed header costs no read.
    let Some(token) = event.authorization().and_then(parse_bearer) else {
        return Ok(AuthorizerResponse::DENY);
    };
    Ok(
        match authorize
            .for_route(&token, event.route_key.as_deref())
            .await?
        {
            Ok(live) => {
                set_app(&live.session.appid);
                AuthorizerResponse {
                    is_authorized: true,
                    context: Some(caller_of(&live)),
                }
            }
            Err(Refusal::WrongApp) => {
                // Said once per denial, naming the route (never the token): a team binding a
                // new route sees why its calls are refused.
                tracing::warn!(
                    route = event.route_key.as_deref().unwrap_or(""),
                    "a live session of an app this route is not bound to (AUTHORIZER_ROUTE_APPS)"
                );
                AuthorizerResponse::DENY
            }
            Err(Refusal::NoSession) => AuthorizerResponse::DENY,
        },
    )
}

/// The caller holding `live`, as the context tells the team's routes.
fn caller_of(live: &LiveSession) -> Caller {
    Caller {
        appid: live.session.appid.clone(),
        openid: live.session.openid.clone(),
        unionid: live.unionid().map(str::to_owned),
        phone_number: live.phone().map(|phone| phone.phone_number.clone()),
        phone_verified_by: live
            .bound_phone()
            .map(|phone| phone.verified_by.name().to_owned()),
        phone_verified_at: live.bound_phone().map(|phone| phone.verified_at),
        risk_rank: live.user.risk.map(|risk| risk.rank.value()),
    }
}

/// [`authorize`] as the runner's handler: the answer, or the invocation error for a
/// store failure (logged here in full; the runbook looks for this line).
pub async fn handle<S: Sessions>(
    authorizer: &Authorize<S>,
    event: LambdaEvent<AuthorizerEvent>,
) -> (Result<AuthorizerResponse, Diagnostic>, Ending) {
    let decided = authorize(authorizer, &event.payload).await;
    let (outcome, failed_upstream) = match &decided {
        Ok(response) if response.is_authorized => ("allow", None),
        Ok(_) => ("deny", None),
        Err(err) => {
            tracing::error!(error = %err, "DynamoDB call failed");
            ("error", Some(Upstream::Store))
        }
    };
    let ending = Ending {
        outcome,
        error_code: failed_upstream.map(|_| ApiError::StoreUnavailable.code()),
        failed_upstream,
        http: None,
    };
    (decided.map_err(|_| store_unavailable()), ending)
}

/// The invocation error for a store failure: API Gateway answers 500 and lets nothing
/// through.
fn store_unavailable() -> Diagnostic {
    Diagnostic {
        error_type: "StoreUnavailable".to_owned(),
        error_message: "the session store could not be read: request not authorized".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{MemoryTable, Twins};

    fn event(headers: &[(&str, &str)]) -> AuthorizerEvent {
        AuthorizerEvent {
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            identity_source: None,
            route_key: Some("GET /me".to_owned()),
        }
    }

    fn authorizer(twins: &Twins) -> Authorize<MemoryTable> {
        twins.authorize()
    }

    #[tokio::test]
    async fn a_live_token_is_allowed_with_the_caller_and_their_phone() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", Some("u1")).await;
        let bearer = format!("Bearer {}", token.expose());
        let answer = authorize(&authorizer(&twins), &event(&[("authorization", &bearer)]))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"isAuthorized": true, "context": {"appid": crate::testing::APPID, "openid": "o1", "unionid": "u1"}})
        );

        twins.bind_phone(&token, "13800138000").await;
        let calls_before = twins.table.calls();
        let answer = authorize(&authorizer(&twins), &event(&[("Authorization", &bearer)]))
            .await
            .unwrap();
        let caller = answer.context.unwrap();
        assert_eq!(caller.phone_number.as_deref(), Some("13800138000"));
        assert_eq!(caller.phone_verified_by.as_deref(), Some("code"));
        assert!(caller.phone_verified_at.is_some());
        assert_eq!(
            twins.table.calls(),
            calls_before + 1,
            "one store round trip per authorization, the phone included"
        );
    }

    #[tokio::test]
    async fn anything_else_is_denied_and_malformed_headers_cost_no_read() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", None).await;
        let calls_before = twins.table.calls();
        let good = token.expose().to_owned();
        let cases = [
            vec![],
            vec![("authorization", good.clone())],
            vec![("authorization", format!("Basic {good}"))],
            vec![("authorization", format!("Bearer {good}, Bearer {good}"))],
            vec![("authorization", format!("Bearer {}", &good[..42]))],
            vec![("authorization", format!("Bearer {good}x"))],
            vec![("authorization", "Bearer é".repeat(3))],
            vec![("authorization", format!("Bearer {}", "A".repeat(8192)))],
        ];
        for headers in cases {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let answer = authorize(&authorizer(&twins), &event(&headers))
                .await
                .unwrap();
            assert_eq!(answer, AuthorizerResponse::DENY, "{headers:?}");
        }
        assert_eq!(twins.table.calls(), calls_before);

        let unknown = format!("Bearer {}", crate::testing::unknown_token().expose());
        let answer = authorize(&authorizer(&twins), &event(&[("authorization", &unknown)]))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"isAuthorized": false})
        );
    }

    #[tokio::test]
    async fn a_store_failure_fails_the_invocation() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", None).await;
        twins.table.fail_next(1);
        let bearer = format!("Bearer {}", token.expose());
        assert!(
            authorize(&authorizer(&twins), &event(&[("authorization", &bearer)]))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn told_the_stacks_apps_it_lets_only_their_sessions_through() {
        let mut twins = Twins::new();
        let other = twins.with_app("wxfasttier0000002");
        let (code, _) = other.login("o2", None);
        let hint = crate::usecases::AppHint {
            named: Some("wxfasttier0000002"),
            referer: None,
        };
        let code = crate::domain::LoginCode::parse(&code).unwrap();
        let in_other = twins.login().login(hint, &code).await.unwrap().token;
        let (in_first, _) = twins.logged_in("o1", None).await;
        let bearer = |token: &SessionToken| format!("Bearer {}", token.expose());
        let decide = |served: Vec<String>, token: String| {
            let table = twins.table.clone();
            async move {
                authorize(
                    &Authorize::new(table, served),
                    &event(&[("authorization", &token)]),
                )
                .await
                .unwrap()
            }
        };
        let both = vec![
            crate::testing::APPID.to_owned(),
            "wxfasttier0000002".to_owned(),
        ];
        let answer = decide(both, bearer(&in_other)).await;
        assert_eq!(
            answer.context.map(|caller| caller.appid).as_deref(),
            Some("wxfasttier0000002")
        );
        let first_only = vec![crate::testing::APPID.to_owned()];
        assert_eq!(
            decide(first_only.clone(), bearer(&in_other)).await,
            AuthorizerResponse::DENY,
            "an app taken off the stack"
        );
        assert!(decide(first_only, bearer(&in_first)).await.is_authorized);
    }

    #[tokio::test]
    async fn a_route_bound_to_one_app_denies_another_apps_session() {
        let mut twins = Twins::new();
        let campaign = "wxfasttier0000002";
        let other = twins.with_app(campaign);
        let (code, _) = other.login("o2", Some("u1"));
        let hint = crate::usecases::AppHint {
            named: Some(campaign),
            referer: None,
        };
        let code = crate::domain::LoginCode::parse(&code).unwrap();
        let in_campaign = twins.login().login(hint, &code).await.unwrap().token;
        let served = vec![crate::testing::APPID.to_owned(), campaign.to_owned()];
        let routes = crate::domain::RouteApps::parse(
            &format!("GET /me={};*={campaign}", crate::testing::APPID),
            &served,
        )
        .unwrap();
        let authorizer = Authorize::new(twins.table.clone(), served).with_routes(routes);
        let bearer = format!("Bearer {}", in_campaign.expose());
        let mut on_route = event(&[("authorization", &bearer)]);
        assert_eq!(
            authorize(&authorizer, &on_route).await.unwrap(),
            AuthorizerResponse::DENY
        );
        on_route.route_key = Some("GET /campaign".to_owned());
        assert!(
            authorize(&authorizer, &on_route)
                .await
                .unwrap()
                .is_authorized
        );
    }

    #[test]
    fn the_identity_source_stands_in_for_a_missing_header() {
        let mut event = AuthorizerEvent {
            headers: HashMap::new(),
            identity_source: Some(vec!["Bearer x".into()]),
            route_key: None,
        };
        assert_eq!(event.authorization(), Some("Bearer x"));
        event.route_key = Some("GET /me".into());
        event.identity_source = Some(vec!["Bearer x".into(), "GET /me".into()]);
        assert_eq!(event.authorization(), Some("Bearer x"));
        event.identity_source = Some(vec!["Bearer x".into(), "Bearer x".into()]);
        assert_eq!(event.authorization(), None, "two values, neither the route");
    }
}
