//! The `retention` function: the table's stream, filtered (in the template) to the
//! user items its TTL removed, each of which leaves an audit record, as every other
//! erasure does: `inactivity`, or the reason of an erasure that never finished (its item
//! carries a deadline). A record that could not be written is reported back, so Lambda
//! retries it alone.

use std::collections::HashMap;

use lambda_http::lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};

use super::runner::Function;
use super::{ApiError, Ending};
use crate::adapters::dynamodb::keys;
use crate::domain::ErasureReason;
use crate::ports::{ErasureLog, StackKeys};
use crate::telemetry::current::Upstream;
use crate::telemetry::metrics;
use crate::usecases::Accounts;

/// The `retention` function.
pub const RETENTION: Function = Function {
    name: "retention",
    path: None,
    outcome_metric: metrics::RETENTION_BATCHES,
    kind_dimension: None,
};

/// DynamoDB's principal on the records of items its TTL deleted.
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

/// A DynamoDB Streams batch, as Lambda delivers it: only the fields read here.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    /// The records.
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

/// One change to the table.
#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    /// Who made the change: DynamoDB itself for a TTL deletion.
    #[serde(rename = "userIdentity")]
    pub user_identity: Option<UserIdentity>,
    /// The change.
    pub dynamodb: Option<StreamChange>,
}

/// The service that made a change.
#[derive(Debug, Deserialize)]
pub struct UserIdentity {
    /// `dynamodb.amazonaws.com` for TTL.
    #[serde(rename = "principalId", default)]
    pub principal_id: String,
}

/// The item's key and its image before the change.
#[derive(Debug, Deserialize)]
pub struct StreamChange {
    /// Identifies the record for a partial-batch retry.
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
    /// The item as it was.
    #[serde(rename = "OldImage", default)]
    pub old_image: HashMap<String, AttributeJson>,
}

/// An attribute in the stream's JSON: only strings are read.
#[derive(Debug, Deserialize)]
pub struct AttributeJson {
    /// The string value, for an `S` attribute.
    #[serde(rename = "S")]
    pub s: Option<String>,
}

/// The batch's answer: the records to retry.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    /// Each failed record's sequence number.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

/// One record to retry.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ItemFailure {
    /// Its sequence number.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Writes an inactivity record for each user item the TTL removed in `event`; answers
/// the records that failed.
pub async fn expired_users<S: ErasureLog, K: StackKeys>(
    accounts: &Accounts<S, K>,
    event: &StreamEvent,
) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in &event.records {
        let by_ttl = record.event_name == "REMOVE"
            && record
                .user_identity
                .as_ref()
                .is_some_and(|identity| identity.principal_id == TTL_PRINCIPAL);
        let Some(change) = record.dynamodb.as_ref().filter(|_| by_ttl) else {
            continue;
        };
        let text = |name: &str| {
            change
                .old_image
                .get(name)
                .and_then(|value| value.s.as_deref())
        };
        let is_user = text(keys::PK).is_some_and(|pk| pk.starts_with(keys::USER));
        let (Some(appid), Some(openid)) = (text("appid"), text("openid")) else {
            continue;
        };
        if !is_user {
            continue;
        }
        // An erasure that never finished: its own reason (the mark keeps it).
        let reason = if change.old_image.contains_key("erasing_since_ms") {
            text("erasing_reason")
                .and_then(ErasureReason::from_name)
                .unwrap_or(ErasureReason::User)
        } else {
            ErasureReason::Inactivity
        };
        if let Err(err) = accounts.record_expired(appid, openid, reason).await {
            tracing::error!(error = %err, "inactivity record not written: retried");
            response.batch_item_failures.push(ItemFailure {
                item_identifier: change.sequence_number.clone(),
            });
        }
    }
    response
}

/// [`expired_users`] as the runner's handler. The batch itself never fails: failed
/// records are retried one by one.
pub async fn handle<S: ErasureLog, K: StackKeys>(
    accounts: &Accounts<S, K>,
    event: LambdaEvent<StreamEvent>,
) -> (Result<BatchResponse, Diagnostic>, Ending) {
    let response = expired_users(accounts, &event.payload).await;
    let failed = !response.batch_item_failures.is_empty();
    let ending = Ending {
        outcome: if failed { "partial" } else { "ok" },
        error_code: failed.then(|| ApiError::StoreUnavailable.code()),
        failed_upstream: failed.then_some(Upstream::Store),
        http: None,
    };
    (Ok(response), ending)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{APPID, Twins, stack_key};

    fn record(event_name: &str, principal: &str, pk: &str, openid: &str) -> serde_json::Value {
        json!({
            "eventName": event_name,
            "userIdentity": {"type": "Service", "principalId": principal},
            "dynamodb": {
                "Keys": {"pk": {"S": pk}},
                "SequenceNumber": format!("seq-{openid}"),
                "OldImage": {"pk": {"S": pk}, "appid": {"S": APPID}, "openid": {"S": openid},
                             "created_at": {"N": "1"}, "sessions": {"SS": ["1:1:ab"]}}
            }
        })
    }

    #[tokio::test]
    async fn only_users_removed_by_ttl_leave_an_inactivity_record() {
        let twins = Twins::new();
        let event: StreamEvent = serde_json::from_value(json!({"Records": [
            record("REMOVE", TTL_PRINCIPAL, "user#aa", "o1"),
            record("REMOVE", "someone", "user#bb", "o2"),
            record("MODIFY", TTL_PRINCIPAL, "user#cc", "o3"),
            record("REMOVE", TTL_PRINCIPAL, "session#dd", "o4"),
        ]}))
        .unwrap();
        let response = expired_users(&twins.accounts(), &event).await;
        assert_eq!(response, BatchResponse::default());
        let key = stack_key();
        let written = twins.table.erasure(&key.subject(APPID, "o1")).unwrap();
        assert_eq!(written.reason, ErasureReason::Inactivity);
        for openid in ["o2", "o3", "o4"] {
            assert!(
                twins.table.erasure(&key.subject(APPID, openid)).is_none(),
                "{openid}"
            );
        }
    }

    #[tokio::test]
    async fn a_failed_record_is_reported_for_retry() {
        let twins = Twins::new();
        let event: StreamEvent = serde_json::from_value(json!({"Records": [
            record("REMOVE", TTL_PRINCIPAL, "user#aa", "o1"),
            record("REMOVE", TTL_PRINCIPAL, "user#bb", "o2"),
        ]}))
        .unwrap();
        twins.table.fail_next(1);
        let response = expired_users(&twins.accounts(), &event).await;
        assert_eq!(
            response.batch_item_failures,
            vec![ItemFailure {
                item_identifier: "seq-o1".into()
            }]
        );
        assert!(
            twins
                .table
                .erasure(&stack_key().subject(APPID, "o2"))
                .is_some()
        );
    }
}
