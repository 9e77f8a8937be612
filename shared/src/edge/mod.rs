//! The HTTP edge: API Gateway requests in, the contract's responses out (docs/api.md).
//! Request parsing and bearer auth, the one table of errors and their statuses, responses,
//! one route per function, and the runner every binary's `main` calls (the deadline, the
//! log line, the metrics). The authorizer for the app's own routes, and the [`Caller`]
//! those routes read, live here too.

mod auth;
pub mod authorizer;
mod caller;
mod deadline;
mod error;
mod finish;
mod function;
mod request;
mod response;
pub mod routes;

pub use auth::{bearer_token, parse_bearer};
pub use caller::{Caller, MissingCaller};
pub use deadline::within_deadline;
pub use error::ApiError;
pub use finish::{RouteInfo, finish};
pub use function::{
    FromConfig, HttpFunction, InitError, production_adapters, run_function, wechat_apps,
};
pub use request::{MAX_BODY_BYTES, json_body, referer_appid, request_id};
pub use response::{REQUEST_ID_HEADER, error_response, json_response};
