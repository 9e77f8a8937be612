//! Per-user quotas on the calls that cost money or WeChat quota: one
//! counter per subject and time window, whose name says both, so a new window starts a
//! new counter and an old one only waits for its TTL.

use super::UserKey;
use super::clock::{beijing_day, end_of_beijing_day};

/// One counter: what is counted, for whom, in which window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaWindow {
    /// The counter's name, unique per subject and window (`phone#<user>#<day>`).
    pub name: String,
    /// Epoch seconds the window ends: the counter is useless afterwards.
    pub ends_at: i64,
}

impl QuotaWindow {
    /// Phone verifications of one user on the current day (Beijing time, as WeChat
    /// counts its own daily limits).
    pub fn phone_verifications(user: &UserKey, now: i64) -> Self {
        let day = beijing_day(now);
        Self {
            name: format!("phone#{}#{day}", user.as_hex()),
            ends_at: end_of_beijing_day(day),
        }
    }

    /// `?check=wechat` calls of one user, over all their sessions, in the current minute:
    /// logging in again gives no fresh allowance.
    pub fn wechat_checks(user: &UserKey, now: i64) -> Self {
        let minute = now.div_euclid(60);
        Self {
            name: format!("check#{}#{minute}", user.as_hex()),
            ends_at: (minute + 1) * 60,
        }
    }

    /// Logins from one client in the current minute, under its keyed subject
    /// ([`StackKey::client_subject`](super::StackKey::client_subject)): the table never
    /// holds the address, and the counter goes at its TTL.
    pub fn client_logins(client_subject: &str, now: i64) -> Self {
        let minute = now.div_euclid(60);
        Self {
            name: format!("client#{client_subject}#{minute}"),
            ends_at: (minute + 1) * 60,
        }
    }

    /// Whole seconds until the window ends (at least 1), for `retry-after`.
    pub fn retry_after_seconds(&self, now: i64) -> u64 {
        u64::try_from(self.ends_at - now).unwrap_or(0).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_window_ends_on_the_minute() {
        let hash = crate::testing::user_key("o1");
        let window = QuotaWindow::wechat_checks(&hash, 1_000_015);
        assert_eq!(window.ends_at, 1_000_020);
        assert_eq!(window.retry_after_seconds(1_000_015), 5);
        assert_eq!(window.retry_after_seconds(1_000_020), 1);
        assert_ne!(window, QuotaWindow::wechat_checks(&hash, 1_000_020));
        assert_eq!(window, QuotaWindow::wechat_checks(&hash, 1_000_019));
    }

    #[test]
    fn a_client_window_is_per_subject_and_minute() {
        let window = QuotaWindow::client_logins("c0ffee", 1_000_015);
        assert_eq!(window.ends_at, 1_000_020);
        assert_eq!(window.name, "client#c0ffee#16666");
        assert_ne!(window, QuotaWindow::client_logins("c0ffef", 1_000_015));
        assert_eq!(window, QuotaWindow::client_logins("c0ffee", 1_000_019));
    }

    #[test]
    fn a_day_window_is_per_user_and_beijing_day() {
        let (a, b) = (
            crate::testing::user_key("o1"),
            crate::testing::user_key("o2"),
        );
        let now = 1_795_708_000;
        let window = QuotaWindow::phone_verifications(&a, now);
        assert_ne!(window.name, QuotaWindow::phone_verifications(&b, now).name);
        assert_eq!(window.ends_at, 1_795_708_800);
        assert!(window.name.starts_with("phone#"));
    }
}
