//! The HTTP edge: API Gateway requests in, the API's responses out (docs/api.md).
//! Request parsing and bearer auth, the one table of errors and their statuses, responses,
//! one route per function, and the one runner every binary's `main` ends in (init, the
//! deadline, the log line, the metrics). The authorizer for the app's own routes lives
//! here too; the [`Caller`] those routes read is the `wxlogin-caller` crate's.

mod auth;
pub mod authorizer;
mod deadline;
mod error;
mod finish;
pub mod key_rotation;
pub mod phone_packs;
mod request;
mod response;
pub mod retention;
pub mod routes;
mod runner;
mod serve;

pub use auth::{bearer_token, parse_bearer};
use deadline::within_deadline;
pub use error::ApiError;
pub use finish::Ending;
pub use request::{
    MAX_BODY_BYTES, body_bytes, client_address, client_address_behind, json_body, referer_appid,
    source_ip, trust_edge_origin,
};
pub use response::{PlainText, REQUEST_ID_HEADER, Reply, error_response, json_response};
pub use runner::{Function, InitError, init, login_service, run, wechat_apps};
pub use serve::{Route, respond, run_http};
pub use wxlogin_caller::{Caller, MissingCaller};
