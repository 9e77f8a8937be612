//! The `authorizer` function: an API Gateway HTTP API Lambda authorizer (payload format
//! 2.0, simple responses) for the app's own routes. A live bearer token is allowed, with
//! the caller in the context; anything else is denied; a store failure fails the
//! invocation (API Gateway answers 500), so nothing is let through unchecked.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};

use super::auth::parse_bearer;
use super::{Caller, InitError};
use crate::adapters::dynamodb::{self, DynamoTable};
use crate::config::{served_appids_from_env, sessions_table_from_env};
#[cfg(test)]
use crate::domain::SessionToken;
use crate::domain::StoreError;
use crate::ports::Sessions;
use crate::telemetry::metrics;
use crate::telemetry::timings::{Timings, Upstream};
use crate::usecases::Authorize;

/// The function's name, in logs and metrics.
pub const NAME: &str = "authorizer";

/// What API Gateway sends a `REQUEST` authorizer (payload 2.0); only what we read.
/// `Debug` shows header names only: the values hold the bearer token.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerEvent {
    /// The request's headers, names lower-cased, repeated values joined with commas.
    #[serde(default)]
    pub headers: HashMap<String, String>,
    /// The values of the configured identity sources (`$request.header.Authorization`).
    #[serde(default)]
    pub identity_source: Option<Vec<String>>,
}

impl std::fmt::Debug for AuthorizerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizerEvent")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field(
                "identity_source",
                &self.identity_source.as_ref().map(Vec::len),
            )
            .finish()
    }
}

impl AuthorizerEvent {
    /// The one `Authorization` value: the header, else the identity source.
    fn authorization(&self) -> Option<&str> {
        let header = self
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.as_str());
        let identity_source = match self.identity_source.as_deref() {
            Some([single]) => Some(single.as_str()),
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

/// The authorizer over any sessions store.
pub struct AuthorizerFunction<S> {
    authorize: Authorize<S>,
}

impl<S: Sessions> AuthorizerFunction<S> {
    /// The authorizer over an authorize use-case.
    pub fn new(authorize: Authorize<S>) -> Self {
        Self { authorize }
    }

    /// Decides one request: its answer, or the store failure that must fail the
    /// invocation. Logs one line and records the metrics either way.
    pub async fn handle(&self, event: &AuthorizerEvent) -> Result<AuthorizerResponse, StoreError> {
        let started = Instant::now();
        let timings = Arc::new(Timings::default());
        let decided = timings.scope(self.decide(event)).await;
        let outcome = match &decided {
            Ok(response) if response.is_authorized => "allow",
            Ok(_) => "deny",
            Err(_) => "error",
        };
        if let Err(err) = &decided {
            // As every function logs a store failure: the runbook looks for this line.
            tracing::error!(error = %err, "DynamoDB call failed");
        }
        let store = timings.total(Upstream::Store);
        let appid = decided
            .as_ref()
            .ok()
            .and_then(|response| response.context.as_ref())
            .and_then(|caller| caller.appid.as_deref());
        tracing::info!(
            function = NAME,
            outcome,
            appid,
            error = decided.as_ref().err().map(tracing::field::display),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            store_ms = store.as_secs_f64() * 1000.0,
            "authorization done"
        );
        metrics::record_authorization(outcome, store);
        metrics::flush();
        decided
    }

    async fn decide(&self, event: &AuthorizerEvent) -> Result<AuthorizerResponse, StoreError> {
        // Everything checkable without I/O first: a malformed header costs no read.
        let Some(token) = event.authorization().and_then(parse_bearer) else {
            return Ok(AuthorizerResponse::DENY);
        };
        Ok(match self.authorize.caller(&token).await? {
            Some(live) => {
                let appid = self.authorize.appid_of(&live.session).map(str::to_owned);
                AuthorizerResponse {
                    is_authorized: true,
                    context: Some(Caller::new(appid.as_deref(), live)),
                }
            }
            None => AuthorizerResponse::DENY,
        })
    }
}

/// The whole of the `authorizer` binary's `main`.
pub async fn run_authorizer() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init(NAME);
    let function = match build().await {
        Ok(function) => function,
        Err(err) => {
            tracing::error!(function = NAME, error = %err, "init failed");
            return Err(err.into());
        }
    };
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<AuthorizerEvent>| async move {
            function
                .handle(&event.payload)
                .await
                .map_err(|_| store_unavailable())
        },
    ))
    .await
}

/// The invocation error for a store failure (logged in full by `handle`): API Gateway
/// answers 500 and lets nothing through.
fn store_unavailable() -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: "StoreUnavailable".to_owned(),
        error_message: "the session store could not be read: request not authorized".to_owned(),
    }
}

/// The table, and the appids served when given: the authorizer never talks to WeChat,
/// so it gets no AppSecret.
async fn build() -> Result<AuthorizerFunction<DynamoTable>, InitError> {
    let table = sessions_table_from_env()?;
    let served = served_appids_from_env()?;
    let table = DynamoTable::new(dynamodb::connect().await, table);
    let authorize = Authorize::new(table);
    Ok(AuthorizerFunction::new(match served {
        Some(appids) => authorize.serving(appids),
        None => authorize,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{BoundPhone, PhoneNumber, PhoneVerification};
    use crate::ports::Users;
    use crate::testing::{MemoryTable, Twins};

    fn event(headers: &[(&str, &str)]) -> AuthorizerEvent {
        AuthorizerEvent {
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            identity_source: None,
        }
    }

    fn authorizer(twins: &Twins) -> AuthorizerFunction<MemoryTable> {
        AuthorizerFunction::new(Authorize::new(twins.table.clone()))
    }

    #[tokio::test]
    async fn a_live_token_is_allowed_with_the_caller_and_their_phone() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", Some("u1")).await;
        let bearer = format!("Bearer {}", token.expose());
        let answer = authorizer(&twins)
            .handle(&event(&[("authorization", &bearer)]))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"isAuthorized": true, "context": {"appid": crate::testing::APPID, "openid": "o1", "unionid": "u1"}})
        );

        let phone = BoundPhone {
            number: PhoneNumber {
                phone_number: "13800138000".into(),
                pure_phone_number: "13800138000".into(),
                country_code: "86".into(),
            },
            verified_at: 1,
            verified_by: PhoneVerification::Code,
        };
        twins
            .table
            .bind_phone(&token.user_key(), "o1", &phone)
            .await
            .unwrap();
        let calls_before = twins.table.calls();
        let answer = authorizer(&twins)
            .handle(&event(&[("Authorization", &bearer)]))
            .await
            .unwrap();
        assert_eq!(
            answer.context.unwrap().phone_number.as_deref(),
            Some("13800138000")
        );
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
            let answer = authorizer(&twins).handle(&event(&headers)).await.unwrap();
            assert_eq!(answer, AuthorizerResponse::DENY, "{headers:?}");
        }
        assert_eq!(twins.table.calls(), calls_before);

        let unknown = format!("Bearer {}", SessionToken::generate().unwrap().expose());
        let answer = authorizer(&twins)
            .handle(&event(&[("authorization", &unknown)]))
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
            authorizer(&twins)
                .handle(&event(&[("authorization", &bearer)]))
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
                AuthorizerFunction::new(Authorize::new(table).serving(served))
                    .handle(&event(&[("authorization", &token)]))
                    .await
                    .unwrap()
            }
        };
        let both = vec![
            crate::testing::APPID.to_owned(),
            "wxfasttier0000002".to_owned(),
        ];
        let answer = decide(both.clone(), bearer(&in_other)).await;
        assert_eq!(
            answer.context.and_then(|caller| caller.appid).as_deref(),
            Some("wxfasttier0000002")
        );
        let first_only = vec![crate::testing::APPID.to_owned()];
        assert_eq!(
            decide(first_only.clone(), bearer(&in_other)).await,
            AuthorizerResponse::DENY,
            "an app taken off the stack"
        );
        assert!(decide(first_only, bearer(&in_first)).await.is_authorized);

        // A session stored before sessions recorded their app, of a user who has not
        // logged in since: the first app served.
        let legacy = SessionToken::issue(&crate::domain::UserKey::of("o9")).unwrap();
        let mut session = crate::domain::Session::start(
            crate::testing::APPID,
            crate::domain::WeChatLogin {
                openid: "o9".into(),
                unionid: None,
                session_key: "k".to_owned().into(),
            },
            crate::domain::clock::now_epoch_millis(),
            crate::testing::SESSION_TTL,
        );
        session.appid = None;
        twins
            .table
            .put_session(&legacy.hash(), &session)
            .await
            .unwrap();
        let answer = decide(both, bearer(&legacy)).await;
        assert_eq!(
            answer.context.and_then(|caller| caller.appid).as_deref(),
            Some(crate::testing::APPID)
        );
        let answer = decide(Vec::new(), bearer(&legacy)).await;
        assert_eq!(
            answer.context.map(|caller| caller.appid),
            Some(None),
            "told no appids, it says none rather than guess"
        );
    }

    #[test]
    fn the_identity_source_stands_in_for_a_missing_header() {
        let event = AuthorizerEvent {
            headers: HashMap::new(),
            identity_source: Some(vec!["Bearer x".into()]),
        };
        assert_eq!(event.authorization(), Some("Bearer x"));
    }
}
