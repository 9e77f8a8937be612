//! wxlogin: the server side of WeChat mini-program login, as a library shared by the
//! Lambda functions under `functions/`.
//!
//! One module a job: [`config`] reads the environment once at init, [`wechat`] talks to
//! api.weixin.qq.com, [`session`] owns tokens and the DynamoDB store, [`api`] is the HTTP
//! edge (request parsing, the error table, responses), and one module per handler
//! ([`login`], [`phone`], [`session_route`]).

pub mod access_token;
pub mod api;
pub mod clock;
pub mod config;
pub mod function;
pub mod login;
pub mod phone;
pub mod session;
pub mod session_route;
pub mod telemetry;
pub mod wechat;
