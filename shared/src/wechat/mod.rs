//! Everything that talks to, or knows about, the WeChat server API.

mod client;
mod code;
mod code2session;
mod crypto;
mod errcode;
mod phone_api;
mod phone_number;

pub use client::{ClientBuildError, WeChatClient, WeChatError};
pub use code::{LoginCode, MAX_CODE_LEN, PhoneCode};
pub use code2session::Code2Session;
pub use crypto::{
    Ciphertext, DecryptError, Iv, SessionKey, checksession_signature, decode_wechat_base64,
    decrypt_user_data, parse_encrypted, raw_data_signature_matches,
};
pub use errcode::Errcode;
pub use phone_api::{AccessToken, FreshAccessToken};
pub use phone_number::PhoneNumber;
