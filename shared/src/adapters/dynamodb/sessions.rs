//! `session#<sha256(token)>` items: openid, unionid?, session_key, created_at, expires_at.

use aws_sdk_dynamodb::types::ReturnValue;
use secrecy::{ExposeSecret, SecretString};

use super::DynamoTable;
use super::attributes::{Item, n, number_attr, s, string_attr};
use super::keys::{self, EXPIRES_AT, PK};
use crate::domain::{Session, StoreError, TokenHash};
use crate::ports::Sessions;
use crate::telemetry::timings::{Upstream, timed};

impl Sessions for DynamoTable {
    /// One PutItem, so the session exists whole or not at all.
    async fn put_session(&self, token: &TokenHash, session: &Session) -> Result<(), StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&keys::session(token)))
            .item("openid", s(&session.openid))
            .item("session_key", s(session.session_key.expose_secret()))
            .item("created_at", n(session.created_at))
            .item(EXPIRES_AT, n(session.expires_at));
        if let Some(unionid) = &session.unionid {
            request = request.item("unionid", s(unionid));
        }
        timed(Upstream::Store, request.send()).await?;
        Ok(())
    }

    async fn get_session(
        &self,
        token: &TokenHash,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let item = timed(Upstream::Store, self.get_item(keys::session(token))).await?;
        let Some(item) = item else {
            return Ok(None);
        };
        let session = parse_session(&item);
        if session.is_none() {
            tracing::warn!("session item with missing or mistyped attributes treated as absent");
        }
        Ok(session.filter(|session| session.is_live_at(now)))
    }

    async fn delete_session(&self, token: &TokenHash, now: i64) -> Result<bool, StoreError> {
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(&keys::session(token)))
            .return_values(ReturnValue::AllOld);
        let output = timed(Upstream::Store, request.send()).await?;
        Ok(output
            .attributes
            .as_ref()
            .and_then(parse_session)
            .is_some_and(|session| session.is_live_at(now)))
    }
}

fn parse_session(item: &Item) -> Option<Session> {
    Some(Session {
        openid: string_attr(item, "openid")?,
        unionid: string_attr(item, "unionid"),
        session_key: SecretString::from(string_attr(item, "session_key")?),
        created_at: number_attr(item, "created_at")?,
        expires_at: number_attr(item, EXPIRES_AT)?,
    })
}
