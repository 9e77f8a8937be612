//! wxlogin: the server side of WeChat mini-program login, as a library shared by the
//! Lambda functions under `functions/`.
//!
//! The layers, inside out (domain, ports and use-cases depend only on the ones before
//! them; adapters and the edge also use [`telemetry`] and [`config`]):
//! - [`domain`]: types that can only hold valid values and the rules about them
//!   (codes, tokens, sessions, phone numbers, what a WeChat answer means), no I/O;
//! - [`ports`]: the small traits the use-cases need from outside (sessions, code claims,
//!   the shared access token, WeChat);
//! - [`usecases`]: login, phone number, session — generic over the ports, returning domain
//!   results and domain errors, knowing nothing of HTTP;
//! - [`adapters`]: DynamoDB and WeChat behind those ports, on one AWS SDK setup;
//! - [`edge`]: where Lambda meets the use-cases — the one runner every binary's `main`
//!   ends in, the routes, the authorizer, request parsing, the API's error table, the
//!   deadline, the log line;
//! - [`telemetry`]: logs, metrics, and the record of the request being served (its
//!   upstream waits, kind and app).
//!
//! [`config`] reads the environment once at init, one parser per setting for every
//! function. With the `testing` feature, `testing` holds in-memory twins of every port,
//! the contract suites they share with the DynamoDB adapter, and `ServeHttp`, which drives
//! a route as its binary does. docs/architecture.md traces one request through the layers.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod edge;
pub mod ports;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod usecases;
