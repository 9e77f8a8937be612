//! Sessions: the opaque token handed to the mini-program and the DynamoDB store behind it.

mod access_token_item;
mod dynamodb;
mod store;
mod token;

pub use access_token_item::CachedAccessToken;
pub use dynamodb::{connect, tuned_config_loader};
pub use store::{CODE_CLAIM_TTL_SECONDS, ClaimError, CodeClaim, Session, SessionStore, StoreError};
pub use token::{SessionToken, TokenHash};
