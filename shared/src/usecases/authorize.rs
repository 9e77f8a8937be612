//! Authorize: who holds a bearer token, for the app's own routes behind API Gateway's
//! Lambda authorizer. One store round trip (the session with its user), no WeChat call.

use super::live_session;
use crate::domain::{LiveSession, RouteApps, SessionToken, StoreError};
use crate::ports::Sessions;

/// The authorize use-case over the sessions store, built once per instance.
pub struct Authorize<S> {
    sessions: S,
    /// The appids the stack serves: a session of any other app is not let through.
    served: Vec<String>,
    /// Which of them each route accepts.
    routes: RouteApps,
}

/// Why a request is refused although its token may be live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, logged out, expired, erased, or of an app the stack does not serve.
    NoSession,
    /// A live session of an app the route is not bound to.
    WrongApp,
}

impl<S: Sessions> Authorize<S> {
    /// Authorization over `sessions`, vouching only for sessions of `served` (an app
    /// taken off the stack stops being let through at once), on every route alike.
    pub fn new(sessions: S, served: Vec<String>) -> Self {
        Self {
            routes: RouteApps::every_route(served.clone()),
            sessions,
            served,
        }
    }

    /// The same, each route accepting only the apps `routes` binds it to.
    pub fn with_routes(self, routes: RouteApps) -> Self {
        Self { routes, ..self }
    }

    /// The live session behind `token`, with its user; `None` when unknown, logged out,
    /// revoked, expired, or of an app the stack does not serve. A store failure is an
    /// error, never a `None`: an authorizer must not deny (or allow) what it could not
    /// check.
    pub async fn live_session(
        &self,
        token: &SessionToken,
    ) -> Result<Option<LiveSession>, StoreError> {
        let live = live_session(&self.sessions, token).await?;
        Ok(live.filter(|live| self.served.contains(&live.session.appid)))
    }

    /// [`live_session`](Self::live_session) for a request to `route_key`: refused when
    /// the route is not bound to the session's app.
    pub async fn for_route(
        &self,
        token: &SessionToken,
        route_key: Option<&str>,
    ) -> Result<Result<LiveSession, Refusal>, StoreError> {
        Ok(match self.live_session(token).await? {
            None => Err(Refusal::NoSession),
            Some(live) if self.routes.accepts(route_key, &live.session.appid) => Ok(live),
            Some(_) => Err(Refusal::WrongApp),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Twins;

    #[tokio::test]
    async fn a_live_token_names_its_user_and_phone_and_a_dead_one_nobody() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", Some("u1")).await;
        let authorize = twins.authorize();
        let live = authorize.live_session(&token).await.unwrap().unwrap();
        assert_eq!(live.session.openid, "o1");
        assert!(live.phone().is_none());

        twins.session_queries().logout(&token).await.unwrap();
        assert!(authorize.live_session(&token).await.unwrap().is_none());
        assert!(
            authorize
                .live_session(&crate::testing::unknown_token())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_store_failure_is_an_error_not_a_denial() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", None).await;
        twins.table.fail_next(1);
        assert!(twins.authorize().live_session(&token).await.is_err());
    }

    #[tokio::test]
    async fn a_route_bound_to_one_app_refuses_another_apps_live_session() {
        let mut twins = Twins::new();
        let brand = crate::testing::APPID.to_owned();
        let campaign = "wxfasttier0000002";
        let other = twins.with_app(campaign);
        let (code, _) = other.login("victim", Some("union-1"));
        let hint = crate::usecases::AppHint {
            named: Some(campaign),
            referer: None,
        };
        let code = crate::domain::LoginCode::parse(&code).unwrap();
        let in_campaign = twins.login().login(hint, &code).await.unwrap().token;
        let (in_brand, _) = twins.logged_in("victim-in-brand", Some("union-1")).await;
        let routes = RouteApps::parse(
            &format!("GET /orders={brand};*={brand},{campaign}"),
            &[brand.clone(), campaign.to_owned()],
        )
        .unwrap();
        let authorize = twins.authorize().with_routes(routes);
        let decide = async |token, route| authorize.for_route(token, route).await.unwrap();
        assert_eq!(
            decide(&in_campaign, Some("GET /orders")).await.err(),
            Some(Refusal::WrongApp),
            "a campaign session on a brand route, the same unionid or not"
        );
        assert!(decide(&in_brand, Some("GET /orders")).await.is_ok());
        assert!(decide(&in_campaign, Some("GET /me")).await.is_ok());
        assert_eq!(
            decide(&crate::testing::unknown_token(), Some("GET /me"))
                .await
                .err(),
            Some(Refusal::NoSession)
        );
    }

    #[tokio::test]
    async fn logging_out_everywhere_ends_every_token_of_the_user() {
        let twins = Twins::new();
        let (first, _) = twins.logged_in("o1", None).await;
        let (second, _) = twins.logged_in("o1", None).await;
        let (other_user, _) = twins.logged_in("o2", None).await;
        let ended = twins
            .session_queries()
            .logout_everywhere(&second)
            .await
            .unwrap();
        assert_eq!(ended, 2);
        let authorize = twins.authorize();
        for token in [&first, &second] {
            assert!(authorize.live_session(token).await.unwrap().is_none());
        }
        assert!(authorize.live_session(&other_user).await.unwrap().is_some());
        // Sessions issued up to the revocation's millisecond are revoked: step past it.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let (after, _) = twins.logged_in("o1", None).await;
        assert!(
            authorize.live_session(&after).await.unwrap().is_some(),
            "a later login works again"
        );
    }
}
