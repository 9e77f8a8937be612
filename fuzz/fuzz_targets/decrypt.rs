//! Arbitrary encryptedData / iv / session_key through the strict decrypt path: never a
//! panic, and nothing accepted without our appid in the watermark.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxlogin::domain::SessionKey;
use wxlogin::domain::wechat_crypto::{decrypt_user_data, parse_encrypted};

fuzz_target!(|input: (String, String, String)| {
    let (encrypted_data, iv, session_key) = input;
    let Ok((ciphertext, iv)) = parse_encrypted(&encrypted_data, &iv) else {
        return;
    };
    let Some(key) = SessionKey::from_base64(&session_key) else {
        return;
    };
    if let Ok(value) = decrypt_user_data(&key, &iv, &ciphertext, "wxfuzz") {
        assert_eq!(value["watermark"]["appid"], "wxfuzz");
    }
});
