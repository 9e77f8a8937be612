//! [`MemoryTable`]: the in-memory twin of the DynamoDB table, with an outage switch.
//! Each port method counts as one call, as each is one round trip to DynamoDB.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::adapters::dynamodb::keys;
use crate::domain::clock::beijing_day;
use crate::domain::pack_forecast::kept_readings;
use crate::domain::{
    BoundPhone, CachedAccessToken, ErasureReason, ErasureRecord, ErasureTarget, ForcedRefreshClaim,
    ForcedRefreshPolicy, ListedSession, LiveSession, LoginCode, QuotaWindow, RecordedLogin,
    RiskAssessment, Session, SessionToken, StoreError, TokenHash, User, UserKey, UserLogin,
};
use crate::domain::{PackReading, PhonePack};
use crate::ports::PackReadings;
use crate::ports::{
    AccessTokenStore, CODE_CLAIM_TTL_SECONDS, ClaimError, CodeClaim, CodeClaims,
    ERASURE_DEADLINE_SECONDS, ErasureLog, Quotas, Sessions, UserDirectory, Users,
};

/// Sessions, code claims and access tokens in memory. Clones share one table, so a test
/// keeps a handle to look inside while the use-case holds another.
#[derive(Clone, Default)]
pub struct MemoryTable(Arc<Mutex<Tables>>);

#[derive(Default)]
struct Tables {
    sessions: HashMap<TokenHash, Session>,
    /// Code digest → (claim id, expires_at).
    claims: HashMap<String, (String, i64)>,
    access_tokens: HashMap<String, AccessTokenRecord>,
    /// Quota window name → calls counted.
    quotas: HashMap<String, u32>,
    users: HashMap<UserKey, UserRecord>,
    /// Audit subject → the latest erasure record.
    erasures: HashMap<String, ErasureRecord>,
    /// (appid, kind) → the pack readings kept, oldest first.
    pack_readings: HashMap<(String, PhonePack), Vec<PackReading>>,
    /// Calls that still succeed before an outage starts.
    healthy_calls_left: u32,
    /// Calls that fail with a [`StoreError`] before doing anything.
    failures_left: u32,
    calls: u32,
    next_claim_id: u64,
}

/// The access-token item of one appid: the token, and the forced refreshes claimed.
#[derive(Default)]
struct AccessTokenRecord {
    token: Option<CachedAccessToken>,
    forced_at_ms: Option<i64>,
    /// Beijing day → forced refreshes claimed that day.
    forced_per_day: HashMap<i64, u32>,
}

/// A user item: the user (with the sessions it lists), and the ended sessions whose items
/// are still to delete. Only a login creates one.
struct UserRecord {
    user: User,
    ended: Vec<ListedSession>,
    /// The reason of the erasure under way, if one is.
    erasing_reason: Option<ErasureReason>,
}

impl UserRecord {
    /// A brand-new user for `login`, listing its session.
    fn created_by(login: &UserLogin) -> Self {
        Self {
            user: User::created_by(login),
            ended: Vec::new(),
            erasing_reason: None,
        }
    }

    /// Being erased, or expired for inactivity at `now` (TTL deletes late): a login
    /// replaces such a user with a brand-new one.
    fn is_stale_at(&self, now: i64) -> bool {
        self.user.erasing_since_ms.is_some()
            || self
                .user
                .expires_at
                .is_some_and(|expires_at| expires_at <= now)
    }
}

/// Adds `entries` to `set`, each once, as DynamoDB's string sets do.
fn add_to_set(set: &mut Vec<ListedSession>, entries: impl IntoIterator<Item = ListedSession>) {
    for entry in entries {
        if !set.contains(&entry) {
            set.push(entry);
        }
    }
}

impl Tables {
    /// Counts a call; `Err` while an outage lasts.
    fn call(&mut self) -> Result<(), StoreError> {
        self.calls += 1;
        if self.healthy_calls_left > 0 {
            self.healthy_calls_left -= 1;
        } else if self.failures_left > 0 {
            self.failures_left -= 1;
            return Err(StoreError::new("memory table: simulated outage"));
        }
        Ok(())
    }
}

impl MemoryTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the next `calls` calls fail as an unreachable DynamoDB would.
    pub fn fail_next(&self, calls: u32) {
        self.fail_after(0, calls);
    }

    /// Lets `healthy` more calls succeed, then fails the `failing` after them.
    pub fn fail_after(&self, healthy: u32, failing: u32) {
        let mut tables = self.tables();
        tables.healthy_calls_left = healthy;
        tables.failures_left = failing;
    }

    /// Every call made so far, failed ones included.
    pub fn calls(&self) -> u32 {
        self.tables().calls
    }

    /// How many sessions are stored (live or not).
    pub fn session_count(&self) -> usize {
        self.tables().sessions.len()
    }

    /// How many code claims are stored (live or not).
    pub fn claim_count(&self) -> usize {
        self.tables().claims.len()
    }

    /// The user under `key`, as stored.
    /// Applies `change` to the user under `key` while it still lists `session` and is not
    /// being erased: `Ok(false)`, nothing changed, otherwise.
    fn change_listing_user(
        &self,
        key: &UserKey,
        session: &ListedSession,
        change: impl FnOnce(&mut User),
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let Some(record) = tables.users.get_mut(key) else {
            return Ok(false);
        };
        if record.user.erasing_since_ms.is_some() || !record.user.sessions.contains(session) {
            return Ok(false);
        }
        change(&mut record.user);
        Ok(true)
    }

    pub fn user(&self, key: &UserKey) -> Option<User> {
        self.tables()
            .users
            .get(key)
            .map(|record| record.user.clone())
    }

    /// How many ended sessions the user item of `key` still lists (0 without one).
    pub fn ended_count(&self, key: &UserKey) -> usize {
        self.tables()
            .users
            .get(key)
            .map_or(0, |record| record.ended.len())
    }

    /// Deletes the user item under `key`, as an operator might by hand.
    pub fn delete_user(&self, key: &UserKey) {
        self.tables().users.remove(key);
    }

    /// How many users are stored.
    pub fn user_count(&self) -> usize {
        self.tables().users.len()
    }

    /// The key of every item stored, named as DynamoDB would store it.
    pub fn stored_keys(&self) -> Vec<String> {
        let tables = self.tables();
        let mut stored: Vec<String> = tables
            .sessions
            .keys()
            .map(keys::session)
            .chain(tables.users.keys().map(keys::user))
            .chain(
                tables
                    .quotas
                    .keys()
                    .map(|name| format!("{}{name}", keys::QUOTA)),
            )
            .chain(tables.claims.keys().map(|digest| keys::code_claim(digest)))
            .chain(
                tables
                    .access_tokens
                    .keys()
                    .map(|appid| keys::access_token(appid)),
            )
            .chain(tables.erasures.keys().map(|subject| keys::erasure(subject)))
            .chain(
                tables
                    .pack_readings
                    .keys()
                    .map(|(appid, pack)| keys::pack_readings(appid, *pack)),
            )
            .collect();
        stored.sort();
        stored
    }

    /// The latest erasure record of `subject`.
    pub fn erasure(&self, subject: &str) -> Option<ErasureRecord> {
        self.tables().erasures.get(subject).cloned()
    }

    /// The stored access token of `appid`, as another instance would read it.
    pub fn access_token(&self, appid: &str) -> Option<CachedAccessToken> {
        self.tables()
            .access_tokens
            .get(appid)
            .and_then(|record| record.token.clone())
    }
}

impl Sessions for MemoryTable {
    async fn put_session(&self, token: &TokenHash, session: &Session) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        tables.sessions.insert(token.clone(), session.clone());
        Ok(())
    }

    async fn get_session(
        &self,
        token: &SessionToken,
        now_ms: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let hash = token.hash();
        let Some(session) = tables.sessions.get(&hash).cloned() else {
            return Ok(None);
        };
        // As the table does: the user under the token's key, which must be the session's
        // own (LiveSession::check compares their openids and apps).
        let user = tables
            .users
            .get(&token.user_key())
            .map(|record| record.user.clone());
        Ok(LiveSession::check(session, &hash, user, now_ms))
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        tables.sessions.remove(token);
        Ok(())
    }

    async fn delete_sessions(&self, tokens: &[TokenHash]) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        for token in tokens {
            tables.sessions.remove(token);
        }
        Ok(())
    }
}

impl Users for MemoryTable {
    async fn record_login(
        &self,
        key: &UserKey,
        login: &UserLogin,
    ) -> Result<RecordedLogin, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let Some(record) = tables.users.get_mut(key) else {
            let record = UserRecord::created_by(login);
            let user = record.user.clone();
            tables.users.insert(*key, record);
            return Ok(RecordedLogin {
                user,
                new_user: true,
            });
        };
        if record.is_stale_at(login.at) {
            // A brand-new user; the old one's sessions stay ended until an erasure
            // deletes them.
            let old = std::mem::replace(record, UserRecord::created_by(login));
            add_to_set(
                &mut record.ended,
                old.ended.into_iter().chain(old.user.sessions),
            );
            return Ok(RecordedLogin {
                user: record.user.clone(),
                new_user: true,
            });
        }
        record.user.last_login_at = login.at;
        record.user.expires_at = login.keep_until;
        if login.unionid.is_some() {
            record.user.unionid.clone_from(&login.unionid);
        }
        add_to_set(&mut record.user.sessions, [login.session.clone()]);
        Ok(RecordedLogin {
            user: record.user.clone(),
            new_user: false,
        })
    }

    async fn user(&self, key: &UserKey) -> Result<Option<User>, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        Ok(tables.users.get(key).map(|record| record.user.clone()))
    }

    async fn bind_phone(
        &self,
        key: &UserKey,
        session: &ListedSession,
        phone: &BoundPhone,
    ) -> Result<bool, StoreError> {
        self.change_listing_user(key, session, |user| user.phone = Some(phone.clone()))
    }

    async fn record_risk(
        &self,
        key: &UserKey,
        session: &ListedSession,
        risk: &RiskAssessment,
        expires_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.change_listing_user(key, session, |user| {
            user.risk = Some(*risk);
            if expires_at.is_some() {
                user.expires_at = expires_at;
            }
        })
    }

    async fn unbind_phone(&self, key: &UserKey, appid: &str) -> Result<bool, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        Ok(tables
            .users
            .get_mut(key)
            .filter(|record| record.user.erasing_since_ms.is_none() && record.user.appid == appid)
            .and_then(|record| record.user.phone.take())
            .is_some())
    }

    async fn end_sessions(&self, key: &UserKey) -> Result<Vec<ListedSession>, StoreError> {
        let mut tables = self.tables();
        // A read, then a write: two round trips, as DynamoDB's.
        tables.call()?;
        tables.call()?;
        let Some(record) = tables.users.get_mut(key) else {
            return Ok(Vec::new());
        };
        let ended = std::mem::take(&mut record.user.sessions);
        add_to_set(&mut record.ended, ended.iter().cloned());
        Ok(ended)
    }

    async fn end_listed(
        &self,
        key: &UserKey,
        sessions: &[ListedSession],
    ) -> Result<bool, StoreError> {
        if sessions.is_empty() {
            return Ok(true);
        }
        let mut tables = self.tables();
        tables.call()?;
        let Some(record) = tables.users.get_mut(key) else {
            return Ok(false);
        };
        record
            .user
            .sessions
            .retain(|listed| !sessions.contains(listed));
        add_to_set(&mut record.ended, sessions.iter().cloned());
        Ok(true)
    }

    async fn forget_session(
        &self,
        key: &UserKey,
        session: &ListedSession,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        if let Some(record) = tables.users.get_mut(key) {
            record.user.sessions.retain(|listed| listed != session);
        }
        Ok(())
    }

    async fn forget_ended(
        &self,
        key: &UserKey,
        sessions: &[ListedSession],
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        if let Some(record) = tables.users.get_mut(key) {
            record.ended.retain(|ended| !sessions.contains(ended));
        }
        Ok(())
    }

    async fn begin_erasure(
        &self,
        key: &UserKey,
        appid: &str,
        reason: ErasureReason,
        now_ms: i64,
    ) -> Result<Option<ErasureTarget>, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let Some(record) = tables
            .users
            .get_mut(key)
            .filter(|record| record.user.appid == appid)
        else {
            return Ok(None);
        };
        let since_ms = *record.user.erasing_since_ms.get_or_insert(now_ms);
        record.erasing_reason.get_or_insert(reason);
        record.user.expires_at = Some(now_ms.div_euclid(1000) + ERASURE_DEADLINE_SECONDS);
        Ok(Some(ErasureTarget {
            since_ms,
            sessions: record.user.sessions.clone(),
            ended: record.ended.clone(),
        }))
    }

    async fn finish_erasure(
        &self,
        key: &UserKey,
        target: &ErasureTarget,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let Some(record) = tables.users.get_mut(key) else {
            return Ok(());
        };
        if record.user.erasing_since_ms == Some(target.since_ms) {
            tables.users.remove(key);
        } else {
            let erased: Vec<_> = target.all_sessions().collect();
            record.ended.retain(|ended| !erased.contains(&ended));
        }
        Ok(())
    }
}

impl ErasureLog for MemoryTable {
    async fn record_erasure(&self, record: &ErasureRecord) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        tables
            .erasures
            .insert(record.subject.clone(), record.clone());
        Ok(())
    }
}

impl CodeClaims for MemoryTable {
    async fn claim_code(
        &self,
        appid: &str,
        code: &LoginCode,
        now: i64,
    ) -> Result<CodeClaim, ClaimError> {
        let mut tables = self.tables();
        tables.call()?;
        let code_digest = code.claim_digest_hex(appid);
        if let Some((_, expires_at)) = tables.claims.get(&code_digest)
            && *expires_at > now
        {
            return Err(ClaimError::AlreadyClaimed);
        }
        tables.next_claim_id += 1;
        let claim_id = tables.next_claim_id.to_string();
        tables.claims.insert(
            code_digest.clone(),
            (claim_id.clone(), now + CODE_CLAIM_TTL_SECONDS),
        );
        Ok(CodeClaim {
            code_digest,
            claim_id,
        })
    }

    async fn release_code(&self, claim: CodeClaim) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        if tables
            .claims
            .get(&claim.code_digest)
            .is_some_and(|(holder, _)| *holder == claim.claim_id)
        {
            tables.claims.remove(&claim.code_digest);
        }
        Ok(())
    }
}

impl AccessTokenStore for MemoryTable {
    async fn get_access_token(&self, appid: &str) -> Result<Option<CachedAccessToken>, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        Ok(tables
            .access_tokens
            .get(appid)
            .and_then(|record| record.token.clone()))
    }

    async fn put_access_token(
        &self,
        appid: &str,
        cached: &CachedAccessToken,
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let record = tables.access_tokens.entry(appid.to_owned()).or_default();
        let newer_held = record
            .token
            .as_ref()
            .is_some_and(|held| held.fetched_at_ms > cached.fetched_at_ms);
        let forced_since = record
            .forced_at_ms
            .is_some_and(|forced| forced > cached.requested_at_ms);
        if newer_held || forced_since {
            return Ok(false);
        }
        record.token = Some(cached.clone());
        Ok(true)
    }

    async fn claim_forced_refresh(
        &self,
        appid: &str,
        now_ms: i64,
        policy: ForcedRefreshPolicy,
    ) -> Result<ForcedRefreshClaim, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let record = tables.access_tokens.entry(appid.to_owned()).or_default();
        if record
            .forced_at_ms
            .is_some_and(|last| now_ms - last < policy.min_interval_ms)
        {
            return Ok(ForcedRefreshClaim::TooSoon);
        }
        let today = beijing_day(now_ms.div_euclid(1000));
        let count = record.forced_per_day.entry(today).or_default();
        if *count >= policy.per_day {
            return Ok(ForcedRefreshClaim::DailyLimit);
        }
        *count += 1;
        record.forced_at_ms = Some(now_ms);
        Ok(ForcedRefreshClaim::Granted)
    }

    async fn release_forced_refresh(
        &self,
        appid: &str,
        claimed_at_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let Some(record) = tables.access_tokens.get_mut(appid) else {
            return Ok(());
        };
        if record.forced_at_ms == Some(claimed_at_ms) {
            record.forced_at_ms = None;
            let day = beijing_day(claimed_at_ms.div_euclid(1000));
            if let Some(count) = record.forced_per_day.get_mut(&day) {
                *count = count.saturating_sub(1);
            }
        }
        Ok(())
    }
}

impl UserDirectory for MemoryTable {
    async fn users_with_unionid(&self, unionid: &str) -> Result<Vec<UserKey>, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let mut keys: Vec<UserKey> = tables
            .users
            .iter()
            .filter(|(_, record)| record.user.unionid.as_deref() == Some(unionid))
            .map(|(key, _)| *key)
            .collect();
        keys.sort_by_key(UserKey::as_hex);
        Ok(keys)
    }
}

impl Quotas for MemoryTable {
    async fn take(&self, window: &QuotaWindow, limit: u32) -> Result<bool, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let count = tables.quotas.entry(window.name.clone()).or_default();
        if *count >= limit {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }

    async fn charge(&self, window: &QuotaWindow, weight: u32) -> Result<u32, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let count = tables.quotas.entry(window.name.clone()).or_default();
        *count = count.saturating_add(weight);
        Ok(*count)
    }

    async fn give_back(&self, window: &QuotaWindow) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        if let Some(count) = tables.quotas.get_mut(&window.name) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    async fn counted(&self, window: &QuotaWindow, now: i64) -> Result<u32, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        if window.ends_at <= now {
            return Ok(0);
        }
        Ok(tables.quotas.get(&window.name).copied().unwrap_or(0))
    }

    async fn delete_windows(&self, windows: &[QuotaWindow]) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        for window in windows {
            tables.quotas.remove(&window.name);
        }
        Ok(())
    }
}

impl PackReadings for MemoryTable {
    async fn record_reading(
        &self,
        appid: &str,
        pack: PhonePack,
        reading: PackReading,
        keep_since: i64,
    ) -> Result<Vec<PackReading>, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let readings = tables
            .pack_readings
            .entry((appid.to_owned(), pack))
            .or_default();
        readings.push(reading);
        *readings = kept_readings(std::mem::take(readings), keep_since);
        Ok(readings.clone())
    }
}
