//! What the use-cases need from outside, as small traits: the sessions, the users, the
//! single-use claims on login codes, the shared access token, the quotas, the erasure
//! audit log, the readings of the phone-verification packs, and WeChat. The DynamoDB
//! and WeChat adapters implement them in production; `testing` has an in-memory twin of each, and one
//! contract suite per store port runs against both so they cannot drift.
//!
//! Every method returns a `Send` future: the Lambda runtime serves requests from `Send`
//! futures.

use std::sync::Arc;

use secrecy::SecretString;

use crate::domain::PackReading;
use crate::domain::push::PushKeys;
use crate::domain::{
    AccessToken, BoundPhone, CachedAccessToken, ErasureReason, ErasureRecord, ErasureTarget,
    ForcedRefreshClaim, ForcedRefreshPolicy, FreshAccessToken, KeyRing, ListedSession, LiveSession,
    LoginCode, PackUsage, PhoneCode, PhoneNumber, PhonePack, QuotaWindow, RecordedLogin,
    RiskAssessment, RiskRank, Session, SessionToken, StackKey, StoreError, TokenHash, User,
    UserKey, UserLogin, WeChatError, WeChatLogin,
};

/// A user item marked for erasure expires (TTL) this long after the mark, whatever
/// happens to the erasure: one day.
pub const ERASURE_DEADLINE_SECONDS: i64 = 24 * 3600;

/// How long a claimed code blocks replays: as long as WeChat keeps a code valid.
pub const CODE_CLAIM_TTL_SECONDS: i64 = 300;

/// Proof that one request owns a login code until it releases the claim or the claim
/// expires.
#[derive(Debug)]
pub struct CodeClaim {
    /// SHA-256 hex of the code: what the claim is stored under.
    pub(crate) code_digest: String,
    /// Random id of this claim, so only its owner can release it.
    pub(crate) claim_id: String,
}

/// Why a code could not be claimed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// Another request holds a live claim on this code.
    #[error("code already claimed")]
    AlreadyClaimed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sessions, keyed by the hash of their bearer token.
pub trait Sessions: Send + Sync {
    /// Writes `session` whole (never half an item).
    fn put_session(
        &self,
        token: &TokenHash,
        session: &Session,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session behind `token` and its user, read together in one round trip
    /// (strongly consistent: a client calls right after `/onlogin`), if the session is
    /// live at `now_ms` by [`LiveSession::check`]. An unreadable item counts as absent.
    fn get_session(
        &self,
        token: &SessionToken,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<LiveSession>, StoreError>> + Send;

    /// Deletes the session item. Deleting an absent one is no error, so a repeated
    /// logout is harmless.
    fn delete_session(
        &self,
        token: &TokenHash,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes every one of these session items (absent ones are no error).
    fn delete_sessions(
        &self,
        tokens: &[TokenHash],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Users, one per openid (WeChat mints openids per app), under the key derived from it.
/// A session is live only while its user lists it ([`LiveSession::check`]); every write
/// made on behalf of a session first checks it is still listed.
pub trait Users: Send + Sync {
    /// Creates the user on their first login (concurrent first logins create one user,
    /// with one `created_at`), else touches `last_login_at`, a new unionid and the
    /// inactivity expiry; lists the login's session. A user being erased is replaced
    /// by a brand-new one (`new_user`, nothing bound), its sessions left to the erasure.
    fn record_login(
        &self,
        key: &UserKey,
        login: &UserLogin,
    ) -> impl Future<Output = Result<RecordedLogin, StoreError>> + Send;

    /// The user under `key`, as stored (strongly consistent); `None` when absent or
    /// unreadable.
    fn user(&self, key: &UserKey) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Binds a verified phone number to the user, replacing any earlier one, if the user
    /// still lists `session`: `Ok(false)` (nothing written) when it ended meanwhile.
    fn bind_phone(
        &self,
        key: &UserKey,
        session: &ListedSession,
        phone: &BoundPhone,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records WeChat's risk rank on the user, if the user still lists `session` (the
    /// login that asked): `Ok(false)` (nothing written) when it ended meanwhile. A user
    /// refused for it also expires (TTL) at `expires_at`; a later admitted login keeps
    /// them for good again.
    fn record_risk(
        &self,
        key: &UserKey,
        session: &ListedSession,
        risk: &RiskAssessment,
        expires_at: Option<i64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the phone number of the user of `appid`: `Ok(true)` if one was bound. A user
    /// absent, of another app or being erased is left alone.
    fn unbind_phone(
        &self,
        key: &UserKey,
        appid: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends every session the user lists, at once: they move to the user's ended
    /// sessions, whose items are still to delete (then [`forget_ended`](Self::forget_ended)).
    /// Answers the sessions ended; none for an absent user.
    fn end_sessions(
        &self,
        key: &UserKey,
    ) -> impl Future<Output = Result<Vec<ListedSession>, StoreError>> + Send;

    /// Ends these listed sessions at once (the oldest beyond a login's cap): they move to
    /// the user's ended sessions, items still to delete. `Ok(false)` for an absent user.
    fn end_listed(
        &self,
        key: &UserKey,
        sessions: &[ListedSession],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes a logged-out session off the user's list.
    fn forget_session(
        &self,
        key: &UserKey,
        session: &ListedSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes ended sessions whose items are deleted off the user's ended sessions.
    fn forget_ended(
        &self,
        key: &UserKey,
        sessions: &[ListedSession],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the user of `appid` as being erased for `reason` (every session refused from
    /// now on) and answers what to erase; a user already being erased keeps its first
    /// mark. The marked item also expires within [`ERASURE_DEADLINE_SECONDS`], so an
    /// erasure nobody finishes still ends. `None` when there is no user item of that app.
    fn begin_erasure(
        &self,
        key: &UserKey,
        appid: &str,
        reason: ErasureReason,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<ErasureTarget>, StoreError>> + Send;

    /// Deletes the user item if it is still the one `target` marked. A login that
    /// replaced it meanwhile keeps its brand-new user; the target's sessions are taken
    /// off its ended sessions.
    fn finish_erasure(
        &self,
        key: &UserKey,
        target: &ErasureTarget,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Finding a person's users across the stack's apps, for operators (`wxlogin-admin`): no
/// function's request path uses it, and no function is granted it.
pub trait UserDirectory: Send + Sync {
    /// The keys of every user item holding `unionid`, whatever its app. It may read the
    /// whole table (a Scan): an operator's occasional call, never a request's.
    fn users_with_unionid(
        &self,
        unionid: &str,
    ) -> impl Future<Output = Result<Vec<UserKey>, StoreError>> + Send;
}

/// The stack's key for the audit records' hashes.
pub trait StackKeys: Send + Sync {
    /// The key (read once, then held).
    fn stack_key(&self) -> impl Future<Output = Result<StackKey, StoreError>> + Send;
}

/// The ring of keys standard tokens are signed with, as the token function reads it.
pub trait SigningKeys: Send + Sync {
    /// The ring, read again once the held copy is older than the source allows.
    fn key_ring(&self) -> impl Future<Output = Result<Arc<KeyRing>, StoreError>> + Send;
}

/// The versions of the secret holding the ring, as Secrets Manager's rotation protocol
/// moves them (docs/tokens.md): a rotation writes a pending version, then makes it
/// current.
pub trait KeyRingVersions: Send + Sync {
    /// The current version's id and ring, or `None` when the secret has none.
    fn current(
        &self,
    ) -> impl Future<Output = Result<Option<(String, SecretString)>, StoreError>> + Send;
    /// The ring version `version` holds as pending, `None` when it holds none.
    fn pending(
        &self,
        version: &str,
    ) -> impl Future<Output = Result<Option<SecretString>, StoreError>> + Send;
    /// Writes `ring` as version `version`, staged pending. Writing the same version again
    /// with the same ring is a no-op, as Secrets Manager's idempotent PutSecretValue.
    fn put_pending(
        &self,
        version: &str,
        ring: &SecretString,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Makes `version` current, `previous` (today's current) no longer.
    fn make_current(
        &self,
        version: &str,
        previous: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Each app's message-push keys (the Token and EncodingAESKey of its 消息推送 page).
pub trait PushKeyring: Send + Sync {
    /// The keys of `appid`; `None` when the app has none configured.
    fn push_keys(
        &self,
        appid: &str,
    ) -> impl Future<Output = Result<Option<PushKeys>, StoreError>> + Send;

    /// The keys of `appid` read again from their source, when the ones held fail a
    /// signature (the Token was changed); `None` when nothing newer could be read.
    fn reread_push_keys(
        &self,
        appid: &str,
    ) -> impl Future<Output = Result<Option<PushKeys>, StoreError>> + Send;
}

/// The audit records erasures leave.
pub trait ErasureLog: Send + Sync {
    /// Writes `record`; writing the same record again changes nothing.
    fn record_erasure(
        &self,
        record: &ErasureRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The recent readings of each app's phone-verification packs, one history per app and
/// kind, from which the `phone-packs` function works out the recent daily use.
pub trait PackReadings: Send + Sync {
    /// Adds `reading` to the history of `appid`'s `pack`, drops the readings taken before
    /// `keep_since`, keeps at most [`MAX_PACK_READINGS`](crate::domain::pack_forecast::MAX_PACK_READINGS)
    /// (the newest), and answers those kept, oldest first, `reading` among them. The
    /// history expires as long after `reading` as `keep_since` is before it.
    fn record_reading(
        &self,
        appid: &str,
        pack: PhonePack,
        reading: PackReading,
        keep_since: i64,
    ) -> impl Future<Output = Result<Vec<PackReading>, StoreError>> + Send;
}

/// Single-use claims on login codes, so that of any number of requests carrying one code,
/// exactly one goes on to call WeChat.
pub trait CodeClaims: Send + Sync {
    /// Claims `code`, sent to `appid`, at `now` for [`CODE_CLAIM_TTL_SECONDS`]; an
    /// expired claim does not block, nor does a claim on the same code for another app.
    fn claim_code(
        &self,
        appid: &str,
        code: &LoginCode,
        now: i64,
    ) -> impl Future<Output = Result<CodeClaim, ClaimError>> + Send;

    /// Gives the claim back so the same code may be tried again; a claim someone else
    /// took over after ours expired is left alone.
    fn release_code(&self, claim: CodeClaim)
    -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The access token every instance shares, one per appid, and the record of the forced
/// refreshes every instance must respect.
pub trait AccessTokenStore: Send + Sync {
    /// The cached token for `appid`, expired or not (the caller decides).
    fn get_access_token(
        &self,
        appid: &str,
    ) -> impl Future<Output = Result<Option<CachedAccessToken>, StoreError>> + Send;

    /// Caches `cached` for `appid`, unless the store holds a token fetched after it, or a
    /// forced refresh was claimed after its request was sent (WeChat may have answered with
    /// the token that refresh invalidated): a slow instance never puts an older token
    /// back. `Ok(false)` when refused for that reason.
    fn put_access_token(
        &self,
        appid: &str,
        cached: &CachedAccessToken,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Claims the one forced refresh `policy` allows `appid` at `now_ms`, recording it
    /// atomically so no two instances both get one.
    fn claim_forced_refresh(
        &self,
        appid: &str,
        now_ms: i64,
        policy: ForcedRefreshPolicy,
    ) -> impl Future<Output = Result<ForcedRefreshClaim, StoreError>> + Send;

    /// Gives back the claim granted at `claimed_at_ms` (its forced call never reached
    /// WeChat): the interval is free again and the day's count one lower. A claim made
    /// since by someone else is left alone.
    fn release_forced_refresh(
        &self,
        appid: &str,
        claimed_at_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Counters of costly calls, one per subject and window, kept until the window ends.
pub trait Quotas: Send + Sync {
    /// Counts one call in `window` if fewer than `limit` were counted: `Ok(true)` when
    /// counted, `Ok(false)` when the window is full (nothing changes then).
    fn take(
        &self,
        window: &QuotaWindow,
        limit: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Adds `weight` to `window` whatever its count, and answers the new count.
    fn charge(
        &self,
        window: &QuotaWindow,
        weight: u32,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Gives back one call counted in `window` (it never reached WeChat).
    fn give_back(
        &self,
        window: &QuotaWindow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The calls counted in `window` so far (0 once it ended).
    fn counted(
        &self,
        window: &QuotaWindow,
        now: i64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Deletes these counters (absent ones are no error).
    fn delete_windows(
        &self,
        windows: &[QuotaWindow],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The WeChat server API calls wxlogin makes (docs/wechat.md, "Endpoints").
pub trait WeChat: Send + Sync {
    /// The appid calls are made for.
    fn appid(&self) -> &str;

    /// code2Session: the user's identity and session_key for a login code.
    fn code2session(
        &self,
        code: &LoginCode,
    ) -> impl Future<Output = Result<WeChatLogin, WeChatError>> + Send;

    /// stable_token: a live access token; `force_refresh` asks for a new one.
    fn stable_token(
        &self,
        force_refresh: bool,
    ) -> impl Future<Output = Result<FreshAccessToken, WeChatError>> + Send;

    /// getuserphonenumber: the phone number behind a getPhoneNumber `code`, which WeChat
    /// redeems only when it was issued to `openid`.
    fn phone_number(
        &self,
        access_token: &AccessToken,
        code: &PhoneCode,
        openid: &str,
    ) -> impl Future<Output = Result<PhoneNumber, WeChatError>> + Send;

    /// checksession: `Ok(())` while WeChat still holds `session_key` for `openid`;
    /// `Err(Api(InvalidSignature))` (87009) once it has rotated.
    fn check_session(
        &self,
        access_token: &AccessToken,
        openid: &str,
        session_key: &SecretString,
    ) -> impl Future<Output = Result<(), WeChatError>> + Send;

    /// getuserriskrank, scene 0 (sign-up): WeChat's risk rank of `openid`, whose request
    /// came from `client_ip`. 48001 when the app has not enabled it in 安全中心.
    fn user_risk_rank(
        &self,
        access_token: &AccessToken,
        openid: &str,
        client_ip: &str,
    ) -> impl Future<Output = Result<RiskRank, WeChatError>> + Send;

    /// charge/usage/get: the use of the app's prepaid packs of `pack`'s kind.
    fn pack_usage(
        &self,
        access_token: &AccessToken,
        pack: PhonePack,
    ) -> impl Future<Output = Result<PackUsage, WeChatError>> + Send;
}
