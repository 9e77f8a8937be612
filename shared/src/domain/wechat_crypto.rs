//! WeChat's user-data cryptography: AES-128-CBC/PKCS#7 `encryptedData`, the `rawData`
//! signature and the checksession signature (docs/wechat.md, "Encrypted data").
//!
//! Inputs are parsed into types that can only hold valid lengths ([`SessionKey`], [`Iv`],
//! [`Ciphertext`]), so decryption never sees a short key (a zero-padded key would decrypt
//! garbage instead of failing).

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const BLOCK: usize = 16;

/// Why `encryptedData` could not be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// A base64 field is malformed or decodes to the wrong length: the client sent garbage.
    #[error("{0}")]
    BadInput(&'static str),
    /// Padding, JSON or watermark failed: the data was made with another key (the user
    /// logged in again since) or for another app, or it was tampered with.
    #[error("the data does not decrypt to this app's JSON with this session_key")]
    KeyMismatch,
}

/// Decodes standard, padded base64 (WeChat's alphabet). A `+` that arrived as a space —
/// a form-encoding accident in clients — is repaired: a space is never valid base64, so
/// the repair cannot change the meaning of well-formed input. Anything else off-alphabet
/// is rejected.
pub fn decode_wechat_base64(text: &str) -> Option<Vec<u8>> {
    let repaired = text.replace(' ', "+");
    STANDARD.decode(repaired).ok()
}

/// A user's session_key: exactly 16 bytes once base64-decoded.
pub struct SessionKey([u8; BLOCK]);

impl SessionKey {
    /// Parses the base64 text WeChat gave at login.
    pub fn from_base64(text: &str) -> Option<Self> {
        decode_wechat_base64(text)?.try_into().ok().map(Self)
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey([REDACTED])")
    }
}

/// An initialisation vector: exactly 16 bytes.
#[derive(Debug, Clone, Copy)]
pub struct Iv([u8; BLOCK]);

impl Iv {
    /// Parses the `iv` field.
    pub fn from_base64(text: &str) -> Option<Self> {
        decode_wechat_base64(text)?.try_into().ok().map(Self)
    }
}

/// `encryptedData`: a non-empty whole number of AES blocks.
#[derive(Debug, Clone)]
pub struct Ciphertext(Vec<u8>);

impl Ciphertext {
    /// Parses the `encryptedData` field.
    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = decode_wechat_base64(text)?;
        (!bytes.is_empty() && bytes.len() % BLOCK == 0).then_some(Self(bytes))
    }
}

/// Parses the three base64 inputs, saying which one is wrong.
pub fn parse_encrypted(encrypted_data: &str, iv: &str) -> Result<(Ciphertext, Iv), DecryptError> {
    let ciphertext = Ciphertext::from_base64(encrypted_data).ok_or(DecryptError::BadInput(
        "encryptedData must be standard base64 of a non-empty multiple of 16 bytes",
    ))?;
    let iv = Iv::from_base64(iv).ok_or(DecryptError::BadInput(
        "iv must be standard base64 of exactly 16 bytes",
    ))?;
    Ok((ciphertext, iv))
}

/// Decrypts `encryptedData` and returns its JSON object once `watermark.appid` is `appid`.
///
/// This is the generic primitive (userInfo, phone number, share info, ...). A wrong key
/// still passes PKCS#7 about 1 time in 256, so the watermark is the real check.
pub fn decrypt_user_data(
    key: &SessionKey,
    iv: &Iv,
    ciphertext: &Ciphertext,
    appid: &str,
) -> Result<Value, DecryptError> {
    let plaintext = cbc::Decryptor::<Aes128>::new(&key.0.into(), &iv.0.into())
        .decrypt_padded_vec::<Pkcs7>(&ciphertext.0)
        .map_err(|_| DecryptError::KeyMismatch)?;
    let value: Value = serde_json::from_slice(&plaintext).map_err(|_| DecryptError::KeyMismatch)?;
    let watermark_appid = value
        .get("watermark")
        .and_then(|watermark| watermark.get("appid"))
        .and_then(Value::as_str);
    if value.is_object() && watermark_appid == Some(appid) {
        Ok(value)
    } else {
        Err(DecryptError::KeyMismatch)
    }
}

/// Checks userInfo's `signature == hex(sha1(rawData + session_key))` in constant time.
/// `session_key` is the base64 text as WeChat gave it.
pub fn raw_data_signature_matches(raw_data: &str, session_key: &str, signature: &str) -> bool {
    let mut hasher = Sha1::new();
    hasher.update(raw_data.as_bytes());
    hasher.update(session_key.as_bytes());
    let expected = hex::encode(hasher.finalize());
    let given = signature.to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// The `signature` for `GET /wxa/checksession`: `hex(hmac_sha256(key = session_key text, ""))`.
pub fn checksession_signature(session_key: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(session_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(b"");
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // WeChat's published demo vector (docs/wechat.md, "Test vectors").
    const DEMO_APPID: &str = "wx4f4bc4dec97d474b";
    const DEMO_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
    const DEMO_IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
    const DEMO_DATA: &str = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==";

    fn demo() -> (SessionKey, Iv, Ciphertext) {
        let (ciphertext, iv) = parse_encrypted(DEMO_DATA, DEMO_IV).unwrap();
        (SessionKey::from_base64(DEMO_KEY).unwrap(), iv, ciphertext)
    }

    #[test]
    fn wechat_demo_vector_decrypts_to_the_published_user_info() {
        let (key, iv, ciphertext) = demo();
        let info = decrypt_user_data(&key, &iv, &ciphertext, DEMO_APPID).unwrap();
        assert_eq!(info["openId"], "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
        assert_eq!(info["nickName"], "Band");
        assert_eq!(info["unionId"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
        assert_eq!(info["watermark"]["timestamp"], 1_477_314_187);
        assert_eq!(info["watermark"]["appid"], DEMO_APPID);
    }

    #[test]
    fn another_appid_is_a_mismatch() {
        let (key, iv, ciphertext) = demo();
        assert_eq!(
            decrypt_user_data(&key, &iv, &ciphertext, "wx0000000000000000").unwrap_err(),
            DecryptError::KeyMismatch
        );
    }

    #[test]
    fn another_key_is_a_mismatch_never_garbage() {
        let (_, iv, ciphertext) = demo();
        for byte in 0..=255u8 {
            let key = SessionKey([byte; 16]);
            assert_eq!(
                decrypt_user_data(&key, &iv, &ciphertext, DEMO_APPID).unwrap_err(),
                DecryptError::KeyMismatch
            );
        }
    }

    #[test]
    fn every_single_byte_flip_is_rejected() {
        let (key, iv, ciphertext) = demo();
        for position in 0..ciphertext.0.len() {
            for mask in [0x01, 0x80, 0xff] {
                let mut tampered = ciphertext.clone();
                tampered.0[position] ^= mask;
                assert!(
                    decrypt_user_data(&key, &iv, &tampered, DEMO_APPID).is_err(),
                    "flip {mask:#04x} at {position} was accepted"
                );
            }
        }
    }

    #[test]
    fn lengths_are_exact() {
        assert!(
            SessionKey::from_base64("AAAAAAAAAAAAAAAAAAAA").is_none(),
            "15 bytes"
        );
        assert!(
            SessionKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAA=").is_none(),
            "17 bytes"
        );
        assert!(
            Iv::from_base64("AAAAAAAAAAAAAAAAAAAA").is_none(),
            "15 bytes"
        );
        assert!(
            Iv::from_base64("AAAAAAAAAAAAAAAAAAAAAAA=").is_none(),
            "17 bytes"
        );
        assert!(Ciphertext::from_base64("").is_none(), "empty");
        assert!(
            Ciphertext::from_base64("AAAAAAAAAAAAAAAAAAAAAAA=").is_none(),
            "17 bytes"
        );
        assert!(Ciphertext::from_base64(&STANDARD.encode([0u8; 32])).is_some());
    }

    #[test]
    fn base64_is_standard_and_padded_with_the_space_repair() {
        assert_eq!(decode_wechat_base64("+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(
            decode_wechat_base64(" /8=").unwrap(),
            [0xfb, 0xff],
            "space means +"
        );
        assert!(decode_wechat_base64("-_8=").is_none(), "URL alphabet");
        assert!(decode_wechat_base64("+/8").is_none(), "missing padding");
        assert!(decode_wechat_base64("+/\n8=").is_none(), "newline");
        let (key, _, ciphertext) = demo();
        let iv = Iv::from_base64(&DEMO_IV.replace('+', " ")).unwrap();
        assert!(decrypt_user_data(&key, &iv, &ciphertext, DEMO_APPID).is_ok());
        let spaced = DEMO_DATA.replace('+', " ");
        let ciphertext = Ciphertext::from_base64(&spaced).unwrap();
        assert!(decrypt_user_data(&key, &iv, &ciphertext, DEMO_APPID).is_ok());
    }

    #[test]
    fn raw_data_signature_is_sha1_of_raw_data_and_key() {
        let raw_data = r#"{"nickName":"Band","gender":1}"#;
        let mut hasher = Sha1::new();
        hasher.update(format!("{raw_data}{DEMO_KEY}").as_bytes());
        let signature = hex::encode(hasher.finalize());
        assert!(raw_data_signature_matches(raw_data, DEMO_KEY, &signature));
        assert!(raw_data_signature_matches(
            raw_data,
            DEMO_KEY,
            &signature.to_uppercase()
        ));
        assert!(!raw_data_signature_matches(
            raw_data,
            "AAAAAAAAAAAAAAAAAAAAAA==",
            &signature
        ));
        assert!(!raw_data_signature_matches(
            &format!("{raw_data} "),
            DEMO_KEY,
            &signature
        ));
        assert!(!raw_data_signature_matches(
            raw_data,
            DEMO_KEY,
            &signature[..39]
        ));
    }

    #[test]
    fn raw_data_signature_matches_a_known_sha1() {
        // sha1("abc") = a9993e36..., with an empty key the message is just rawData.
        assert!(raw_data_signature_matches(
            "abc",
            "",
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        ));
    }

    #[test]
    fn checksession_signature_matches_the_published_value() {
        assert_eq!(
            checksession_signature(DEMO_KEY),
            "7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735"
        );
    }

    #[test]
    fn session_key_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", SessionKey::from_base64(DEMO_KEY).unwrap()),
            "SessionKey([REDACTED])"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a client sends, parsing and decryption answer Ok or an error: never a
        /// panic, and never data that fails the watermark check.
        #[test]
        fn arbitrary_inputs_never_panic(
            encrypted_data in "[A-Za-z0-9+/= _-]{0,200}",
            iv in "[A-Za-z0-9+/= _-]{0,40}",
            key in proptest::array::uniform16(any::<u8>()),
        ) {
            if let Ok((ciphertext, iv)) = parse_encrypted(&encrypted_data, &iv)
                && let Ok(value) = decrypt_user_data(&SessionKey(key), &iv, &ciphertext, "wxappid")
            {
                prop_assert_eq!(&value["watermark"]["appid"], "wxappid");
            }
        }

        /// Random ciphertexts of valid shape under a random key are rejected.
        #[test]
        fn random_ciphertexts_are_rejected(
            blocks in proptest::collection::vec(proptest::array::uniform16(any::<u8>()), 1..8),
            iv in proptest::array::uniform16(any::<u8>()),
            key in proptest::array::uniform16(any::<u8>()),
        ) {
            let ciphertext = Ciphertext(blocks.concat());
            prop_assert!(decrypt_user_data(&SessionKey(key), &Iv(iv), &ciphertext, "wxappid").is_err());
        }
    }
}
