//! The black-box test tiers of wxlogin, one test binary each (docs/testing.md):
//! - `stack`: the routes and the adapters in process, on DynamoDB Local and the WeChat
//!   sandbox over HTTP (`tests/stack/`);
//! - `binaries`: the real function binaries under the Lambda Runtime API emulator
//!   (`tests/binaries/`).
//!
//! This library is empty: the crate exists for its tests.
