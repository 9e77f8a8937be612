//! Authorize: who holds a bearer token, for the app's own routes behind API Gateway's
//! Lambda authorizer. One store round trip (the session with its user), no WeChat call.

use super::live_session;
use crate::domain::{LiveSession, Session, SessionToken, StoreError};
use crate::ports::Sessions;

/// The authorize use-case over the sessions store, built once per instance.
pub struct Authorize<S> {
    sessions: S,
    /// The appids the stack serves, when the authorizer is told (the first is the app of
    /// sessions that did not record theirs); empty: sessions of any app.
    served: Vec<String>,
}

impl<S: Sessions> Authorize<S> {
    /// Authorization over `sessions`, for sessions of any app.
    pub fn new(sessions: S) -> Self {
        Self {
            sessions,
            served: Vec::new(),
        }
    }

    /// The same, vouching only for sessions of `appids` (an app taken off the stack
    /// stops being let through at once).
    pub fn serving(self, appids: Vec<String>) -> Self {
        Self {
            served: appids,
            ..self
        }
    }

    /// The live session behind `token`, with its user; `None` when unknown, logged out,
    /// revoked, expired, or of an app the stack does not serve. A store failure is an
    /// error, never a `None`: an authorizer must not deny (or allow) what it could not
    /// check.
    pub async fn caller(&self, token: &SessionToken) -> Result<Option<LiveSession>, StoreError> {
        let live = live_session(&self.sessions, token).await?;
        Ok(live.filter(|live| {
            self.served.is_empty()
                || live
                    .session
                    .appid
                    .as_ref()
                    .is_none_or(|appid| self.served.contains(appid))
        }))
    }

    /// The app of `session`: the one it recorded, else (stored before sessions recorded
    /// it) the stack's first app, when the authorizer knows it.
    pub fn appid_of<'a>(&'a self, session: &'a Session) -> Option<&'a str> {
        session
            .appid
            .as_deref()
            .or(self.served.first().map(String::as_str))
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
        let authorize = Authorize::new(twins.table.clone());
        let live = authorize.caller(&token).await.unwrap().unwrap();
        assert_eq!(live.session.openid, "o1");
        assert!(live.phone().is_none());

        twins.session_queries().logout(&token).await.unwrap();
        assert!(authorize.caller(&token).await.unwrap().is_none());
        assert!(
            authorize
                .caller(&SessionToken::generate().unwrap())
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
        assert!(
            Authorize::new(twins.table.clone())
                .caller(&token)
                .await
                .is_err()
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
        let authorize = Authorize::new(twins.table.clone());
        for token in [&first, &second] {
            assert!(authorize.caller(token).await.unwrap().is_none());
        }
        assert!(authorize.caller(&other_user).await.unwrap().is_some());
        // Sessions issued up to the revocation's millisecond are revoked: step past it.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let (after, _) = twins.logged_in("o1", None).await;
        assert!(
            authorize.caller(&after).await.unwrap().is_some(),
            "a later login works again"
        );
    }
}
