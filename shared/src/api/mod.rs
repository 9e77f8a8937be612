//! The HTTP edge: the contract's error table, request parsing, responses.

mod error;
mod request;
mod response;

pub use error::ApiError;
pub use request::{MAX_BODY_BYTES, json_body, request_id};
pub use response::{error_response, json_response};
