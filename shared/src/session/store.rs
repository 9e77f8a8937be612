//! The DynamoDB store: sessions and single-use code claims in one table keyed by `pk`.
//!
//! Items:
//! - `session#<sha256(token)>`: openid, unionid?, session_key, created_at, expires_at;
//! - `code#<sha256(code)>`: claim_id, created_at, expires_at (the life of a code).
//!
//! `expires_at` is the table's TTL attribute. TTL deletes lazily (days late in AWS,
//! never in DynamoDB Local), so every read and every claim checks it too.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use secrecy::{ExposeSecret, SecretString};

use super::TokenHash;
use crate::wechat::LoginCode;

/// How long a claimed code blocks replays: as long as WeChat keeps a code valid.
pub const CODE_CLAIM_TTL_SECONDS: i64 = 300;

pub(super) const PK: &str = "pk";
pub(super) const EXPIRES_AT: &str = "expires_at";

/// A stored login session.
pub struct Session {
    /// The user's openid.
    pub openid: String,
    /// The user's unionid, when WeChat gave one.
    pub unionid: Option<String>,
    /// WeChat's session_key (base64 text as WeChat sent it); never leaves the server.
    pub session_key: SecretString,
    /// Epoch seconds of the login.
    pub created_at: i64,
    /// Epoch seconds after which the session is dead, whatever the table still holds.
    pub expires_at: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .field("session_key", &"[REDACTED]")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// DynamoDB could not do what we asked (unreachable, throttled after retries, ...).
#[derive(Debug, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct StoreError(String);

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn from(err: SdkError<E, R>) -> Self {
        // SDK error texts name the operation and failure, never item values.
        Self(DisplayErrorContext(&err).to_string())
    }
}

/// Why a code could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Another request holds a live claim on this code.
    #[error("code already claimed")]
    AlreadyClaimed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Proof that this request owns a code until it is released or expires.
#[derive(Debug)]
pub struct CodeClaim {
    key: String,
    claim_id: String,
}

/// Sessions and code claims in one DynamoDB table.
#[derive(Clone)]
pub struct SessionStore {
    pub(super) client: Client,
    pub(super) table: String,
}

impl SessionStore {
    /// A store over `table`, using a client built once at init.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Claims `code` with a conditional write so that, of any number of concurrent
    /// requests carrying it, exactly one goes on to call WeChat.
    pub async fn claim_code(&self, code: &LoginCode, now: i64) -> Result<CodeClaim, ClaimError> {
        let key = format!("code#{}", code.digest_hex());
        let claim_id = random_id().map_err(|err| StoreError(err.to_string()))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&key))
            .item("claim_id", s(&claim_id))
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
        match result {
            Ok(_) => Ok(CodeClaim { key, claim_id }),
            Err(err) => {
                let holder = err
                    .as_service_error()
                    .and_then(|service| match service {
                        PutItemError::ConditionalCheckFailedException(failed) => Some(failed),
                        _ => None,
                    })
                    .map(|failed| failed.item().and_then(|item| string_attr(item, "claim_id")));
                match holder {
                    // The SDK retried a write whose first attempt had landed: the claim is ours.
                    Some(Some(holder)) if holder == claim_id => Ok(CodeClaim { key, claim_id }),
                    Some(_) => Err(ClaimError::AlreadyClaimed),
                    None => {
                        let failure = StoreError::from(err);
                        // A timed-out attempt may still have written the claim: take it back
                        // (best effort) so the user's retry with this code is not a 409.
                        let _ = self.release_code(CodeClaim { key, claim_id }).await;
                        Err(failure.into())
                    }
                }
            }
        }
    }

    /// Gives a claim back so the same code can be tried again (WeChat did not consume it).
    /// A claim someone else took over after ours expired is left alone.
    pub async fn release_code(&self, claim: CodeClaim) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(&claim.key))
            .condition_expression("claim_id = :id")
            .expression_attribute_values(":id", s(&claim.claim_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Writes a session in one PutItem, so it exists whole or not at all.
    pub async fn put_session(
        &self,
        token: &TokenHash,
        session: &Session,
    ) -> Result<(), StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&session_key_of(token)))
            .item("openid", s(&session.openid))
            .item("session_key", s(session.session_key.expose_secret()))
            .item("created_at", n(session.created_at))
            .item(EXPIRES_AT, n(session.expires_at));
        if let Some(unionid) = &session.unionid {
            request = request.item("unionid", s(unionid));
        }
        request.send().await?;
        Ok(())
    }

    /// Loads the live session for a token; `None` when unknown or expired at `now`.
    pub async fn get_session(
        &self,
        token: &TokenHash,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let Some(item) = self.get_item(session_key_of(token)).await? else {
            return Ok(None);
        };
        let session = parse_session(&item);
        if session.is_none() {
            tracing::warn!("session item with missing or mistyped attributes treated as absent");
        }
        Ok(session.filter(|session| session.expires_at > now))
    }

    /// Reads one item, strongly consistent: a client calls right after `/onlogin`, and an
    /// eventually consistent read could miss the session it just got.
    pub(super) async fn get_item(
        &self,
        key: String,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(key))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }

    /// Deletes a session (logout): the token stops working at once. True when it was live
    /// at `now`; an absent or already expired session is deleted all the same (no error), so
    /// a repeated logout is harmless.
    pub async fn delete_session(&self, token: &TokenHash, now: i64) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(&session_key_of(token)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await?;
        Ok(output
            .attributes
            .as_ref()
            .and_then(parse_session)
            .is_some_and(|session| session.expires_at > now))
    }
}

fn session_key_of(token: &TokenHash) -> String {
    format!("session#{}", token.as_hex())
}

fn parse_session(item: &HashMap<String, AttributeValue>) -> Option<Session> {
    Some(Session {
        openid: string_attr(item, "openid")?,
        unionid: string_attr(item, "unionid"),
        session_key: SecretString::from(string_attr(item, "session_key")?),
        created_at: number_attr(item, "created_at")?,
        expires_at: number_attr(item, EXPIRES_AT)?,
    })
}

pub(super) fn string_attr(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

pub(super) fn number_attr(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

pub(super) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}
