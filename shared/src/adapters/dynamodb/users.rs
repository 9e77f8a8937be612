//! `user#<user key>` items: appid, openid, unionid?, created_at, last_login_at, the bound
//! phone (phone_number, pure_phone_number, country_code, phone_verified_at,
//! phone_verified_by), WeChat's risk rank at sign-up (risk_rank, risk_checked_at), `sessions` (a string set of [`ListedSession`] entries: the live
//! ones), `ended_sessions` (ended, items still to delete), `erasing_since_ms` while an
//! erasure is under way, and `expires_at` when the stack expires inactive users.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoTable;
use super::attributes::{
    Item, is_condition_failure, n, number_attr, s, string_attr, unless_condition_failed,
    written_unless_condition_failed,
};
use super::keys::{self, EXPIRES_AT, PK};
use crate::domain::{
    BoundPhone, ErasureReason, ErasureTarget, ListedSession, PhoneNumber, PhoneVerification,
    RecordedLogin, RiskAssessment, RiskRank, StoreError, User, UserKey, UserLogin,
};
use crate::ports::{ERASURE_DEADLINE_SECONDS, Users};
use crate::telemetry::current::{Upstream, timed};

/// Expired entries a user's session lists may gather before a login prunes them.
const PRUNE_AFTER_EXPIRED: usize = 16;
/// An entry is pruned only this long after its session expired: by then DynamoDB's TTL
/// has deleted the session item (typically within 48 h), so no item is left that an
/// erasure would need the entry to find.
const PRUNE_GRACE_SECONDS: i64 = 3 * 24 * 3600;
/// A login meeting an erasure tries this many times before giving up (each lost race
/// means the item changed under it: the erasure finished, or another login replaced it).
const LOGIN_ATTEMPTS: usize = 3;

const SESSIONS: &str = "sessions";
const ENDED_SESSIONS: &str = "ended_sessions";
const ERASING_SINCE_MS: &str = "erasing_since_ms";
const RISK_RANK: &str = "risk_rank";
const RISK_CHECKED_AT: &str = "risk_checked_at";
/// Why the user is being erased: the audit reason, should the item's deadline come first.
const ERASING_REASON: &str = "erasing_reason";
/// Everything a phone binding writes; an unbinding removes exactly these.
const PHONE_ATTRIBUTES: [&str; 5] = [
    "phone_number",
    "pure_phone_number",
    "country_code",
    "phone_verified_at",
    "phone_verified_by",
];

impl Users for DynamoTable {
    async fn record_login(
        &self,
        key: &UserKey,
        login: &UserLogin,
    ) -> Result<RecordedLogin, StoreError> {
        for _ in 0..LOGIN_ATTEMPTS {
            if let Some(recorded) = self.touch_user(key, login).await? {
                return Ok(recorded);
            }
            if let Some(recorded) = self.replace_stale_user(key, login).await? {
                return Ok(recorded);
            }
        }
        Err(StoreError::new(
            "the user item kept changing under a login (an erasure racing it)",
        ))
    }

    async fn user(&self, key: &UserKey) -> Result<Option<User>, StoreError> {
        let item = timed(Upstream::Store, self.get_item(keys::user(key))).await?;
        Ok(item.as_ref().and_then(parse_user))
    }

    async fn bind_phone(
        &self,
        key: &UserKey,
        session: &ListedSession,
        phone: &BoundPhone,
    ) -> Result<bool, StoreError> {
        let number = &phone.number;
        let request = self
            .update_listing_user(
                key,
                session,
                "SET phone_number = :number, pure_phone_number = :pure, country_code = :country, \
                 phone_verified_at = :at, phone_verified_by = :form",
            )
            .expression_attribute_values(":number", s(&number.phone_number))
            .expression_attribute_values(":pure", s(&number.pure_phone_number))
            .expression_attribute_values(":country", s(&number.country_code))
            .expression_attribute_values(":at", n(phone.verified_at))
            .expression_attribute_values(":form", s(phone.verified_by.name()));
        written_unless_condition_failed(timed(Upstream::Store, request.send()).await)
    }

    async fn record_risk(
        &self,
        key: &UserKey,
        session: &ListedSession,
        risk: &RiskAssessment,
        expires_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut set = format!("SET {RISK_RANK} = :rank, {RISK_CHECKED_AT} = :at");
        if expires_at.is_some() {
            set.push_str(", #expires = :expires");
        }
        let mut request = self
            .update_listing_user(key, session, &set)
            .expression_attribute_values(":rank", n(i64::from(risk.rank.value())))
            .expression_attribute_values(":at", n(risk.checked_at));
        if let Some(expires_at) = expires_at {
            request = request
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_values(":expires", n(expires_at));
        }
        written_unless_condition_failed(timed(Upstream::Store, request.send()).await)
    }

    async fn unbind_phone(&self, key: &UserKey, appid: &str) -> Result<bool, StoreError> {
        let request = self
            .update_item(keys::user(key))
            .update_expression(format!("REMOVE {}", PHONE_ATTRIBUTES.join(", ")))
            .condition_expression(
                "attribute_exists(phone_number) AND appid = :appid AND attribute_not_exists(#erasing)",
            )
            .expression_attribute_names("#erasing", ERASING_SINCE_MS)
            .expression_attribute_values(":appid", s(appid));
        written_unless_condition_failed(timed(Upstream::Store, request.send()).await)
    }

    async fn end_sessions(&self, key: &UserKey) -> Result<Vec<ListedSession>, StoreError> {
        // Read, then move exactly what was read: a login listing a session meanwhile keeps
        // it, and no session leaves both lists before its item is deleted.
        let Some(item) = timed(Upstream::Store, self.get_item(keys::user(key))).await? else {
            return Ok(Vec::new());
        };
        let listed = listed_sessions(&item, SESSIONS);
        if !self.end_listed(key, &listed).await? {
            // Erased meanwhile: nothing of theirs is live.
            return Ok(Vec::new());
        }
        Ok(listed)
    }

    async fn end_listed(
        &self,
        key: &UserKey,
        sessions: &[ListedSession],
    ) -> Result<bool, StoreError> {
        if sessions.is_empty() {
            return Ok(true);
        }
        let entries: Vec<String> = sessions.iter().map(ListedSession::entry).collect();
        let request = self
            .update_item(keys::user(key))
            .update_expression("ADD #ended :listed DELETE #sessions :listed")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ended", ENDED_SESSIONS)
            .expression_attribute_names("#sessions", SESSIONS)
            .expression_attribute_values(":listed", AttributeValue::Ss(entries));
        written_unless_condition_failed(timed(Upstream::Store, request.send()).await)
    }

    async fn forget_session(
        &self,
        key: &UserKey,
        session: &ListedSession,
    ) -> Result<(), StoreError> {
        self.remove_from_set(key, SESSIONS, vec![session.entry()])
            .await
    }

    async fn forget_ended(
        &self,
        key: &UserKey,
        sessions: &[ListedSession],
    ) -> Result<(), StoreError> {
        if sessions.is_empty() {
            return Ok(());
        }
        let entries = sessions.iter().map(ListedSession::entry).collect();
        self.remove_from_set(key, ENDED_SESSIONS, entries).await
    }

    async fn begin_erasure(
        &self,
        key: &UserKey,
        appid: &str,
        reason: ErasureReason,
        now_ms: i64,
    ) -> Result<Option<ErasureTarget>, StoreError> {
        let deadline = now_ms.div_euclid(1000) + ERASURE_DEADLINE_SECONDS;
        let request = self
            .update_item(keys::user(key))
            .update_expression(
                "SET #erasing = if_not_exists(#erasing, :now), \
                 #reason = if_not_exists(#reason, :reason), #expires = :deadline",
            )
            // Only the app's own user: a push signed for one app never erases another's.
            .condition_expression("appid = :appid")
            .expression_attribute_names("#erasing", ERASING_SINCE_MS)
            .expression_attribute_names("#reason", ERASING_REASON)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":appid", s(appid))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":reason", s(reason.name()))
            .expression_attribute_values(":deadline", n(deadline))
            .return_values(ReturnValue::AllNew);
        let item = match timed(Upstream::Store, request.send()).await {
            Ok(output) => output.attributes.unwrap_or_default(),
            Err(err) if is_condition_failure(&err) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        Ok(Some(ErasureTarget {
            since_ms: number_attr(&item, ERASING_SINCE_MS).unwrap_or(now_ms),
            sessions: listed_sessions(&item, SESSIONS),
            ended: listed_sessions(&item, ENDED_SESSIONS),
        }))
    }

    async fn finish_erasure(
        &self,
        key: &UserKey,
        target: &ErasureTarget,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(&keys::user(key)))
            .condition_expression("#erasing = :since")
            .expression_attribute_names("#erasing", ERASING_SINCE_MS)
            .expression_attribute_values(":since", n(target.since_ms));
        if written_unless_condition_failed(timed(Upstream::Store, request.send()).await)? {
            return Ok(());
        }
        // A login replaced the user meanwhile: it keeps its brand-new user, and our
        // sessions, deleted now, leave its ended list.
        let erased: Vec<_> = target.all_sessions().cloned().collect();
        self.forget_ended(key, &erased).await
    }
}

impl DynamoTable {
    /// An update of the user under `key` made only while it still lists `session`: never
    /// onto an ended session's user, nor bringing back an erased or hand-deleted item.
    fn update_listing_user(
        &self,
        key: &UserKey,
        session: &ListedSession,
        update: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.update_item(keys::user(key))
            .update_expression(update)
            .condition_expression(
                "contains(#sessions, :session) AND attribute_not_exists(#erasing)",
            )
            .expression_attribute_names("#sessions", SESSIONS)
            .expression_attribute_names("#erasing", ERASING_SINCE_MS)
            .expression_attribute_values(":session", s(&session.entry()))
    }

    /// A login's UpdateItem on a user not being erased (`created_at` only if absent, so
    /// concurrent first logins agree); the old item says whether the user is new and
    /// what they have bound. `None` when the user is being erased.
    async fn touch_user(
        &self,
        key: &UserKey,
        login: &UserLogin,
    ) -> Result<Option<RecordedLogin>, StoreError> {
        let mut set = vec![
            "appid = :appid",
            "openid = :openid",
            "created_at = if_not_exists(created_at, :now)",
            "last_login_at = :now",
        ];
        let mut request = self
            .update_item(keys::user(key))
            // Neither being erased nor expired (TTL deletes days late): either is replaced
            // by a brand-new user, never brought back.
            .condition_expression(
                "attribute_not_exists(#erasing) AND (attribute_not_exists(#expires) OR #expires > :now)",
            )
            .expression_attribute_names("#erasing", ERASING_SINCE_MS)
            .expression_attribute_names("#sessions", SESSIONS)
            .expression_attribute_values(":appid", s(&login.appid))
            .expression_attribute_values(":openid", s(&login.openid))
            .expression_attribute_values(":now", n(login.at))
            .expression_attribute_values(
                ":session",
                AttributeValue::Ss(vec![login.session.entry()]),
            )
            .return_values(ReturnValue::AllOld);
        if let Some(unionid) = &login.unionid {
            set.push("unionid = :unionid");
            request = request.expression_attribute_values(":unionid", s(unionid));
        }
        let remove = match login.keep_until {
            Some(keep_until) => {
                set.push("#expires = :keep_until");
                request = request.expression_attribute_values(":keep_until", n(keep_until));
                ""
            }
            None => " REMOVE #expires",
        };
        let request = request
            .expression_attribute_names("#expires", EXPIRES_AT)
            .update_expression(format!(
                "SET {}{remove} ADD #sessions :session",
                set.join(", ")
            ));
        let old = match timed(Upstream::Store, request.send()).await {
            Ok(output) => output.attributes.unwrap_or_default(),
            Err(err) if is_condition_failure(&err) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let new_user = number_attr(&old, "created_at").is_none();
        let user = match parse_user(&old) {
            Some(mut user) if !new_user => {
                user.last_login_at = login.at;
                user.expires_at = login.keep_until;
                if login.unionid.is_some() {
                    user.unionid.clone_from(&login.unionid);
                }
                if !user.sessions.contains(&login.session) {
                    user.sessions.push(login.session.clone());
                }
                user
            }
            _ => User::created_by(login),
        };
        self.prune_expired(key, &old, login.at).await;
        Ok(Some(RecordedLogin { user, new_user }))
    }

    /// Replaces a user being erased, or expired for inactivity, with a brand-new one
    /// listing only this login's session; the old sessions move to its ended list for an
    /// erasure to delete. One PutItem, so nothing of the old user (phone, created_at,
    /// anything added later) survives. `None` when the item is neither any more (the
    /// caller retries).
    async fn replace_stale_user(
        &self,
        key: &UserKey,
        login: &UserLogin,
    ) -> Result<Option<RecordedLogin>, StoreError> {
        let Some(old) = timed(Upstream::Store, self.get_item(keys::user(key))).await? else {
            return Ok(None);
        };
        // The item must still be what was read: the same mark, or the same expiry.
        let (condition, name, value) = match (
            number_attr(&old, ERASING_SINCE_MS),
            number_attr(&old, EXPIRES_AT),
        ) {
            (Some(since_ms), _) => ("#stale = :seen", ERASING_SINCE_MS, since_ms),
            (None, Some(expires_at)) if expires_at <= login.at => (
                "#stale = :seen AND attribute_not_exists(erasing_since_ms)",
                EXPIRES_AT,
                expires_at,
            ),
            _ => return Ok(None),
        };
        let mut ended = string_set(&old, SESSIONS);
        ended.extend(string_set(&old, ENDED_SESSIONS));
        ended.sort();
        ended.dedup();
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&keys::user(key)))
            .item("appid", s(&login.appid))
            .item("openid", s(&login.openid))
            .item("created_at", n(login.at))
            .item("last_login_at", n(login.at))
            .item(SESSIONS, AttributeValue::Ss(vec![login.session.entry()]))
            .condition_expression(condition)
            .expression_attribute_names("#stale", name)
            .expression_attribute_values(":seen", n(value));
        if let Some(unionid) = &login.unionid {
            request = request.item("unionid", s(unionid));
        }
        if let Some(keep_until) = login.keep_until {
            request = request.item(EXPIRES_AT, n(keep_until));
        }
        if !ended.is_empty() {
            request = request.item(ENDED_SESSIONS, AttributeValue::Ss(ended));
        }
        if !written_unless_condition_failed(timed(Upstream::Store, request.send()).await)? {
            return Ok(None);
        }
        Ok(Some(RecordedLogin {
            user: User::created_by(login),
            new_user: true,
        }))
    }

    /// Drops long-expired entries from a user's session lists once enough have gathered
    /// (best effort: the next login tries again).
    async fn prune_expired(&self, key: &UserKey, item: &Item, now: i64) {
        let cutoff = now - PRUNE_GRACE_SECONDS;
        for list in [SESSIONS, ENDED_SESSIONS] {
            let expired: Vec<String> = string_set(item, list)
                .into_iter()
                .filter(|entry| {
                    ListedSession::parse(entry).is_none_or(|listed| !listed.is_live_at(cutoff))
                })
                .collect();
            if expired.len() <= PRUNE_AFTER_EXPIRED {
                continue;
            }
            if let Err(err) = self.remove_from_set(key, list, expired).await {
                tracing::warn!(error = %err, list, "expired sessions not pruned from the user");
            }
        }
    }

    /// Removes `entries` from the string set `list` of an existing user item.
    async fn remove_from_set(
        &self,
        key: &UserKey,
        list: &str,
        entries: Vec<String>,
    ) -> Result<(), StoreError> {
        let request = self
            .update_item(keys::user(key))
            .update_expression("DELETE #list :entries")
            // Never create a user item just to remove nothing from it.
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#list", list)
            .expression_attribute_values(":entries", AttributeValue::Ss(entries));
        unless_condition_failed(timed(Upstream::Store, request.send()).await)
    }
}

/// The entries of a string set attribute (none when absent).
fn string_set(item: &Item, name: &str) -> Vec<String> {
    item.get(name)
        .and_then(|value| value.as_ss().ok())
        .cloned()
        .unwrap_or_default()
}

/// The sessions a string set attribute lists (none when absent).
fn listed_sessions(item: &Item, name: &str) -> Vec<ListedSession> {
    string_set(item, name)
        .iter()
        .filter_map(|entry| ListedSession::parse(entry))
        .collect()
}

/// A user item, if it names its app and openid.
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
    let risk = (|| {
        Some(RiskAssessment {
            rank: RiskRank::new(number_attr(item, RISK_RANK)?)?,
            checked_at: number_attr(item, RISK_CHECKED_AT)?,
        })
    })();
    Some(User {
        appid: string_attr(item, "appid")?,
        openid: string_attr(item, "openid")?,
        unionid: string_attr(item, "unionid"),
        created_at: number_attr(item, "created_at")?,
        last_login_at: number_attr(item, "last_login_at")?,
        phone,
        risk,
        sessions: listed_sessions(item, SESSIONS),
        erasing_since_ms: number_attr(item, ERASING_SINCE_MS),
        expires_at: number_attr(item, EXPIRES_AT),
    })
}
