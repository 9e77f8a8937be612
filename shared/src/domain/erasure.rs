//! Erasure: why a user's data was erased, and the audit record each erasure leaves,
//! which names the user only by a keyed hash (the key is the stack's, never stored in the
//! table), so the record proves an erasure without keeping what was erased.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

/// Why data was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErasureReason {
    /// The user cancelled their account (`DELETE /account`).
    User,
    /// WeChat pushed that the user deleted their WeChat account.
    WeChatCancellation,
    /// WeChat pushed that the user withdrew the phone number authorization.
    WeChatRevokePhone,
    /// An operator erased the user on request.
    Operator,
    /// The user was not seen for the stack's inactivity period.
    Inactivity,
}

impl ErasureReason {
    /// Every reason, for metrics and docs.
    pub const ALL: [Self; 5] = [
        Self::User,
        Self::WeChatCancellation,
        Self::WeChatRevokePhone,
        Self::Operator,
        Self::Inactivity,
    ];

    /// The stored, logged and metric name.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::WeChatCancellation => "wechat_cancellation",
            Self::WeChatRevokePhone => "wechat_revoke_phone",
            Self::Operator => "operator",
            Self::Inactivity => "inactivity",
        }
    }

    /// The reason a stored name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.name() == name)
    }
}

/// The stack's key for the audit records' hashes (at least 32 bytes).
#[derive(Clone)]
pub struct AuditKey(SecretSlice<u8>);

impl AuditKey {
    /// Shortest key accepted: a SHA-256 HMAC gains nothing from more.
    pub const MIN_BYTES: usize = 32;

    /// The key, if long enough.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        (bytes.len() >= Self::MIN_BYTES).then(|| Self(SecretSlice::from(bytes.to_vec())))
    }

    /// The keyed hash naming the user `openid` of `appid` in audit records: HMAC-SHA-256
    /// over `appid`, a zero byte and `openid`, in lower-case hex.
    pub fn subject(&self, appid: &str, openid: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose_secret()) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(appid.as_bytes());
        mac.update(&[0]);
        mac.update(openid.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([REDACTED])")
    }
}

/// What one erasure leaves behind: no personal data, only who (keyed), which app, why and
/// when, kept until `keep_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRecord {
    /// [`AuditKey::subject`] of the user.
    pub subject: String,
    /// The mini-program.
    pub appid: String,
    /// Why.
    pub reason: ErasureReason,
    /// Epoch milliseconds the erasure began: a retried erasure writes the same record.
    pub at_ms: i64,
    /// Epoch seconds the record expires.
    pub keep_until: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_keyed_and_separates_app_from_openid() {
        let key = AuditKey::new(&[7; 32]).unwrap();
        let other_key = AuditKey::new(&[8; 32]).unwrap();
        let subject = key.subject("wxA", "o1");
        assert_eq!(subject.len(), 64);
        assert_eq!(subject, key.subject("wxA", "o1"));
        assert_ne!(subject, other_key.subject("wxA", "o1"));
        assert_ne!(key.subject("wxAo", "1"), key.subject("wxA", "o1"));
        assert!(!subject.contains("o1"));
        assert!(AuditKey::new(&[7; 31]).is_none());
        assert!(!format!("{key:?}").contains('7'));
    }

    #[test]
    fn reasons_read_back_by_name() {
        for reason in ErasureReason::ALL {
            assert_eq!(ErasureReason::from_name(reason.name()), Some(reason));
        }
        assert_eq!(ErasureReason::from_name("whim"), None);
    }
}
