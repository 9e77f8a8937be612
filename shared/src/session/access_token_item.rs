//! The shared access-token cache item: `access_token#<appid>` in the sessions table, so
//! every instance uses the same token instead of each fetching its own.

use super::store::{EXPIRES_AT, PK, n, number_attr, s, string_attr};
use super::{SessionStore, StoreError};

/// An access token as cached, with when it dies and when it was fetched.
#[derive(Clone)]
pub struct CachedAccessToken {
    /// The token text (a secret: never logged).
    pub token: String,
    /// Epoch seconds WeChat said it expires.
    pub expires_at: i64,
    /// Epoch seconds it was fetched.
    pub fetched_at: i64,
}

impl std::fmt::Debug for CachedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedAccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .field("fetched_at", &self.fetched_at)
            .finish()
    }
}

fn key(appid: &str) -> String {
    format!("access_token#{appid}")
}

impl SessionStore {
    /// The cached access token for `appid`, if any (expired or not: the caller decides).
    pub async fn get_access_token(
        &self,
        appid: &str,
    ) -> Result<Option<CachedAccessToken>, StoreError> {
        let item = self.get_item(key(appid)).await?;
        Ok(item.and_then(|item| {
            Some(CachedAccessToken {
                token: string_attr(&item, "access_token")?,
                expires_at: number_attr(&item, EXPIRES_AT)?,
                fetched_at: number_attr(&item, "fetched_at")?,
            })
        }))
    }

    /// Replaces the cached access token for `appid`.
    pub async fn put_access_token(
        &self,
        appid: &str,
        cached: &CachedAccessToken,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&key(appid)))
            .item("access_token", s(&cached.token))
            .item("fetched_at", n(cached.fetched_at))
            // The table's TTL attribute: DynamoDB drops the item some time after expiry.
            .item(EXPIRES_AT, n(cached.expires_at))
            .send()
            .await?;
        Ok(())
    }
}
