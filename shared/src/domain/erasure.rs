//! Erasure: why a user's data was erased, and the audit record each erasure leaves,
//! which names the user only by a keyed hash ([`StackKey::subject`](super::StackKey::subject):
//! the key is the stack's, never stored in the table), so the record proves an erasure
//! without keeping what was erased.

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

/// What one erasure leaves behind: no personal data, only who (keyed), which app, why and
/// when, kept until `keep_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRecord {
    /// [`StackKey::subject`] of the user.
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
    fn reasons_read_back_by_name() {
        for reason in ErasureReason::ALL {
            assert_eq!(ErasureReason::from_name(reason.name()), Some(reason));
        }
        assert_eq!(ErasureReason::from_name("whim"), None);
    }
}
