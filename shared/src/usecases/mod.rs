//! The use-cases: what each route does, generic over the [ports](crate::ports), returning
//! domain results and domain errors. Nothing here knows HTTP, DynamoDB or reqwest, so the
//! fast test tier runs every decision against the in-memory twins.

pub mod access_token;
pub mod login;
pub mod phone;
pub mod session;

pub use access_token::AccessTokens;
pub use login::{LoggedIn, Login};
pub use phone::PhoneNumbers;
pub use session::SessionQueries;

use crate::domain::clock::now_epoch_seconds;
use crate::domain::{Session, SessionToken, StoreError};
use crate::ports::Sessions;

/// The live session behind a bearer token: `Ok(None)` when unknown, logged out or expired.
async fn live_session<S: Sessions>(
    sessions: &S,
    token: &SessionToken,
) -> Result<Option<Session>, StoreError> {
    sessions
        .get_session(&token.hash(), now_epoch_seconds())
        .await
}
