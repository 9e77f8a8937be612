//! WeChat's message-push cryptography (the scheme of its WXBizMsgCrypt sample code,
//! docs/wechat.md, "Message push"): SHA-1 signatures over the sorted Token, timestamp,
//! nonce (and `Encrypt`), and AES-256-CBC with the EncodingAESKey.

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// WeChat pads the plaintext to a multiple of 32 bytes (PKCS#7 with a 32-byte block).
const PAD_BLOCK: usize = 32;
/// The random prefix of every plaintext.
const RANDOM_BYTES: usize = 16;
/// The random prefix and the 4-byte message length.
const HEADER_BYTES: usize = RANDOM_BYTES + 4;

/// An EncodingAESKey is 43 characters of base64 without its `=`; its last character's
/// spare bits need not be zero (WeChat's own sample key has them set).
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a push could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushCryptoError {
    /// `Encrypt` is not base64 of whole AES blocks.
    #[error("Encrypt is not base64 of whole AES blocks")]
    Malformed,
    /// The padding or the length inside does not hold: another key, or tampering.
    #[error("the message does not decrypt with this app's EncodingAESKey")]
    BadPadding,
    /// It decrypted, for another app.
    #[error("the message is for another app")]
    ForeignApp,
}

/// One app's message-push settings: the Token and the EncodingAESKey (Secrets Manager in
/// AWS, the environment locally; never logged).
#[derive(Clone)]
pub struct PushKeys {
    token: SecretString,
    aes_key: SecretSlice<u8>,
    /// The page is in plaintext mode: unencrypted pushes are accepted. Otherwise (safe or
    /// compatible mode) only encrypted ones are, so no one can downgrade a push to the
    /// mode whose signature does not cover the body.
    accepts_plaintext: bool,
}

impl PushKeys {
    /// The keys as the 消息推送 page shows them: a Token of 3-32 letters and digits, an
    /// EncodingAESKey of 43 letters and digits. `None` for anything else.
    pub fn new(token: &str, encoding_aes_key: &str) -> Option<Self> {
        let token_ok =
            (3..=32).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric());
        let key_ok = encoding_aes_key.len() == 43
            && encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric());
        if !token_ok || !key_ok {
            return None;
        }
        let aes_key = KEY_BASE64.decode(encoding_aes_key).ok()?;
        (aes_key.len() == 32).then(|| Self {
            token: SecretString::from(token.to_owned()),
            aes_key: SecretSlice::from(aes_key),
            accepts_plaintext: false,
        })
    }

    /// The same keys for a page in plaintext mode (`true`), or in safe or compatible
    /// mode (`false`, the default): only then are unencrypted pushes accepted.
    #[must_use]
    pub fn accepting_plaintext(self, accepts: bool) -> Self {
        Self {
            accepts_plaintext: accepts,
            ..self
        }
    }

    /// True when unencrypted pushes are accepted (the page is in plaintext mode).
    pub fn accepts_plaintext(&self) -> bool {
        self.accepts_plaintext
    }

    /// SHA-1 hex of the Token and `parts`, sorted and joined: `signature` is over
    /// timestamp and nonce, `msg_signature` over timestamp, nonce and `Encrypt`.
    pub fn signature(&self, parts: &[&str]) -> String {
        let mut all: Vec<&str> = Vec::with_capacity(parts.len() + 1);
        all.push(self.token.expose_secret());
        all.extend_from_slice(parts);
        all.sort_unstable();
        hex::encode(Sha1::digest(all.concat().as_bytes()))
    }

    /// True when `signature` is [`signature`](Self::signature) of `parts` (compared in
    /// constant time; case-insensitive hex).
    pub fn signed(&self, signature: &str, parts: &[&str]) -> bool {
        let expected = self.signature(parts);
        let given = signature.to_ascii_lowercase();
        given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }

    /// The message inside `encrypt` (base64), which must be for `appid`.
    pub fn decrypt(&self, encrypt: &str, appid: &str) -> Result<String, PushCryptoError> {
        let bytes = STANDARD
            .decode(encrypt.trim())
            .map_err(|_| PushCryptoError::Malformed)?;
        if bytes.is_empty() || bytes.len() % PAD_BLOCK != 0 {
            return Err(PushCryptoError::Malformed);
        }
        let key = self.aes_key.expose_secret();
        let plain = cbc::Decryptor::<Aes256>::new_from_slices(key, &key[..16])
            .map_err(|_| PushCryptoError::Malformed)?
            .decrypt_padded_vec::<NoPadding>(&bytes)
            .map_err(|_| PushCryptoError::Malformed)?;
        let unpadded = strip_padding(&plain).ok_or(PushCryptoError::BadPadding)?;
        let length_bytes: [u8; 4] = unpadded
            .get(RANDOM_BYTES..HEADER_BYTES)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(PushCryptoError::BadPadding)?;
        let length = usize::try_from(u32::from_be_bytes(length_bytes))
            .map_err(|_| PushCryptoError::BadPadding)?;
        let end = HEADER_BYTES
            .checked_add(length)
            .filter(|end| *end <= unpadded.len())
            .ok_or(PushCryptoError::BadPadding)?;
        let message = std::str::from_utf8(&unpadded[HEADER_BYTES..end])
            .map_err(|_| PushCryptoError::BadPadding)?;
        let receiver = &unpadded[end..];
        if !bool::from(receiver.ct_eq(appid.as_bytes())) {
            return Err(PushCryptoError::ForeignApp);
        }
        Ok(message.to_owned())
    }

    /// `message` encrypted for `appid` as WeChat does, with this 16-byte random prefix:
    /// what the sandbox and the tests send.
    pub fn encrypt(&self, message: &str, appid: &str, random: [u8; RANDOM_BYTES]) -> String {
        let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
        let mut plain = Vec::with_capacity(HEADER_BYTES + message.len() + appid.len() + PAD_BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&length.to_be_bytes());
        plain.extend_from_slice(message.as_bytes());
        plain.extend_from_slice(appid.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.resize(plain.len() + pad, u8::try_from(pad).unwrap_or(0));
        let key = self.aes_key.expose_secret();
        let Ok(cipher) = cbc::Encryptor::<Aes256>::new_from_slices(key, &key[..16]) else {
            unreachable!("the key is 32 bytes and the IV 16, checked when built")
        };
        STANDARD.encode(cipher.encrypt_padded_vec::<NoPadding>(&plain))
    }
}

impl std::fmt::Debug for PushKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PushKeys([REDACTED])")
    }
}

/// `plain` without its PKCS#7 padding of a 32-byte block: 1 to 32 bytes, each the count.
fn strip_padding(plain: &[u8]) -> Option<&[u8]> {
    let pad = usize::from(*plain.last()?);
    if !(1..=PAD_BLOCK).contains(&pad) || pad > plain.len() {
        return None;
    }
    let (body, padding) = plain.split_at(plain.len() - pad);
    padding
        .iter()
        .all(|byte| usize::from(*byte) == pad)
        .then_some(body)
}

#[cfg(test)]
mod tests {
    //! The vectors of WeChat's own WXBizMsgCrypt sample code (its Java test, Python and
    //! C++ samples) and of the mini-program message-push documentation's example.

    use super::*;

    const SAMPLE_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn encrypting_with_a_fixed_prefix_gives_the_sample_codes_ciphertext() {
        let keys = PushKeys::new("pamtest", SAMPLE_KEY).unwrap();
        let random: [u8; 16] = *b"aaaabbbbccccdddd";
        assert_eq!(
            keys.encrypt("我是中文abcd123", "wxb11529c136998cb6", random),
            "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
        );
        assert_eq!(
            keys.decrypt(
                "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==",
                "wxb11529c136998cb6"
            )
            .unwrap(),
            "我是中文abcd123"
        );
    }

    #[test]
    fn the_python_samples_push_verifies_and_decrypts_byte_for_byte() {
        let keys = PushKeys::new("spamtest", SAMPLE_KEY).unwrap();
        let encrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
        assert!(keys.signed(
            "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
            &["1409735669", "1320562132", encrypt]
        ));
        assert_eq!(
            keys.decrypt(encrypt, "wx2c2769f8efd9abc2").unwrap(),
            "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
        );
        assert_eq!(
            keys.decrypt(encrypt, "wxanotherapp000001"),
            Err(PushCryptoError::ForeignApp)
        );
        assert!(!keys.signed(
            "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
            &["1409735670", "1320562132", encrypt]
        ));
    }

    #[test]
    fn the_c_plus_plus_samples_push_decrypts() {
        let keys = PushKeys::new("spamtest", SAMPLE_KEY).unwrap();
        let encrypt = "mfBCs65c67CeJw22u4VT2TD73q5H06+ocrAIxswCaeZ/d/Lw0msSZFHY0teqgSYiI1zR2gD2DKrB3TIrmX/liNSDrGqS8jSI/WPeKB5VPr7Ezr7gomZAyGCwJSgT1TRFWPfONGJMxuj2nk4faTuspAuVIFQ6SHwZuJBZC7mcJp7Cgr9cUhATQWDbOPaE7ukZBTV2YqyzH+UI2AK+J1S47cE79k1RX8t0hcTz/O0hlK8DGXKnvYv88qKQcI7z4iaajqHfRVZKBNyOODabs+It+ZfM3dWTeFcPgDbGtIEnpt/EDtuuA/zMvtkaKdHdswPnVZQ+xdwbYr3ldGvfT8HlEYEgkgKaThxTFobVlwzu2ZkXCjicbP3xdr15Iq48ObgzPpqYuZ3IEoyggZDKClquk0u0orMck4GTF/XyE8yGzc4=";
        assert!(keys.signed(
            "003fee52ecc56afb46c00b5c7721be87860ce785",
            &["1410349438", "298025754", encrypt]
        ));
        let message = keys.decrypt(encrypt, "wx2c2769f8efd9abc2").unwrap();
        assert!(message.contains("<ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"));
    }

    #[test]
    fn the_message_push_pages_example_with_an_all_zero_key_decrypts() {
        let keys = PushKeys::new("AAAAA", &"A".repeat(43)).unwrap();
        let encrypt = "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjDv8KenVp+ajKYpJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0MEA4agpvE+RuNO1rhHTtuJB5yltw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcUYrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCxgfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQiY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6kIaR9P4xQrWXbsTFHTYe0Mg==";
        assert!(keys.signed(
            "6c12a4205838198b8fa631b3220723bb07f1015c",
            &["1715943329", "1590219412", encrypt]
        ));
        let message = keys.decrypt(encrypt, "wx134c8103faa5a59e").unwrap();
        assert_eq!(message.len(), 292);
        assert!(message.contains("<Event><![CDATA[debug_demo]]></Event>"));
    }

    #[test]
    fn the_url_signature_is_over_token_timestamp_and_nonce() {
        let keys = PushKeys::new("pamtest", SAMPLE_KEY).unwrap();
        let mut sorted = ["pamtest", "1409304348", "xxxxxx"];
        sorted.sort_unstable();
        let expected = hex::encode(Sha1::digest(sorted.concat().as_bytes()));
        assert_eq!(keys.signature(&["1409304348", "xxxxxx"]), expected);
        assert!(keys.signed(&expected.to_uppercase(), &["1409304348", "xxxxxx"]));
        assert!(!keys.signed("wrong", &["1409304348", "xxxxxx"]));
        assert!(!keys.signed("", &["1409304348", "xxxxxx"]));
    }

    #[test]
    fn malformed_keys_and_ciphertexts_are_refused_never_a_panic() {
        assert!(PushKeys::new("pamtest", "abcde").is_none());
        assert!(
            PushKeys::new("pa", SAMPLE_KEY).is_none(),
            "a Token of 3 to 32 characters"
        );
        assert!(PushKeys::new(&"t".repeat(33), SAMPLE_KEY).is_none());
        assert!(PushKeys::new("pam test", SAMPLE_KEY).is_none());
        assert!(PushKeys::new("pamtest", &format!("{}+", &SAMPLE_KEY[..42])).is_none());
        let keys = PushKeys::new("pamtest", SAMPLE_KEY).unwrap();
        for garbage in ["", "!!!not-base64!!!", "YWJj", "AAAAAAAAAAAAAAAAAAAAAA=="] {
            assert_eq!(
                keys.decrypt(garbage, "wx1"),
                Err(PushCryptoError::Malformed),
                "{garbage}"
            );
        }
        let zeros = STANDARD.encode([0u8; 32]);
        assert!(keys.decrypt(&zeros, "wx1").is_err());
        // A length field pointing past the end, under valid padding.
        let sealed = keys.encrypt("hi", "wx1", [1; 16]);
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(keys.decrypt(&STANDARD.encode(&bytes), "wx1").is_err());
        assert!(!format!("{keys:?}").contains("pamtest"));
    }

    proptest::proptest! {
        #[test]
        fn anything_encrypted_decrypts_for_its_app_only(
            message in ".{0,300}",
            random in proptest::array::uniform16(0u8..),
        ) {
            let keys = PushKeys::new("pamtest", SAMPLE_KEY).unwrap();
            let sealed = keys.encrypt(&message, "wxA", random);
            proptest::prop_assert_eq!(keys.decrypt(&sealed, "wxA").unwrap(), message);
            proptest::prop_assert_eq!(keys.decrypt(&sealed, "wxB"), Err(PushCryptoError::ForeignApp));
        }

        #[test]
        fn arbitrary_input_never_panics(text in ".{0,400}") {
            let keys = PushKeys::new("pamtest", SAMPLE_KEY).unwrap();
            let _ = keys.decrypt(&text, "wxA");
            let _ = keys.signed(&text, &["1", "2"]);
        }
    }
}
