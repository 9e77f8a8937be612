//! The `access_token#<appid>` item: the access token every instance shares, so each does
//! not fetch its own.

use super::DynamoTable;
use super::attributes::{n, number_attr, s, string_attr};
use super::keys::{self, EXPIRES_AT, PK};
use crate::domain::{CachedAccessToken, StoreError};
use crate::ports::AccessTokenStore;
use crate::telemetry::timings::{Upstream, timed};

impl AccessTokenStore for DynamoTable {
    async fn get_access_token(&self, appid: &str) -> Result<Option<CachedAccessToken>, StoreError> {
        let item = timed(Upstream::Store, self.get_item(keys::access_token(appid))).await?;
        Ok(item.and_then(|item| {
            Some(CachedAccessToken {
                token: string_attr(&item, "access_token")?,
                expires_at: number_attr(&item, EXPIRES_AT)?,
                fetched_at: number_attr(&item, "fetched_at")?,
            })
        }))
    }

    async fn put_access_token(
        &self,
        appid: &str,
        cached: &CachedAccessToken,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&keys::access_token(appid)))
            .item("access_token", s(&cached.token))
            .item("fetched_at", n(cached.fetched_at))
            // The table's TTL attribute: DynamoDB drops the item some time after expiry.
            .item(EXPIRES_AT, n(cached.expires_at));
        timed(Upstream::Store, request.send()).await?;
        Ok(())
    }
}
