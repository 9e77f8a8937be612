//! The one-time codes a mini-program sends: `wx.login`'s login code and the
//! getPhoneNumber button's phone code, parsed once at the edge.

use sha2::{Digest, Sha256};

/// Longest code we accept, in bytes: far above any code WeChat has issued, so only
/// garbage is turned away by it.
pub const MAX_CODE_LEN: usize = 128;

/// A `wx.login` code that could be one: 1..=128 bytes with no control character.
///
/// WeChat promises no format for its codes (length or alphabet), so nothing narrower is
/// refused here: a code WeChat does not know is its `40029`, our 401 `invalid_code`.
/// Codes are short-lived bearer credentials, so `Debug` shows only their length.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCode(String);

/// A getPhoneNumber button `code`, by the same rule as a login code.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneCode(String);

/// Refuses only what can never be a code: empty, oversized, or holding a control
/// character (a newline or NUL no JSON-carried code of WeChat's contains).
fn plausible_code(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= MAX_CODE_LEN && !raw.chars().any(char::is_control)
}

impl PhoneCode {
    /// Accepts a code that could have come from the getPhoneNumber button.
    pub fn parse(raw: &str) -> Option<Self> {
        plausible_code(raw).then(|| Self(raw.to_owned()))
    }

    /// The code as WeChat expects it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PhoneCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneCode(<{} chars>)", self.0.len())
    }
}

impl LoginCode {
    /// Accepts a code that could have come from `wx.login`; `None` otherwise.
    pub fn parse(raw: &str) -> Option<Self> {
        plausible_code(raw).then(|| Self(raw.to_owned()))
    }

    /// The code as WeChat expects it in `js_code`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256 of the code for `appid`: its claim is stored under this, never the
    /// code itself. Each app's codes are its own, so a code sent to the wrong app never
    /// blocks its use in the right one.
    pub fn claim_digest_hex(&self, appid: &str) -> String {
        hex::encode(
            Sha256::new()
                .chain_update(appid.as_bytes())
                .chain_update(b"\0")
                .chain_update(self.0.as_bytes())
                .finalize(),
        )
    }
}

impl std::fmt::Debug for LoginCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoginCode(<{} chars>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_anything_that_could_be_a_code() {
        // WeChat promises no alphabet: a code we have never seen the like of is WeChat's
        // to refuse, not ours.
        for ok in [
            "0a3Xk9000AbCdE1fGh2iJk3lMn4oPq5r",
            "a",
            "A-b_9",
            &"x".repeat(128),
            "abc def",
            "abc+def/=",
            "ｃｏｄｅ",
            "é",
            "abc\u{200b}def",
        ] {
            assert!(LoginCode::parse(ok).is_some(), "{ok:?}");
            assert!(PhoneCode::parse(ok).is_some(), "{ok:?}");
        }
    }

    #[test]
    fn rejects_only_empty_oversized_and_control_characters() {
        for bad in [
            "",
            &"x".repeat(129),
            &"é".repeat(65),
            "code\n",
            "abc\0def",
            "tab\there",
            "\u{7f}",
            "\u{85}",
        ] {
            assert!(LoginCode::parse(bad).is_none(), "{bad:?}");
            assert!(PhoneCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_code() {
        let code = LoginCode::parse("secretcode123").unwrap();
        assert_eq!(format!("{code:?}"), "LoginCode(<13 chars>)");
    }

    #[test]
    fn the_claim_digest_is_hex_sha256_of_appid_and_code() {
        let code = LoginCode::parse("abc").unwrap();
        assert_eq!(
            code.claim_digest_hex("wxA"),
            hex::encode(Sha256::digest(b"wxA\0abc"))
        );
        assert_ne!(code.claim_digest_hex("wxA"), code.claim_digest_hex("wxB"));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_keeps_what_it_accepts(raw in "\\PC{0,200}") {
            if let Some(code) = LoginCode::parse(&raw) {
                prop_assert_eq!(code.as_str(), raw.as_str());
            }
        }
    }
}
