//! `code#<sha256(appid, code)>` items: claim_id, created_at, expires_at (the life of a code).

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::DynamoTable;
use super::attributes::{n, s, string_attr, unless_condition_failed};
use super::keys::{self, EXPIRES_AT, PK};
use crate::domain::{LoginCode, StoreError};
use crate::ports::{CODE_CLAIM_TTL_SECONDS, ClaimError, CodeClaim, CodeClaims};
use crate::telemetry::current::{Upstream, timed};

impl CodeClaims for DynamoTable {
    /// A conditional PutItem: of any number of concurrent requests carrying the code,
    /// exactly one succeeds.
    async fn claim_code(
        &self,
        appid: &str,
        code: &LoginCode,
        now: i64,
    ) -> Result<CodeClaim, ClaimError> {
        timed(Upstream::Store, self.claim(appid, code, now)).await
    }

    async fn release_code(&self, claim: CodeClaim) -> Result<(), StoreError> {
        timed(Upstream::Store, self.release(claim)).await
    }
}

impl DynamoTable {
    async fn claim(
        &self,
        appid: &str,
        code: &LoginCode,
        now: i64,
    ) -> Result<CodeClaim, ClaimError> {
        let claim = CodeClaim {
            code_digest: code.claim_digest_hex(appid),
            claim_id: random_id().map_err(|err| StoreError::new(err.to_string()))?,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&keys::code_claim(&claim.code_digest)))
            .item("claim_id", s(&claim.claim_id))
            .item("created_at", n(now))
            .item(EXPIRES_AT, n(now + CODE_CLAIM_TTL_SECONDS))
            // An expired claim the TTL sweeper has not removed yet must not block.
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let Err(err) = result else {
            return Ok(claim);
        };
        let holder = err
            .as_service_error()
            .and_then(|service| match service {
                PutItemError::ConditionalCheckFailedException(failed) => Some(failed),
                _ => None,
            })
            .map(|failed| failed.item().and_then(|item| string_attr(item, "claim_id")));
        match holder {
            // The SDK retried a write whose first attempt had landed: the claim is ours.
            Some(Some(holder)) if holder == claim.claim_id => Ok(claim),
            Some(_) => Err(ClaimError::AlreadyClaimed),
            None => {
                let failure = StoreError::from(err);
                // A timed-out attempt may still have written the claim: take it back
                // (best effort) so the user's retry with this code is not a 409.
                let _ = self.release(claim).await;
                Err(failure.into())
            }
        }
    }

    async fn release(&self, claim: CodeClaim) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(&keys::code_claim(&claim.code_digest)))
            .condition_expression("claim_id = :id")
            .expression_attribute_values(":id", s(&claim.claim_id))
            .send()
            .await;
        // Someone else holds the code now (ours had expired): leave their claim alone.
        unless_condition_failed(result)
    }
}

fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}
