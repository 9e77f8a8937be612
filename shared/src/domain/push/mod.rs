//! WeChat's message push (消息推送): the signatures and encryption that prove a push
//! came from WeChat for this app, and the user-data events it carries.

pub mod crypto;
pub mod message;

pub use crypto::{PushCryptoError, PushKeys};
pub use message::{MessageError, PushEvent, PushFields, PushFormat, REVOKED_PHONE_NUMBER};
