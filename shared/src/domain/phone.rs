//! A user's phone number as WeChat reports it, the two forms the getPhoneNumber button
//! produces, and the watermark rule for the older, encrypted form.

use std::time::Duration;

use serde_json::Value;

use super::{Ciphertext, Iv, PhoneCode};

/// The two forms the getPhoneNumber button produces, parsed.
#[derive(Debug)]
pub enum PhoneForm {
    /// Older base libraries: `encryptedData` + `iv`, decrypted with the session_key.
    Legacy {
        /// `encryptedData`.
        ciphertext: Ciphertext,
        /// `iv`.
        iv: Iv,
    },
    /// Current base libraries: a `code` redeemed at WeChat with the access token.
    Code(PhoneCode),
    /// The getRealtimePhoneNumber button's `code`: redeemed the same way, but WeChat
    /// re-checked the number with the carrier (and bills it from another pack).
    Realtime(PhoneCode),
}

impl PhoneForm {
    /// The form's name in logs and metrics: `legacy`, `code` or `realtime`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Legacy { .. } => "legacy",
            Self::Code(_) => "code",
            Self::Realtime(_) => "realtime",
        }
    }
}

/// How old decrypted phone data may be, by its `watermark.timestamp`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatermarkPolicy {
    /// `None`: the timestamp is not checked.
    pub max_age: Option<Duration>,
}

impl WatermarkPolicy {
    /// True when `data` passes: no limit set, or `watermark.timestamp` within `max_age` of
    /// `now` (either side: clocks drift).
    pub fn accepts(&self, data: &Value, now: i64) -> bool {
        let Some(max_age) = self.max_age else {
            return true;
        };
        let Some(timestamp) = data["watermark"]["timestamp"].as_i64() else {
            return false;
        };
        let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        now.abs_diff(timestamp) <= max_age.unsigned_abs()
    }
}

/// A verified phone number: these three fields and nothing else.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// With the country code for non-Chinese numbers, as WeChat writes it.
    pub phone_number: String,
    /// Digits only, without the country code.
    pub pure_phone_number: String,
    /// Country calling code as a string ("86"), even when WeChat sent a number.
    pub country_code: String,
}

/// Longest field we accept: E.164 numbers have at most 15 digits, plus formatting.
const MAX_FIELD_LEN: usize = 32;

impl PhoneNumber {
    /// Reads the fields from decrypted data or `phone_info`; `None` unless all three are
    /// present and plausible (digits where only digits belong). Garbage that happens to
    /// parse as JSON — a wrong key, tampering — stops here.
    pub fn from_json(value: &Value) -> Option<Self> {
        let phone_number = field(value, "phoneNumber")?;
        let pure_phone_number = field(value, "purePhoneNumber")?;
        let country_code = match value.get("countryCode")? {
            Value::String(code) => code.clone(),
            Value::Number(code) => code.as_u64()?.to_string(),
            _ => return None,
        };
        let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let formatted = phone_number
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b' ' | b'-' | b'(' | b')'));
        (digits(&pure_phone_number)
            && digits(&country_code)
            && country_code.len() <= 4
            && formatted)
            .then_some(Self {
                phone_number,
                pure_phone_number,
                country_code,
            })
    }
}

fn field(value: &Value, name: &str) -> Option<String> {
    let text = value.get(name)?.as_str()?;
    (!text.is_empty() && text.len() <= MAX_FIELD_LEN).then(|| text.to_owned())
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data: never in logs.
        f.write_str("PhoneNumber([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_wechats_documented_shape() {
        let phone = PhoneNumber::from_json(&json!({
            "phoneNumber": "13580006666", "purePhoneNumber": "13580006666", "countryCode": "86",
            "watermark": {"appid": "wx", "timestamp": 1}
        }))
        .unwrap();
        assert_eq!(
            (
                phone.phone_number.as_str(),
                phone.pure_phone_number.as_str(),
                phone.country_code.as_str()
            ),
            ("13580006666", "13580006666", "86")
        );
    }

    #[test]
    fn the_watermark_policy_checks_age_only_when_set() {
        let data = json!({"watermark": {"appid": "wx", "timestamp": 1_000}});
        assert!(WatermarkPolicy::default().accepts(&data, 1_000_000));
        let policy = WatermarkPolicy {
            max_age: Some(Duration::from_secs(600)),
        };
        assert!(policy.accepts(&data, 1_600));
        assert!(policy.accepts(&data, 400), "a clock behind ours");
        assert!(!policy.accepts(&data, 1_601));
        assert!(!policy.accepts(&json!({"watermark": {}}), 1_000));
    }

    #[test]
    fn a_numeric_country_code_becomes_a_string() {
        let phone = PhoneNumber::from_json(
            &json!({"phoneNumber": "+1 4155552671", "purePhoneNumber": "4155552671", "countryCode": 1}),
        )
        .unwrap();
        assert_eq!(phone.country_code, "1");
    }

    #[test]
    fn missing_or_implausible_fields_are_rejected() {
        for bad in [
            json!({"purePhoneNumber": "138", "countryCode": "86"}),
            json!({"phoneNumber": "138", "countryCode": "86"}),
            json!({"phoneNumber": "138", "purePhoneNumber": "138"}),
            json!({"phoneNumber": "", "purePhoneNumber": "138", "countryCode": "86"}),
            json!({"phoneNumber": "138", "purePhoneNumber": "13a", "countryCode": "86"}),
            json!({"phoneNumber": "13\u{0}8", "purePhoneNumber": "138", "countryCode": "86"}),
            json!({"phoneNumber": "138", "purePhoneNumber": "138", "countryCode": -86}),
            json!({"phoneNumber": "138", "purePhoneNumber": "138", "countryCode": "8 6"}),
            json!({"phoneNumber": "1".repeat(33), "purePhoneNumber": "138", "countryCode": "86"}),
            json!([1, 2]),
        ] {
            assert!(PhoneNumber::from_json(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_number() {
        let phone = PhoneNumber::from_json(
            &json!({"phoneNumber": "13580006666", "purePhoneNumber": "13580006666", "countryCode": "86"}),
        )
        .unwrap();
        assert!(!format!("{phone:?}").contains("1358"));
    }
}
