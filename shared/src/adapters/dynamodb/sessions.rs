//! `session#<sha256(token)>` items: appid, openid, unionid?, session_key, created_at, expires_at,
//! issued_at_ms. A session is read together with its user (`user#<key>`, the key carried
//! by the token) in one BatchGetItem: it is live only while that user lists it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use secrecy::{ExposeSecret, SecretString};

use super::attributes::{Item, n, number_attr, s, string_attr};
use super::keys::{self, EXPIRES_AT, PK};
use super::users::parse_user;
use super::{BATCH_ATTEMPTS, DynamoTable, UNPROCESSED_BACKOFF};
use crate::domain::{LiveSession, Session, SessionToken, StoreError, TokenHash};
use crate::ports::Sessions;
use crate::telemetry::current::{Upstream, timed};

impl Sessions for DynamoTable {
    /// One PutItem, so the session exists whole or not at all.
    async fn put_session(&self, token: &TokenHash, session: &Session) -> Result<(), StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&keys::session(token)))
            .item("appid", s(&session.appid))
            .item("openid", s(&session.openid))
            .item("session_key", s(session.session_key.expose_secret()))
            .item("created_at", n(session.created_at))
            .item("issued_at_ms", n(session.issued_at_ms))
            .item(EXPIRES_AT, n(session.expires_at));
        if let Some(unionid) = &session.unionid {
            request = request.item("unionid", s(unionid));
        }
        timed(Upstream::Store, request.send()).await?;
        Ok(())
    }

    async fn get_session(
        &self,
        token: &SessionToken,
        now_ms: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        let hash = token.hash();
        let session_key = keys::session(&hash);
        let user_key = keys::user(&token.user_key());
        let mut items = timed(
            Upstream::Store,
            self.get_items(&[session_key.clone(), user_key.clone()]),
        )
        .await?;
        let Some(item) = items.remove(&session_key) else {
            return Ok(None);
        };
        let Some(session) = parse_session(&item) else {
            tracing::warn!("session item with missing or mistyped attributes treated as absent");
            return Ok(None);
        };
        let user = items.remove(&user_key).and_then(|item| parse_user(&item));
        Ok(LiveSession::check(session, &hash, user, now_ms))
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(&keys::session(token)));
        timed(Upstream::Store, request.send()).await?;
        Ok(())
    }

    async fn delete_sessions(&self, tokens: &[TokenHash]) -> Result<(), StoreError> {
        let pks = tokens.iter().map(keys::session).collect();
        timed(Upstream::Store, self.delete_items(pks)).await
    }
}

impl DynamoTable {
    /// Reads up to 100 items by key in one BatchGetItem, strongly consistent, keyed by
    /// their `pk`; absent items are simply missing from the map.
    async fn get_items(&self, pks: &[String]) -> Result<HashMap<String, Item>, StoreError> {
        let mut wanted = KeysAndAttributes::builder().consistent_read(true);
        for pk in pks {
            wanted = wanted.keys(HashMap::from([(PK.to_owned(), s(pk))]));
        }
        let mut wanted = wanted
            .build()
            .map_err(|err| StoreError::new(err.to_string()))?;
        let mut found = HashMap::new();
        for _ in 0..BATCH_ATTEMPTS {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, wanted)
                .send()
                .await?;
            for item in output
                .responses
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default()
            {
                if let Some(pk) = string_attr(&item, PK) {
                    found.insert(pk, item);
                }
            }
            match output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
            {
                Some(left) if !left.keys.is_empty() => {
                    wanted = left;
                    // Unprocessed means throttled: give the partition a moment.
                    tokio::time::sleep(UNPROCESSED_BACKOFF).await;
                }
                _ => return Ok(found),
            }
        }
        Err(StoreError::new(
            "BatchGetItem left keys unprocessed after retries (throttled)",
        ))
    }
}

fn parse_session(item: &Item) -> Option<Session> {
    Some(Session {
        appid: string_attr(item, "appid")?,
        openid: string_attr(item, "openid")?,
        unionid: string_attr(item, "unionid"),
        session_key: SecretString::from(string_attr(item, "session_key")?),
        created_at: number_attr(item, "created_at")?,
        expires_at: number_attr(item, EXPIRES_AT)?,
        issued_at_ms: number_attr(item, "issued_at_ms")?,
    })
}
