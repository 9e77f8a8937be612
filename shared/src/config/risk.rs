//! `RISK_CHECK` and `RISK_RANK_THRESHOLD`: whether a sign-up asks WeChat for the user's
//! risk rank, and the rank `enforce` refuses from.

use super::{ConfigError, Env};
use crate::domain::{RiskPolicy, RiskRank};

/// `RISK_CHECK` (`off` by default, `record`, `enforce`) with `RISK_RANK_THRESHOLD`
/// (0-4, default 4: WeChat's riskiest rank).
pub(super) fn risk_policy(env: &Env<'_>) -> Result<RiskPolicy, ConfigError> {
    let threshold = match env.get("RISK_RANK_THRESHOLD") {
        None => RiskRank::HIGHEST,
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(RiskRank::new)
            .ok_or(ConfigError::Invalid {
                name: "RISK_RANK_THRESHOLD",
                reason: "expected WeChat's rank to refuse from: 0 to 4 (4 is the riskiest)",
            })?,
    };
    let name = env.get("RISK_CHECK").unwrap_or_else(|| "off".to_owned());
    RiskPolicy::from_name(name.trim(), threshold).ok_or(ConfigError::Invalid {
        name: "RISK_CHECK",
        reason: "expected off, record (ask WeChat at sign-up and keep the rank) or enforce \
                 (also refuse a sign-up at or above RISK_RANK_THRESHOLD)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> Result<RiskPolicy, ConfigError> {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        risk_policy(&Env(&lookup))
    }

    #[test]
    fn off_unless_asked_and_enforced_from_rank_four_by_default() {
        assert_eq!(policy(&[]), Ok(RiskPolicy::Off));
        assert_eq!(policy(&[("RISK_CHECK", "record")]), Ok(RiskPolicy::Record));
        assert_eq!(
            policy(&[("RISK_CHECK", "enforce")]),
            Ok(RiskPolicy::Enforce {
                threshold: RiskRank::HIGHEST
            })
        );
        assert_eq!(
            policy(&[("RISK_CHECK", "enforce"), ("RISK_RANK_THRESHOLD", "3")]),
            Ok(RiskPolicy::Enforce {
                threshold: RiskRank::new(3).unwrap()
            })
        );
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        for (pairs, name) in [
            (vec![("RISK_CHECK", "on")], "RISK_CHECK"),
            (vec![("RISK_CHECK", "Enforce")], "RISK_CHECK"),
            (vec![("RISK_RANK_THRESHOLD", "5")], "RISK_RANK_THRESHOLD"),
            (vec![("RISK_RANK_THRESHOLD", "-1")], "RISK_RANK_THRESHOLD"),
            (vec![("RISK_RANK_THRESHOLD", "high")], "RISK_RANK_THRESHOLD"),
        ] {
            assert!(
                matches!(policy(&pairs), Err(ConfigError::Invalid { name: refused, .. }) if refused == name),
                "{pairs:?}"
            );
        }
    }
}
