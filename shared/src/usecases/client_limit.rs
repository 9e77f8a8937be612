//! The per-client login limit: one client address (the source IP API Gateway reports, an
//! IPv6 address by its /64) may start so many logins a minute, a refused code weighing
//! [`FAILED_LOGIN_WEIGHT`] logins. A sender of junk codes one after another is refused
//! with 429 after six, before any claim or WeChat call, while every other client's logins
//! go on. Sent in parallel, each is counted as one on arrival and weighed after WeChat
//! answers, so up to the limit itself (60 a minute) may reach WeChat before the weights
//! land: the limit bounds a flood, the weight makes a slow one stop early.
//!
//! The count lives in the table (one counter per address and minute), so it holds across
//! instances; each instance also remembers the addresses it refused until their minute
//! ends, so a refused flood costs no further writes there.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::{QuotaWindow, StoreError};
use crate::ports::Quotas;

/// What a refused code (WeChat's 40029, a replayed code) counts for: a real user's login
/// almost never fails, a sender of junk codes almost always does.
pub const FAILED_LOGIN_WEIGHT: u32 = 10;

/// Default logins one address may start per minute: room for a campus or carrier NAT
/// sharing one address (one a second), while ten junk codes a minute use it up.
pub const DEFAULT_LOGINS_PER_CLIENT_PER_MINUTE: u32 = 60;

/// Refused windows an instance remembers; past this, the ended ones are forgotten (and
/// all of them if that is not enough: the table still counts).
const REMEMBERED_REFUSALS: usize = 4096;

/// The limit, built once per instance.
#[derive(Debug)]
pub struct ClientLimit {
    per_minute: u32,
    /// Refused windows (by counter name) and when each ends.
    refused: Mutex<HashMap<String, i64>>,
}

impl ClientLimit {
    /// At most `per_minute` logins a minute per client address.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            refused: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one login of `client` (its keyed subject,
    /// [`StackKey::client_subject`](crate::domain::StackKey::client_subject)) at `now`:
    /// `Ok(Err(retry_after_seconds))` when its minute is spent (remembered here, so the
    /// next refusal costs no write).
    pub async fn admit(
        &self,
        store: &impl Quotas,
        client: &str,
        now: i64,
    ) -> Result<Result<(), u64>, StoreError> {
        let window = QuotaWindow::client_logins(client, now);
        if self.remembered(&window, now) {
            return Ok(Err(window.retry_after_seconds(now)));
        }
        if store.take(&window, self.per_minute).await? {
            return Ok(Ok(()));
        }
        self.remember(&window, now);
        Ok(Err(window.retry_after_seconds(now)))
    }

    /// Adds what a refused code weighs beyond the login [`admit`](Self::admit) counted.
    /// Best effort: a store failure here is logged, and the login's own answer stands.
    pub async fn failed(&self, store: &impl Quotas, client: &str, now: i64) {
        let window = QuotaWindow::client_logins(client, now);
        if let Err(err) = store.charge(&window, FAILED_LOGIN_WEIGHT - 1).await {
            tracing::warn!(error = %err, "a failed login was not charged to its client");
        }
    }

    fn remembered(&self, window: &QuotaWindow, now: i64) -> bool {
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        refused
            .get(&window.name)
            .is_some_and(|&ends_at| ends_at > now)
    }

    fn remember(&self, window: &QuotaWindow, now: i64) {
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if refused.len() >= REMEMBERED_REFUSALS {
            refused.retain(|_, ends_at| *ends_at > now);
            if refused.len() >= REMEMBERED_REFUSALS {
                refused.clear();
            }
        }
        refused.insert(window.name.clone(), window.ends_at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryTable;

    const NOW: i64 = 1_800_000_000;

    #[tokio::test]
    async fn an_address_is_refused_past_its_minute_and_others_are_not() {
        let table = MemoryTable::new();
        let limit = ClientLimit::new(3);
        for _ in 0..3 {
            assert_eq!(
                limit.admit(&table, "198.51.100.1", NOW).await.unwrap(),
                Ok(())
            );
        }
        assert_eq!(
            limit.admit(&table, "198.51.100.1", NOW).await.unwrap(),
            Err(60)
        );
        assert_eq!(
            limit.admit(&table, "198.51.100.2", NOW).await.unwrap(),
            Ok(())
        );
        assert_eq!(
            limit.admit(&table, "198.51.100.1", NOW + 60).await.unwrap(),
            Ok(()),
            "a new minute"
        );
    }

    #[tokio::test]
    async fn a_refused_code_weighs_ten_logins() {
        let table = MemoryTable::new();
        let limit = ClientLimit::new(DEFAULT_LOGINS_PER_CLIENT_PER_MINUTE);
        let mut admitted = 0;
        while limit
            .admit(&table, "198.51.100.9", NOW)
            .await
            .unwrap()
            .is_ok()
        {
            admitted += 1;
            limit.failed(&table, "198.51.100.9", NOW).await;
        }
        assert_eq!(admitted, 6, "six junk codes use up a minute of 60");
    }

    #[tokio::test]
    async fn once_refused_an_instance_refuses_without_a_write() {
        let table = MemoryTable::new();
        let limit = ClientLimit::new(1);
        assert!(
            limit
                .admit(&table, "198.51.100.3", NOW)
                .await
                .unwrap()
                .is_ok()
        );
        assert!(
            limit
                .admit(&table, "198.51.100.3", NOW)
                .await
                .unwrap()
                .is_err()
        );
        let calls = table.calls();
        for _ in 0..100 {
            assert!(
                limit
                    .admit(&table, "198.51.100.3", NOW + 5)
                    .await
                    .unwrap()
                    .is_err()
            );
        }
        assert_eq!(table.calls(), calls);
    }

    #[tokio::test]
    async fn a_store_failure_is_an_error_not_an_admission() {
        let table = MemoryTable::new();
        table.fail_next(1);
        assert!(
            ClientLimit::new(5)
                .admit(&table, "198.51.100.4", NOW)
                .await
                .is_err()
        );
    }
}
