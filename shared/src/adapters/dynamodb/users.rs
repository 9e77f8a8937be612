//! `user#<user key>` items: appid, openid, unionid?, created_at, last_login_at, the bound phone
//! (phone_number, pure_phone_number, country_code, phone_verified_at, phone_verified_by),
//! sessions_revoked_before_ms, and `sessions`: a string set of `<expires_at>:<token hash>`
//! listing the user's sessions, so "log out everywhere" can say how many it ended. No TTL:
//! a user outlives their sessions.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoTable;
use super::attributes::{Item, n, number_attr, s, string_attr, unless_condition_failed};
use super::keys::{self, PK};
use crate::domain::{
    BoundPhone, PhoneNumber, PhoneVerification, RecordedLogin, StoreError, TokenHash, User,
    UserKey, UserLogin,
};
use crate::ports::Users;
use crate::telemetry::current::{Upstream, timed};

/// Expired entries a user's session list may gather before a login prunes them.
const PRUNE_AFTER_EXPIRED: usize = 16;

impl Users for DynamoTable {
    /// One UpdateItem: `created_at` only if absent, so concurrent first logins agree;
    /// the old item comes back to say whether the user is new and what they have bound.
    async fn record_login(
        &self,
        key: &UserKey,
        login: &UserLogin,
        token: &TokenHash,
    ) -> Result<RecordedLogin, StoreError> {
        let mut set = "appid = :appid, openid = :openid, \
                       created_at = if_not_exists(created_at, :now), last_login_at = :now"
            .to_owned();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(&keys::user(key)))
            .expression_attribute_values(":appid", s(&login.appid))
            .expression_attribute_values(":openid", s(&login.openid))
            .expression_attribute_values(":now", n(login.at))
            .expression_attribute_values(":session", session_entry(login.session_expires_at, token))
            .return_values(ReturnValue::AllOld);
        if let Some(unionid) = &login.unionid {
            set.push_str(", unionid = :unionid");
            request = request.expression_attribute_values(":unionid", s(unionid));
        }
        let request = request.update_expression(format!("SET {set} ADD sessions :session"));
        let output = timed(Upstream::Store, request.send()).await?;
        let old = output.attributes.unwrap_or_default();
        let new_user = number_attr(&old, "created_at").is_none();
        let mut user = parse_user(&old).unwrap_or(User {
            appid: login.appid.clone(),
            openid: login.openid.clone(),
            unionid: None,
            created_at: login.at,
            last_login_at: login.at,
            phone: None,
            sessions_revoked_before_ms: 0,
        });
        user.last_login_at = login.at;
        if login.unionid.is_some() {
            user.unionid.clone_from(&login.unionid);
        }
        let expired = listed_sessions(&old)
            .filter(|(expires_at, _)| *expires_at <= login.at)
            .map(|(_, entry)| entry.to_owned())
            .collect::<Vec<_>>();
        if expired.len() > PRUNE_AFTER_EXPIRED {
            self.prune(key, expired).await;
        }
        Ok(RecordedLogin { user, new_user })
    }

    async fn bind_phone(
        &self,
        key: &UserKey,
        openid: &str,
        phone: &BoundPhone,
    ) -> Result<(), StoreError> {
        let number = &phone.number;
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(&keys::user(key)))
            .update_expression(
                "SET openid = :openid, created_at = if_not_exists(created_at, :at), \
                 phone_number = :number, pure_phone_number = :pure, country_code = :country, \
                 phone_verified_at = :at, phone_verified_by = :form",
            )
            .expression_attribute_values(":openid", s(openid))
            .expression_attribute_values(":number", s(&number.phone_number))
            .expression_attribute_values(":pure", s(&number.pure_phone_number))
            .expression_attribute_values(":country", s(&number.country_code))
            .expression_attribute_values(":at", n(phone.verified_at))
            .expression_attribute_values(":form", s(phone.verified_by.name()));
        timed(Upstream::Store, request.send()).await?;
        Ok(())
    }

    async fn revoke_sessions(
        &self,
        key: &UserKey,
        openid: &str,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        // The mark only moves forward: an instance whose clock is behind must not bring
        // back sessions a later revocation ended. Its condition failing means a later mark
        // already stands; the sessions are still taken off the list and counted.
        let forward = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(&keys::user(key)))
            .update_expression(
                "SET openid = :openid, sessions_revoked_before_ms = :now REMOVE sessions",
            )
            .condition_expression(
                "attribute_not_exists(sessions_revoked_before_ms) OR sessions_revoked_before_ms < :now",
            )
            .expression_attribute_values(":openid", s(openid))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllOld);
        let old = match timed(Upstream::Store, forward.send()).await {
            Ok(output) => output.attributes,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                let list_only = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(PK, s(&keys::user(key)))
                    .update_expression("REMOVE sessions")
                    .return_values(ReturnValue::AllOld);
                timed(Upstream::Store, list_only.send()).await?.attributes
            }
            Err(err) => return Err(err.into()),
        };
        let now = now_ms.div_euclid(1000);
        let live = old.as_ref().map_or(0, |old| {
            listed_sessions(old)
                .filter(|(expires_at, _)| *expires_at > now)
                .count()
        });
        Ok(u32::try_from(live).unwrap_or(u32::MAX))
    }

    async fn forget_session(
        &self,
        key: &UserKey,
        token: &TokenHash,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(&keys::user(key)))
            .update_expression("DELETE sessions :session")
            // Never create a user item just to remove nothing from it.
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":session", session_entry(expires_at, token));
        unless_condition_failed(timed(Upstream::Store, request.send()).await)
    }
}

impl DynamoTable {
    /// Drops expired entries from a user's session list (best effort: the next login
    /// tries again).
    async fn prune(&self, key: &UserKey, expired: Vec<String>) {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(&keys::user(key)))
            .update_expression("DELETE sessions :expired")
            .expression_attribute_values(":expired", AttributeValue::Ss(expired));
        if let Err(err) = timed(Upstream::Store, request.send()).await {
            tracing::warn!(error = %StoreError::from(err), "expired sessions not pruned from the user");
        }
    }
}

/// A session's entry in its user's list.
fn session_entry(expires_at: i64, token: &TokenHash) -> AttributeValue {
    AttributeValue::Ss(vec![format!("{expires_at}:{}", token.as_hex())])
}

/// `(expires_at, entry)` for each session listed on a user item.
fn listed_sessions(item: &Item) -> impl Iterator<Item = (i64, &str)> {
    item.get("sessions")
        .and_then(|value| value.as_ss().ok())
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let (expires_at, _) = entry.split_once(':')?;
            Some((expires_at.parse().ok()?, entry.as_str()))
        })
}

/// A user item, if it names its openid.
pub(super) fn parse_user(item: &Item) -> Option<User> {
    let phone = (|| {
        Some(BoundPhone {
            number: PhoneNumber {
                phone_number: string_attr(item, "phone_number")?,
                pure_phone_number: string_attr(item, "pure_phone_number")?,
                country_code: string_attr(item, "country_code")?,
            },
            verified_at: number_attr(item, "phone_verified_at")?,
            verified_by: PhoneVerification::from_name(&string_attr(item, "phone_verified_by")?)?,
        })
    })();
    Some(User {
        appid: string_attr(item, "appid")?,
        openid: string_attr(item, "openid")?,
        unionid: string_attr(item, "unionid"),
        // Only a login writes these; an item another update wrote first has none yet.
        created_at: number_attr(item, "created_at").unwrap_or(0),
        last_login_at: number_attr(item, "last_login_at").unwrap_or(0),
        phone,
        sessions_revoked_before_ms: number_attr(item, "sessions_revoked_before_ms").unwrap_or(0),
    })
}
