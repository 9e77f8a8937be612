//! `quota#<window>` items: `count`, and `expires_at` at the window's end. One conditional
//! UpdateItem counts a call, so concurrent requests never exceed the limit.

use aws_sdk_dynamodb::types::ReturnValue;

use super::DynamoTable;
use super::attributes::{n, number_attr, written_unless_condition_failed};
use super::keys::{self, EXPIRES_AT};
use crate::domain::{QuotaWindow, StoreError};
use crate::ports::Quotas;
use crate::telemetry::current::{Upstream, timed};

impl Quotas for DynamoTable {
    async fn take(&self, window: &QuotaWindow, limit: u32) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let request = self
            .update_item(keys::quota(window))
            .update_expression("ADD #count :one SET #exp = :ends")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ends", n(window.ends_at))
            .expression_attribute_values(":limit", n(i64::from(limit)));
        written_unless_condition_failed(timed(Upstream::Store, request.send()).await)
    }

    async fn charge(&self, window: &QuotaWindow, weight: u32) -> Result<u32, StoreError> {
        let request = self
            .update_item(keys::quota(window))
            .update_expression("ADD #count :weight SET #exp = :ends")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":weight", n(i64::from(weight)))
            .expression_attribute_values(":ends", n(window.ends_at))
            .return_values(ReturnValue::UpdatedNew);
        let output = timed(Upstream::Store, request.send()).await?;
        let count = output
            .attributes
            .as_ref()
            .and_then(|item| number_attr(item, "count"))
            .unwrap_or(0);
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn give_back(&self, window: &QuotaWindow) -> Result<(), StoreError> {
        let request = self
            .update_item(keys::quota(window))
            .update_expression("ADD #count :minus_one")
            // Only a counter that exists and counted something: never below zero, and
            // never a new item without its TTL.
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0));
        written_unless_condition_failed(timed(Upstream::Store, request.send()).await).map(|_| ())
    }

    async fn counted(&self, window: &QuotaWindow, now: i64) -> Result<u32, StoreError> {
        if window.ends_at <= now {
            return Ok(0);
        }
        let item = timed(Upstream::Store, self.get_item(keys::quota(window))).await?;
        let count = item
            .and_then(|item| number_attr(&item, "count"))
            .unwrap_or(0);
        Ok(u32::try_from(count).unwrap_or(0))
    }

    async fn delete_windows(&self, windows: &[QuotaWindow]) -> Result<(), StoreError> {
        let pks = windows.iter().map(keys::quota).collect();
        timed(Upstream::Store, self.delete_items(pks)).await
    }
}
