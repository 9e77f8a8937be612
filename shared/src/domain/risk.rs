//! WeChat's risk rank of a user (安全中心 → 风控, `getuserriskrank`), asked at sign-up, and
//! the stack's policy for it: not asked, recorded, or enforced at a threshold.

/// WeChat's rank of how risky a user is: 0 (least) to 4 (riskiest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RiskRank(u8);

impl RiskRank {
    /// The least risky rank.
    pub const LOWEST: Self = Self(0);
    /// The riskiest rank WeChat gives.
    pub const HIGHEST: Self = Self(4);

    /// A rank WeChat documents (0-4); `None` for anything else.
    pub fn new(rank: i64) -> Option<Self> {
        u8::try_from(rank).ok().filter(|rank| *rank <= 4).map(Self)
    }

    /// The number, as WeChat sent it.
    pub fn value(self) -> u8 {
        self.0
    }
}

/// A rank WeChat gave a user, and when it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskAssessment {
    /// The rank.
    pub rank: RiskRank,
    /// Epoch seconds WeChat was asked.
    pub checked_at: i64,
}

/// What a stack does with WeChat's risk rank at a user's first login (`RISK_CHECK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RiskPolicy {
    /// Never asked (the default: the API must be enabled for the app in 安全中心).
    #[default]
    Off,
    /// Asked at sign-up and recorded on the user.
    Record,
    /// Recorded, and a sign-up ranked at or above `threshold` is refused.
    Enforce {
        /// The lowest rank refused.
        threshold: RiskRank,
    },
}

impl RiskPolicy {
    /// The policy `RISK_CHECK` names (`off`, `record`, `enforce`), refusing at
    /// `threshold` when enforced; `None` for any other name.
    pub fn from_name(name: &str, threshold: RiskRank) -> Option<Self> {
        match name {
            "off" => Some(Self::Off),
            "record" => Some(Self::Record),
            "enforce" => Some(Self::Enforce { threshold }),
            _ => None,
        }
    }

    /// True unless the rank is never asked.
    pub fn asks(self) -> bool {
        self != Self::Off
    }

    /// True when a user ranked `rank` may not sign up.
    pub fn refuses(self, rank: RiskRank) -> bool {
        matches!(self, Self::Enforce { threshold } if rank >= threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_ranks_exist() {
        assert_eq!(RiskRank::new(0).map(RiskRank::value), Some(0));
        assert_eq!(RiskRank::new(4), Some(RiskRank::HIGHEST));
        for bad in [-1, 5, 256, i64::MAX] {
            assert_eq!(RiskRank::new(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_enforce_refuses_and_only_at_or_above_its_threshold() {
        let three = RiskRank::new(3).unwrap();
        let enforce = RiskPolicy::from_name("enforce", three).unwrap();
        assert!(enforce.refuses(three));
        assert!(enforce.refuses(RiskRank::HIGHEST));
        assert!(!enforce.refuses(RiskRank::new(2).unwrap()));
        let record = RiskPolicy::from_name("record", three).unwrap();
        assert!(record.asks() && !record.refuses(RiskRank::HIGHEST));
        let off = RiskPolicy::from_name("off", three).unwrap();
        assert!(!off.asks());
        assert_eq!(RiskPolicy::from_name("Enforce", three), None);
    }
}
