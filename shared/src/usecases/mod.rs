//! The use-cases: what each route does, generic over the [ports](crate::ports), returning
//! domain results and domain errors. Nothing here knows HTTP, DynamoDB or reqwest, so the
//! fast test tier runs every decision against the in-memory twins.

pub mod access_token;
pub mod account;
pub mod apps;
pub mod authorize;
pub mod login;
pub mod phone;
pub mod push;
pub mod session;

pub use access_token::AccessTokens;
pub use account::{AccountData, Accounts, Erased, QuotaUse};
pub use apps::{AppHint, Apps};
pub use authorize::Authorize;
pub use login::{LoggedIn, Login};
pub use phone::PhoneNumbers;
pub use push::{Handled, PushQuery, PushReceiver};
pub use session::SessionQueries;

use crate::domain::clock::now_epoch_millis;
use crate::domain::{LiveSession, SessionToken, StoreError};
use crate::ports::Sessions;

/// The live session behind a bearer token, with its user: `Ok(None)` when unknown, logged
/// out, revoked or expired.
async fn live_session<S: Sessions>(
    sessions: &S,
    token: &SessionToken,
) -> Result<Option<LiveSession>, StoreError> {
    sessions.get_session(token, now_epoch_millis()).await
}
