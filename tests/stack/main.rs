//! The stack tier: each route through its handler, in process, and each adapter, against
//! real DynamoDB Local and the WeChat sandbox over HTTP (one fresh table and sandbox per
//! test, so tests run in parallel). Where a new test goes: docs/testing.md.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod bad_input;
mod key_ring_contract;
mod login;
mod login_race;
mod phone;
mod readme_answers;
mod risk_and_realtime;
mod session;
mod several_apps;
mod store_contract;
mod template_metrics;
mod wechat_client;
mod wechat_events;
