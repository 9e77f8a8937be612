//! The use-cases: what each route does, generic over the [ports](crate::ports), returning
//! domain results and domain errors. Nothing here knows HTTP, DynamoDB or reqwest, so the
//! fast test tier runs every decision against the in-memory twins.

pub mod access_token;
pub mod account;
pub mod apps;
pub mod authorize;
pub mod client_limit;
pub(crate) mod concurrently;
pub mod key_rotation;
pub mod login;
pub mod person;
pub mod phone;
pub mod phone_packs;
pub mod push;
pub mod risk_check;
pub mod session;
pub mod standard_token;

pub use access_token::AccessTokens;
pub use account::{AccountData, Accounts, Erased, QuotaUse};
pub use apps::{AppHint, Apps};
pub use authorize::{Authorize, Refusal};
pub use client_limit::ClientLimit;
pub use key_rotation::{KeyRotation, RotationError, RotationStep, StepDone};
pub use login::{LoggedIn, Login};
pub use person::{EndedInApp, end_sessions_in_every_app};
pub use phone::PhoneNumbers;
pub use phone_packs::{PackCheck, PackCheckError, PackFailure, PackReport, PhonePacks};
pub use push::{Handled, PushQuery, PushReceiver};
pub use risk_check::RiskCheck;
pub use session::SessionQueries;
pub use standard_token::{Discovery, IssuedToken, StandardTokens, TokenError};

use crate::domain::clock::{now_epoch_millis, now_epoch_seconds};
use crate::domain::{ListedSession, LiveSession, SessionToken, StoreError, UserKey};
use crate::ports::{Sessions, Users};

/// The live session behind a bearer token, with its user: `Ok(None)` when unknown, logged
/// out, revoked or expired.
async fn live_session<S: Sessions>(
    sessions: &S,
    token: &SessionToken,
) -> Result<Option<LiveSession>, StoreError> {
    sessions.get_session(token, now_epoch_millis()).await
}

/// [`live_session`] of an app in `served` (else `None`), its app then named in the
/// request's log line and metrics.
async fn served_live_session<S: Sessions>(
    sessions: &S,
    served: &[String],
    token: &SessionToken,
) -> Result<Option<LiveSession>, StoreError> {
    let live = live_session(sessions, token)
        .await?
        .filter(|live| served.contains(&live.session.appid));
    if let Some(live) = &live {
        crate::telemetry::current::set_app(&live.session.appid);
    }
    Ok(live)
}

/// Ends every session the user under `key` lists, in one write, then deletes their items
/// (left to an erasure or their expiry should that fail): how many of them were live.
async fn end_every_session<S: Sessions + Users>(
    store: &S,
    key: &UserKey,
) -> Result<usize, StoreError> {
    let ended = store.end_sessions(key).await?;
    if let Err(err) = delete_ended(store, key, &ended).await {
        tracing::warn!(error = %err, "ended sessions left for an erasure or their TTL");
    }
    let now = now_epoch_seconds();
    Ok(ended.iter().filter(|listed| listed.is_live_at(now)).count())
}

/// Deletes the items of sessions the user no longer lists (ended, so refused already),
/// then takes them off the user's ended list. Until both are done they stay on that list
/// for a later erasure, or their expiry, to finish.
async fn delete_ended<S: Sessions + Users>(
    store: &S,
    key: &UserKey,
    ended: &[ListedSession],
) -> Result<(), StoreError> {
    let hashes: Vec<_> = ended.iter().map(|listed| listed.token.clone()).collect();
    store.delete_sessions(&hashes).await?;
    store.forget_ended(key, ended).await
}
