//! The DynamoDB adapter: one table, key `pk`, TTL on `expires_at`, holding every item kind
//! (one module each, prefixes in [`keys`]). Every call is timed as store time for the
//! request's log line and metrics.

mod access_tokens;
mod attributes;
mod code_claims;
pub mod keys;
mod quotas;
mod sessions;
mod users;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use self::attributes::Item;
use crate::domain::StoreError;

/// The wxlogin table: implements [`Sessions`](crate::ports::Sessions),
/// [`Users`](crate::ports::Users), [`CodeClaims`](crate::ports::CodeClaims),
/// [`AccessTokenStore`](crate::ports::AccessTokenStore) and [`Quotas`](crate::ports::Quotas). Cheap to clone (the SDK client is
/// shared).
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
}
