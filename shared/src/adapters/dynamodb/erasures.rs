//! `erasure#<subject>` items: appid; the latest erasure's `reason` and `at_ms`; one
//! `<reason>_at_ms` per reason the user was ever erased for; `expires_at` (TTL) at the end
//! of the audit period. The subject is a keyed hash: the item holds no personal data.

use super::DynamoTable;
use super::attributes::{n, s};
use super::keys::{self, EXPIRES_AT};
use crate::domain::{ErasureRecord, StoreError};
use crate::ports::ErasureLog;
use crate::telemetry::current::{Upstream, timed};

impl ErasureLog for DynamoTable {
    /// One UpdateItem: a later erasure of the same user keeps the earlier reasons' times,
    /// and a retried erasure writes the same values again.
    async fn record_erasure(&self, record: &ErasureRecord) -> Result<(), StoreError> {
        let request = self
            .update_item(keys::erasure(&record.subject))
            .update_expression(
                "SET appid = :appid, reason = :reason, at_ms = :at, #by_reason = :at, #exp = :keep",
            )
            .expression_attribute_names("#by_reason", format!("{}_at_ms", record.reason.name()))
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":appid", s(&record.appid))
            .expression_attribute_values(":reason", s(record.reason.name()))
            .expression_attribute_values(":at", n(record.at_ms))
            .expression_attribute_values(":keep", n(record.keep_until));
        timed(Upstream::Store, request.send()).await?;
        Ok(())
    }
}
