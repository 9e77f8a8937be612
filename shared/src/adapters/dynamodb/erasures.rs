//! `erasure#<subject>` items: appid, reason, at_ms, and `expires_at` (TTL) at the end of
//! the audit period. The subject is a keyed hash: the item holds no personal data.

use super::DynamoTable;
use super::attributes::{n, s};
use super::keys::{self, EXPIRES_AT, PK};
use crate::domain::{ErasureRecord, StoreError};
use crate::ports::ErasureLog;
use crate::telemetry::current::{Upstream, timed};

impl ErasureLog for DynamoTable {
    /// One PutItem: the user's latest erasure replaces an earlier one, and a retried
    /// erasure writes the same item again.
    async fn record_erasure(&self, record: &ErasureRecord) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&keys::erasure(&record.subject)))
            .item("appid", s(&record.appid))
            .item("reason", s(record.reason.name()))
            .item("at_ms", n(record.at_ms))
            .item(EXPIRES_AT, n(record.keep_until));
        timed(Upstream::Store, request.send()).await?;
        Ok(())
    }
}
