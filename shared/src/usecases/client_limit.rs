//! The per-client login limit: one client address (the source IP API Gateway reports, an
//! IPv6 address by its /64) may send so many codes WeChat refuses in a minute; past that
//! it gets 429 before any claim or WeChat call, while every other client's logins go on.
//!
//! Only refused codes are counted. A real code cannot be made up: each comes from a real
//! user's `wx.login`, so successful logins cost nothing here (no write, however many
//! users share a campus or carrier address), and a sender of junk codes is cut off after
//! a few. The count lives in the table (one counter per address and minute), so it holds
//! across instances; the write that counts a refused code answers the new count, and an
//! instance that sees the limit reached refuses that address from memory until its
//! minute ends. Junk sent all at once passes until the first refusals are counted: API
//! Gateway's route throttle bounds that burst.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::QuotaWindow;
use crate::ports::Quotas;

/// Default refused codes one address may send per minute: a real user almost never sends
/// one (a code expires unused after 5 minutes), a sender of junk codes sends nothing else.
pub const DEFAULT_FAILED_LOGINS_PER_CLIENT_PER_MINUTE: u32 = 6;

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
    /// At most `per_minute` refused codes a minute per client address.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            refused: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `client` (its keyed subject,
    /// [`StackKey::client_subject`](crate::domain::StackKey::client_subject)) may log in
    /// at `now`: `Err(retry_after_seconds)` when its minute's refused codes are spent. No
    /// I/O: the table is written only when a code is refused.
    pub fn admit(&self, client: &str, now: i64) -> Result<(), u64> {
        let window = QuotaWindow::client_logins(client, now);
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match refused.get(&window.name) {
            Some(&ends_at) if ends_at > now => Err(window.retry_after_seconds(now)),
            _ => Ok(()),
        }
    }

    /// Counts a code WeChat refused from `client`; at the limit, this instance refuses the
    /// address until the minute ends. Best effort: a store failure is logged, and the
    /// login's own answer stands.
    pub async fn failed(&self, store: &impl Quotas, client: &str, now: i64) {
        let window = QuotaWindow::client_logins(client, now);
        match store.charge(&window, 1).await {
            Ok(count) if count >= self.per_minute => self.remember(&window, now),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "a refused code was not counted"),
        }
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
    async fn an_address_is_refused_after_its_refused_codes_and_others_are_not() {
        let table = MemoryTable::new();
        let limit = ClientLimit::new(3);
        for _ in 0..3 {
            assert_eq!(limit.admit("c1", NOW), Ok(()));
            limit.failed(&table, "c1", NOW).await;
        }
        assert_eq!(limit.admit("c1", NOW), Err(60));
        assert_eq!(limit.admit("c2", NOW), Ok(()));
        assert_eq!(limit.admit("c1", NOW + 60), Ok(()), "a new minute");
    }

    #[tokio::test]
    async fn another_instance_learns_the_count_from_the_table() {
        let table = MemoryTable::new();
        let (first, second) = (ClientLimit::new(4), ClientLimit::new(4));
        for _ in 0..3 {
            first.failed(&table, "c1", NOW).await;
        }
        assert_eq!(second.admit("c1", NOW), Ok(()));
        second.failed(&table, "c1", NOW).await;
        assert_eq!(
            second.admit("c1", NOW),
            Err(60),
            "the fourth, counted over both"
        );
    }

    #[tokio::test]
    async fn admitting_costs_no_store_call() {
        let table = MemoryTable::new();
        let limit = ClientLimit::new(1);
        let calls = table.calls();
        for _ in 0..100 {
            assert!(limit.admit("c3", NOW).is_ok());
        }
        limit.failed(&table, "c3", NOW).await;
        for _ in 0..100 {
            assert!(limit.admit("c3", NOW + 5).is_err());
        }
        assert_eq!(table.calls(), calls + 1, "one write: the refused code's");
    }

    #[tokio::test]
    async fn a_store_failure_counts_nothing_and_refuses_nobody() {
        let table = MemoryTable::new();
        let limit = ClientLimit::new(1);
        table.fail_next(1);
        limit.failed(&table, "c4", NOW).await;
        assert_eq!(limit.admit("c4", NOW), Ok(()));
    }
}
