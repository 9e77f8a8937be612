//! What WeChat's client does to user data before a mini-program sends it: AES-128-CBC with
//! PKCS#7 under the user's session_key (docs/wechat.md, "Encrypted data"), so the fast tier
//! can make legacy getPhoneNumber payloads for any key.

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// `(encryptedData, iv)` as base64, `data` sealed under `session_key` (base64 of 16 bytes).
///
/// # Panics
/// If `session_key` is not base64 of 16 bytes: a test's own mistake.
pub fn seal(session_key: &str, data: &Value) -> (String, String) {
    let key: [u8; 16] = STANDARD
        .decode(session_key)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .unwrap_or_else(|| panic!("a session_key is base64 of 16 bytes"));
    let iv = [7u8; 16];
    let ciphertext = cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into())
        .encrypt_padded_vec::<Pkcs7>(data.to_string().as_bytes());
    (STANDARD.encode(ciphertext), STANDARD.encode(iv))
}
