//! The DynamoDB adapter: one table, key `pk`, TTL on `expires_at`, holding every item kind
//! (one module each, prefixes in [`keys`]). Every call is timed as store time for the
//! request's log line and metrics.

mod access_tokens;
mod attributes;
mod code_claims;
mod directory;
mod erasures;
pub mod keys;
mod pack_readings;
mod quotas;
mod sessions;
mod users;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};

use self::attributes::Item;
use crate::domain::StoreError;

/// The wxlogin table: implements [`Sessions`](crate::ports::Sessions),
/// [`Users`](crate::ports::Users), [`CodeClaims`](crate::ports::CodeClaims),
/// [`AccessTokenStore`](crate::ports::AccessTokenStore), [`Quotas`](crate::ports::Quotas),
/// [`ErasureLog`](crate::ports::ErasureLog) and
/// [`PackReadings`](crate::ports::PackReadings). Cheap to clone (the SDK client is shared).
#[derive(Clone, Debug)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    /// The table `table`, through a DynamoDB client configured from the environment
    /// (region, credentials, and `AWS_ENDPOINT_URL_DYNAMODB`, which points at DynamoDB
    /// Local in dev and tests). Built once per Lambda instance.
    pub async fn connect(table: impl Into<String>) -> Self {
        let config = super::aws::sdk_config("AWS_ENDPOINT_URL_DYNAMODB").await;
        Self::new(Client::new(&config), table)
    }

    /// The table `table`, through a client built once at init.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// An UpdateItem on the item under `key`, for the caller to give its expressions.
    fn update_item(&self, key: String) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(key))
    }

    /// Reads one item, strongly consistent: a client calls right after `/onlogin`, and an
    /// eventually consistent read could miss the session it just got.
    async fn get_item(&self, key: String) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(key))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }

    /// Deletes the items under `pks` (absent ones are no error), 25 per BatchWriteItem,
    /// asking again for what DynamoDB left unprocessed (throttled).
    async fn delete_items(&self, mut pks: Vec<String>) -> Result<(), StoreError> {
        // BatchWriteItem refuses a batch naming one key twice.
        pks.sort_unstable();
        pks.dedup();
        for chunk in pks.chunks(BATCH_WRITE_MAX) {
            let mut requests = chunk
                .iter()
                .map(|pk| {
                    let delete = DeleteRequest::builder()
                        .key(keys::PK, AttributeValue::S(pk.clone()))
                        .build()
                        .map_err(|err| StoreError::new(err.to_string()))?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            for attempt in 0.. {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut tables: HashMap<_, _>| tables.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt + 1 == BATCH_ATTEMPTS {
                    return Err(StoreError::new(
                        "BatchWriteItem left items unprocessed after retries (throttled)",
                    ));
                }
                tokio::time::sleep(UNPROCESSED_BACKOFF * (attempt + 1)).await;
            }
        }
        Ok(())
    }
}

/// Most requests one BatchWriteItem takes.
const BATCH_WRITE_MAX: usize = 25;
/// A batch call may leave keys unprocessed when throttled: ask again this many times.
const BATCH_ATTEMPTS: u32 = 3;
/// Pause before asking again for what a batch call left unprocessed.
const UNPROCESSED_BACKOFF: Duration = Duration::from_millis(25);
