//! Session tokens: 32 bytes, URL-safe base64, stored only as SHA-256. The first 16 bytes
//! are the user's key (so a token's session and user are read in one round trip), the
//! last 16 come from the OS CSPRNG: 128 bits no one can guess.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::user::{USER_KEY_BYTES, UserKey};

/// Bytes in a token: the user key, then the random part.
const TOKEN_BYTES: usize = 32;

/// A bearer token as the client holds it. `Debug` redacts it.
pub struct SessionToken(SecretString);

/// Hex SHA-256 of a token: what the store keys on, so a leaked table yields no tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl SessionToken {
    /// Length of the URL-safe, unpadded base64 text of a token.
    pub const ENCODED_LEN: usize = 43;

    /// A fresh token for the user with `user` key, its secret half from the operating
    /// system's CSPRNG.
    pub fn issue(user: &UserKey) -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[..USER_KEY_BYTES].copy_from_slice(user.as_bytes());
        getrandom::fill(&mut bytes[USER_KEY_BYTES..])?;
        Ok(Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// The key of the user the token was issued to (a forged token names a user but
    /// matches no session: the store keys sessions by the whole token's hash).
    pub fn user_key(&self) -> UserKey {
        let mut key = [0u8; USER_KEY_BYTES];
        if let Ok(bytes) = URL_SAFE_NO_PAD.decode(self.0.expose_secret()) {
            key.copy_from_slice(&bytes[..USER_KEY_BYTES]);
        }
        UserKey::from_bytes(key)
    }

    /// Accepts text shaped exactly like a token we issue; `None` otherwise.
    pub fn parse(raw: &str) -> Option<Self> {
        let decodes_to_32_bytes = raw.len() == Self::ENCODED_LEN
            && URL_SAFE_NO_PAD
                .decode(raw)
                .is_ok_and(|bytes| bytes.len() == TOKEN_BYTES);
        decodes_to_32_bytes.then(|| Self(SecretString::from(raw.to_owned())))
    }

    /// The token text, to send to its owner and nowhere else.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The storage key material for this token.
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(
            self.0.expose_secret().as_bytes(),
        )))
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([REDACTED])")
    }
}

impl TokenHash {
    /// The hex digest.
    pub fn as_hex(&self) -> &str {
        &self.0
    }

    /// A digest as [`as_hex`](Self::as_hex) wrote it: 64 lower-case hex digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let well_formed = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| Self(hex.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_tokens_are_url_safe_43_chars_and_distinct() {
        let tokens: HashSet<String> = (0..1000)
            .map(|_| crate::testing::unknown_token().expose().to_owned())
            .collect();
        assert_eq!(tokens.len(), 1000);
        for token in &tokens {
            assert_eq!(token.len(), SessionToken::ENCODED_LEN);
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(SessionToken::parse(token).is_some());
        }
    }

    #[test]
    fn parse_rejects_other_shapes() {
        let good = crate::testing::unknown_token().expose().to_owned();
        for bad in [
            String::new(),
            good[..42].to_owned(),
            format!("{good}A"),
            good.replace(|c: char| c.is_ascii_alphanumeric(), "+"),
            format!("{}=", &good[..42]),
        ] {
            assert!(SessionToken::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn hash_is_hex_sha256_of_the_text() {
        let token = crate::testing::unknown_token();
        let hash = token.hash();
        assert_eq!(hash.as_hex().len(), 64);
        assert_ne!(hash.as_hex(), token.expose());
        assert_eq!(SessionToken::parse(token.expose()).unwrap().hash(), hash);
    }

    #[test]
    fn an_issued_token_carries_its_users_key_and_128_random_bits() {
        let user = crate::testing::user_key("oGZUI0egBJY1zhBYw2KhdUfwVJJE");
        let a = SessionToken::issue(&user).unwrap();
        let b = SessionToken::issue(&user).unwrap();
        assert_eq!(a.user_key(), user);
        assert_eq!(SessionToken::parse(a.expose()).unwrap().user_key(), user);
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash(), b.hash());
        assert_ne!(crate::testing::unknown_token().user_key(), user);
    }

    #[test]
    fn debug_redacts() {
        let token = crate::testing::unknown_token();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
