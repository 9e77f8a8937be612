//! Everything that talks to, or knows about, the WeChat server API.

mod client;
mod code;
mod crypto;
mod errcode;

pub use client::{Code2Session, WeChatClient, WeChatError};
pub use code::{LoginCode, MAX_CODE_LEN};
pub use crypto::{
    Ciphertext, DecryptError, Iv, SessionKey, checksession_signature, decode_wechat_base64,
    decrypt_user_data, parse_encrypted, raw_data_signature_matches,
};
pub use errcode::Errcode;
