//! One person across the stack's apps: WeChat gives them one unionid over the apps of one
//! Open Platform account, and wxlogin one user per app. Ending their sessions in every app
//! is an operator's act (`wxlogin-admin logout --unionid`): a session of one app must not
//! reach into another's (docs/integration.md).

use super::end_every_session;
use crate::domain::StoreError;
use crate::ports::{Sessions, UserDirectory, Users};

/// The sessions ended in one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedInApp {
    /// The app.
    pub appid: String,
    /// Its sessions that were live and are ended now.
    pub sessions: usize,
}

/// Ends every session of the person with `unionid`, in every app of the stack, as log
/// out everywhere does in one: the user items stay, their sessions are refused at once,
/// then their items deleted (left to an erasure or their expiry should that fail).
pub async fn end_sessions_in_every_app<S: Sessions + Users + UserDirectory>(
    store: &S,
    unionid: &str,
) -> Result<Vec<EndedInApp>, StoreError> {
    let mut ended_in_apps = Vec::new();
    for key in store.users_with_unionid(unionid).await? {
        let Some(user) = store.user(&key).await? else {
            continue;
        };
        ended_in_apps.push(EndedInApp {
            appid: user.appid,
            sessions: end_every_session(store, &key).await?,
        });
    }
    Ok(ended_in_apps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Twins;
    use crate::usecases::AppHint;

    #[tokio::test]
    async fn ends_the_persons_sessions_in_every_app_and_nobody_elses() {
        let mut twins = Twins::new();
        let campaign = "wxfasttier0000002";
        let other = twins.with_app(campaign);
        let (code, _) = other.login("o-campaign", Some("u1"));
        let hint = AppHint {
            named: Some(campaign),
            referer: None,
        };
        let code = crate::domain::LoginCode::parse(&code).unwrap();
        let in_campaign = twins.login().login(hint, &code).await.unwrap().token;
        let (in_brand, _) = twins.logged_in("o-brand", Some("u1")).await;
        let (again_in_brand, _) = twins.logged_in("o-brand", Some("u1")).await;
        let (someone_else, _) = twins.logged_in("o-other", Some("u2")).await;

        let mut ended = end_sessions_in_every_app(&twins.table, "u1").await.unwrap();
        ended.sort_by(|a, b| a.appid.cmp(&b.appid));
        assert_eq!(
            ended,
            [
                EndedInApp {
                    appid: crate::testing::APPID.to_owned(),
                    sessions: 2
                },
                EndedInApp {
                    appid: campaign.to_owned(),
                    sessions: 1
                },
            ]
        );
        let authorize = twins.authorize();
        for token in [&in_campaign, &in_brand, &again_in_brand] {
            assert!(authorize.live_session(token).await.unwrap().is_none());
        }
        assert!(
            authorize
                .live_session(&someone_else)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            end_sessions_in_every_app(&twins.table, "u-nobody")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
