//! The binaries tier: the real function binaries (debug builds) under the Lambda Runtime
//! API emulator, fed API Gateway events, their output searched for secrets. Where a new
//! test goes: docs/testing.md.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod admin;
mod app_secret;
mod authorizer;
mod decrypt_phone;
mod events_replay;
mod fleet;
mod forced_refresh;
mod onlogin;
mod phone_packs;
mod retention;
mod session;
mod token;
mod wechat_events;

use std::path::Path;

/// The debug build of the workspace binary `name`, beside this test executable. `make
/// test` builds every binary first; by hand, run `cargo build --workspace` before
/// `cargo nextest run -p wxlogin-tests --test binaries`.
pub fn function_binary(name: &str) -> &'static Path {
    let path =
        devkit::function_process::workspace_binary(name).unwrap_or_else(|err| panic!("{err:#}"));
    // A handful of short paths per test process, kept for its whole life.
    Box::leak(path.into_boxed_path())
}
