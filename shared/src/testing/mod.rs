//! In-memory twins of every port, for the fast test tier (no Java, no DynamoDB Local, no
//! sandbox), and the contract suites each store port must pass — run against the twin in
//! this crate's tests and against the DynamoDB adapter on DynamoDB Local in
//! `tests/stack/store_contract.rs`, so the twin cannot drift from the real thing.
//!
//! Compiled for this crate's tests and behind the `testing` feature (the devkit turns it
//! on); the functions never call it, and `sam build` builds each function on its own,
//! so no deployed binary carries it.

pub mod contract;
mod fake_wechat;
mod memory_table;
pub mod pushes;
mod requests;
mod routes;
mod sealed_data;
mod signing_keys;
mod twins;
pub mod wechat_contract;

pub use fake_wechat::{FakeWeChat, WeChatApi};
pub use memory_table::MemoryTable;
pub use requests::{bearer_request, post, post_with_bearer, push_request, with_query};
pub use routes::ServeHttp;
pub use sealed_data::seal;
pub use signing_keys::{MemoryKeyRing, MemoryKeyRingVersions};
pub use twins::{
    APPID, SESSION_TTL, TEST_PUSH_AES_KEY, TEST_PUSH_TOKEN, TEST_STACK_KEY, Twins, answer,
    push_keys, stack_key, unknown_token, user_key,
};
