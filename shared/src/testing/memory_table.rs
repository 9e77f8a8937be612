//! [`MemoryTable`]: the in-memory twin of the DynamoDB table, with an outage switch.
//! Each port method counts as one call, as each is one round trip to DynamoDB.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::domain::clock::beijing_day;
use crate::domain::{
    BoundPhone, CachedAccessToken, ForcedRefreshClaim, ForcedRefreshPolicy, LiveSession, LoginCode,
    QuotaWindow, RecordedLogin, Session, SessionToken, StoreError, TokenHash, User, UserKey,
    UserLogin,
};
use crate::ports::{
    AccessTokenStore, CODE_CLAIM_TTL_SECONDS, ClaimError, CodeClaim, CodeClaims, Quotas, Sessions,
    Users,
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

/// A user item: the user, whether a login or phone binding has set `created_at` (a
/// revocation alone does not), and the sessions listed on it.
struct UserRecord {
    user: User,
    has_created_at: bool,
    sessions: Vec<(i64, TokenHash)>,
}

impl Tables {
    /// The user item under `key`, created with only `openid` if absent.
    fn user_item(&mut self, key: &UserKey, openid: &str) -> &mut UserRecord {
        let record = self.users.entry(*key).or_insert_with(|| UserRecord {
            user: User {
                // Only a login records the app: a user item written otherwise has none,
                // as DynamoDB's update would leave it, and refuses its sessions.
                appid: String::new(),
                openid: openid.to_owned(),
                unionid: None,
                created_at: 0,
                last_login_at: 0,
                phone: None,
                sessions_revoked_before_ms: 0,
            },
            has_created_at: false,
            sessions: Vec::new(),
        });
        record.user.openid = openid.to_owned();
        record
    }

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
    pub fn user(&self, key: &UserKey) -> Option<User> {
        self.tables()
            .users
            .get(key)
            .map(|record| record.user.clone())
    }

    /// Deletes the user item under `key`, as an operator might by hand.
    pub fn delete_user(&self, key: &UserKey) {
        self.tables().users.remove(key);
    }

    /// How many users are stored.
    pub fn user_count(&self) -> usize {
        self.tables().users.len()
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
        let Some(session) = tables.sessions.get(&token.hash()).cloned() else {
            return Ok(None);
        };
        let own_key = UserKey::of(&session.openid);
        if own_key != token.user_key() {
            return Ok(None);
        }
        let user = tables.users.get(&own_key).map(|record| record.user.clone());
        Ok(LiveSession::check(session, user, now_ms))
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        tables.sessions.remove(token);
        Ok(())
    }
}

impl Users for MemoryTable {
    async fn record_login(
        &self,
        key: &UserKey,
        login: &UserLogin,
        token: &TokenHash,
    ) -> Result<RecordedLogin, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let record = tables.user_item(key, &login.openid);
        let new_user = !record.has_created_at;
        if new_user {
            record.user.created_at = login.at;
            record.has_created_at = true;
        }
        record.user.last_login_at = login.at;
        record.user.appid.clone_from(&login.appid);
        if login.unionid.is_some() {
            record.user.unionid.clone_from(&login.unionid);
        }
        // A set, as DynamoDB's string set: the same entry twice is listed once.
        let entry = (login.session_expires_at, token.clone());
        if !record.sessions.contains(&entry) {
            record.sessions.push(entry);
        }
        Ok(RecordedLogin {
            user: record.user.clone(),
            new_user,
        })
    }

    async fn bind_phone(
        &self,
        key: &UserKey,
        openid: &str,
        phone: &BoundPhone,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let record = tables.user_item(key, openid);
        if !record.has_created_at {
            record.user.created_at = phone.verified_at;
            record.has_created_at = true;
        }
        record.user.phone = Some(phone.clone());
        Ok(())
    }

    async fn revoke_sessions(
        &self,
        key: &UserKey,
        openid: &str,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        let record = tables.user_item(key, openid);
        // The mark only moves forward, whichever instance's clock is behind.
        record.user.sessions_revoked_before_ms = record.user.sessions_revoked_before_ms.max(now_ms);
        let now = now_ms.div_euclid(1000);
        let live = record
            .sessions
            .drain(..)
            .filter(|(expires_at, _)| *expires_at > now)
            .count();
        Ok(u32::try_from(live).unwrap_or(u32::MAX))
    }

    async fn forget_session(
        &self,
        key: &UserKey,
        token: &TokenHash,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        if let Some(record) = tables.users.get_mut(key) {
            record
                .sessions
                .retain(|(listed_expiry, listed)| (*listed_expiry, listed) != (expires_at, token));
        }
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

    async fn give_back(&self, window: &QuotaWindow) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        if let Some(count) = tables.quotas.get_mut(&window.name) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }
}
