//! The HTTP edge: the contract's error table, request parsing, responses.

mod auth;
mod error;
mod outcome;
mod request;
mod response;

pub use auth::{bearer_token, live_session};
pub use error::ApiError;
pub use outcome::{RouteInfo, Timings, Upstream, finish, within_deadline};
pub use request::{MAX_BODY_BYTES, json_body, request_id};
pub use response::{REQUEST_ID_HEADER, error_response, json_response};
