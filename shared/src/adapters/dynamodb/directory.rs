//! [`UserDirectory`] over the table: a Scan for the user items of one unionid. The table
//! has no index on unionid (one would cost a write on every new user for an operator's
//! occasional question), so this reads it all, a page at a time.

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoTable;
use super::attributes::string_attr;
use super::keys::{PK, USER};
use crate::domain::{StoreError, UserKey};
use crate::ports::UserDirectory;
use crate::telemetry::current::{Upstream, timed};

impl UserDirectory for DynamoTable {
    async fn users_with_unionid(&self, unionid: &str) -> Result<Vec<UserKey>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let request = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(#pk, :user) AND #unionid = :unionid")
                .projection_expression("#pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#unionid", "unionid")
                .expression_attribute_values(":user", AttributeValue::S(USER.to_owned()))
                .expression_attribute_values(":unionid", AttributeValue::S(unionid.to_owned()))
                .set_exclusive_start_key(start);
            let page = timed(Upstream::Store, request.send()).await?;
            keys.extend(
                page.items()
                    .iter()
                    .filter_map(|item| string_attr(item, PK))
                    .filter_map(|pk| UserKey::from_hex(pk.strip_prefix(USER)?)),
            );
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        keys.sort_by_key(UserKey::as_hex);
        Ok(keys)
    }
}
