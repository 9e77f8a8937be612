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
//! - [`adapters`]: DynamoDB and WeChat behind those ports;
//! - [`edge`]: the HTTP edge — request parsing, bearer auth, the API's error table,
//!   responses, the function runner and its deadline, the log line;
//! - [`telemetry`]: logs, metrics, and the per-request upstream timings the adapters record.
//!
//! [`config`] reads the environment once at init. With the `testing` feature, [`testing`]
//! holds in-memory twins of every port and the contract suites they share with the
//! DynamoDB adapter.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod edge;
pub mod ports;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod usecases;
