//! [`MemoryTable`]: the in-memory twin of the DynamoDB table, with an outage switch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::domain::{CachedAccessToken, LoginCode, Session, StoreError, TokenHash};
use crate::ports::{
    AccessTokenStore, CODE_CLAIM_TTL_SECONDS, ClaimError, CodeClaim, CodeClaims, Sessions,
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
    access_tokens: HashMap<String, CachedAccessToken>,
    /// Calls that still succeed before an outage starts.
    healthy_calls_left: u32,
    /// Calls that fail with a [`StoreError`] before doing anything.
    failures_left: u32,
    calls: u32,
    next_claim_id: u64,
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

    /// The stored access token of `appid`, as another instance would read it.
    pub fn access_token(&self, appid: &str) -> Option<CachedAccessToken> {
        self.tables().access_tokens.get(appid).cloned()
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
        token: &TokenHash,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        Ok(tables
            .sessions
            .get(token)
            .filter(|session| session.is_live_at(now))
            .cloned())
    }

    async fn delete_session(&self, token: &TokenHash, now: i64) -> Result<bool, StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        Ok(tables
            .sessions
            .remove(token)
            .is_some_and(|session| session.is_live_at(now)))
    }
}

impl CodeClaims for MemoryTable {
    async fn claim_code(&self, code: &LoginCode, now: i64) -> Result<CodeClaim, ClaimError> {
        let mut tables = self.tables();
        tables.call()?;
        let code_digest = code.digest_hex();
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
        Ok(tables.access_tokens.get(appid).cloned())
    }

    async fn put_access_token(
        &self,
        appid: &str,
        cached: &CachedAccessToken,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.call()?;
        tables
            .access_tokens
            .insert(appid.to_owned(), cached.clone());
        Ok(())
    }
}
