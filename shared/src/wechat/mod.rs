//! Everything that talks to, or knows about, the WeChat server API.

mod client;
mod code;
mod errcode;

pub use client::{Code2Session, WeChatClient, WeChatError};
pub use code::{LoginCode, MAX_CODE_LEN};
pub use errcode::Errcode;
