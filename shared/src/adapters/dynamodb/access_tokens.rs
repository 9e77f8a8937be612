//! The `access_token#<appid>` item: the access token every instance shares, so each does
//! not fetch its own, and the record of forced refreshes (`forced_at_ms`, and one
//! `forced_<day>` count per Beijing day) every instance respects. Both are written with
//! UpdateItem, so neither write erases the other's attributes.
//!
//! `expires_at` is the item's TTL: the token's expiry, but never before the end of the
//! current day, so the day's forced-refresh count outlives an idle spell. The token's own
//! expiry is `token_expires_at` (items written before it existed carry only `expires_at`).

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::DynamoTable;
use super::attributes::{Item, n, number_attr, s, string_attr, written_unless_condition_failed};
use super::keys::{self, EXPIRES_AT};
use crate::domain::clock::{beijing_day, end_of_beijing_day};
use crate::domain::{CachedAccessToken, ForcedRefreshClaim, ForcedRefreshPolicy, StoreError};
use crate::ports::AccessTokenStore;
use crate::telemetry::current::{Upstream, timed};

const TOKEN: &str = "access_token";
const TOKEN_EXPIRES_AT: &str = "token_expires_at";
const FETCHED_AT: &str = "fetched_at";
const FETCHED_AT_MS: &str = "fetched_at_ms";
const REQUESTED_AT_MS: &str = "requested_at_ms";
const FORCED_AT_MS: &str = "forced_at_ms";
/// How long a claim keeps the item at least: longer than any access token lives (7200 s).
const CLAIM_KEEP_SECONDS: i64 = 8 * 3600;

/// The attribute counting forced refreshes on Beijing day `day`.
fn forced_count(day: i64) -> String {
    format!("forced_{day}")
}

fn cached_token(item: &Item) -> Option<CachedAccessToken> {
    let fetched_at_ms = number_attr(item, FETCHED_AT_MS)
        .or_else(|| number_attr(item, FETCHED_AT).map(|seconds| seconds * 1000))?;
    Some(CachedAccessToken {
        token: string_attr(item, TOKEN)?,
        expires_at: number_attr(item, TOKEN_EXPIRES_AT)
            .or_else(|| number_attr(item, EXPIRES_AT))?,
        requested_at_ms: number_attr(item, REQUESTED_AT_MS).unwrap_or(fetched_at_ms),
        fetched_at_ms,
    })
}

impl AccessTokenStore for DynamoTable {
    async fn get_access_token(&self, appid: &str) -> Result<Option<CachedAccessToken>, StoreError> {
        let item = timed(Upstream::Store, self.get_item(keys::access_token(appid))).await?;
        Ok(item.as_ref().and_then(cached_token))
    }

    async fn put_access_token(
        &self,
        appid: &str,
        cached: &CachedAccessToken,
    ) -> Result<bool, StoreError> {
        let day_ends = end_of_beijing_day(beijing_day(cached.fetched_at()));
        let request = self
            .update_item(keys::access_token(appid))
            .update_expression(
                "SET #token = :token, #token_exp = :token_exp, #fetched = :fetched, \
                 #fetched_ms = :fetched_ms, #requested_ms = :requested_ms, #exp = :exp",
            )
            // Never an older token over a newer one, nor one asked for before the last
            // forced refresh (it may be the token that refresh invalidated).
            .condition_expression(
                "(attribute_not_exists(#fetched_ms) OR #fetched_ms <= :fetched_ms) \
                 AND (attribute_not_exists(#forced_ms) OR #forced_ms <= :requested_ms)",
            )
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_names("#token_exp", TOKEN_EXPIRES_AT)
            .expression_attribute_names("#fetched", FETCHED_AT)
            .expression_attribute_names("#fetched_ms", FETCHED_AT_MS)
            .expression_attribute_names("#requested_ms", REQUESTED_AT_MS)
            .expression_attribute_names("#forced_ms", FORCED_AT_MS)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":token", s(&cached.token))
            .expression_attribute_values(":token_exp", n(cached.expires_at))
            .expression_attribute_values(":fetched", n(cached.fetched_at()))
            .expression_attribute_values(":fetched_ms", n(cached.fetched_at_ms))
            .expression_attribute_values(":requested_ms", n(cached.requested_at_ms))
            .expression_attribute_values(":exp", n(cached.expires_at.max(day_ends)));
        written_unless_condition_failed(timed(Upstream::Store, request.send()).await)
    }

    async fn claim_forced_refresh(
        &self,
        appid: &str,
        now_ms: i64,
        policy: ForcedRefreshPolicy,
    ) -> Result<ForcedRefreshClaim, StoreError> {
        if policy.per_day == 0 {
            return Ok(ForcedRefreshClaim::DailyLimit);
        }
        let today = beijing_day(now_ms.div_euclid(1000));
        // The item outlives any token cached in it (WeChat's live 2 hours) and the day.
        let keep_until =
            end_of_beijing_day(today).max(now_ms.div_euclid(1000) + CLAIM_KEEP_SECONDS);
        let request = self
            .update_item(keys::access_token(appid))
            // Yesterday's count is dropped as today's starts; the item lives to the day's end.
            .update_expression(
                "SET #forced_ms = :now, #today = if_not_exists(#today, :zero) + :one, \
                 #exp = :keep_until REMOVE #yesterday",
            )
            .condition_expression(
                "(attribute_not_exists(#forced_ms) OR #forced_ms <= :cutoff) \
                 AND (attribute_not_exists(#today) OR #today < :per_day)",
            )
            .expression_attribute_names("#forced_ms", FORCED_AT_MS)
            .expression_attribute_names("#today", forced_count(today))
            .expression_attribute_names("#yesterday", forced_count(today - 1))
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":cutoff", n(now_ms - policy.min_interval_ms))
            .expression_attribute_values(":per_day", n(i64::from(policy.per_day)))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":keep_until", n(keep_until))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match timed(Upstream::Store, request.send()).await {
            Ok(_) => Ok(ForcedRefreshClaim::Granted),
            Err(err) => {
                let held = err.as_service_error().and_then(|service| match service {
                    UpdateItemError::ConditionalCheckFailedException(failed) => {
                        Some(failed.item().cloned().unwrap_or_default())
                    }
                    _ => None,
                });
                let Some(held) = held else {
                    return Err(err.into());
                };
                let spent = number_attr(&held, &forced_count(today))
                    .is_some_and(|count| count >= i64::from(policy.per_day));
                Ok(if spent {
                    ForcedRefreshClaim::DailyLimit
                } else {
                    ForcedRefreshClaim::TooSoon
                })
            }
        }
    }

    async fn release_forced_refresh(
        &self,
        appid: &str,
        claimed_at_ms: i64,
    ) -> Result<(), StoreError> {
        let day = beijing_day(claimed_at_ms.div_euclid(1000));
        let request = self
            .update_item(keys::access_token(appid))
            .update_expression("REMOVE #forced_ms ADD #day :minus_one")
            .condition_expression("#forced_ms = :mine")
            .expression_attribute_names("#forced_ms", FORCED_AT_MS)
            .expression_attribute_names("#day", forced_count(day))
            .expression_attribute_values(":mine", n(claimed_at_ms))
            .expression_attribute_values(":minus_one", n(-1));
        written_unless_condition_failed(timed(Upstream::Store, request.send()).await).map(|_| ())
    }
}
