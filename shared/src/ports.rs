//! What the use-cases need from outside, as small traits: the sessions, the single-use
//! claims on login codes, the shared access token, and WeChat. The DynamoDB and WeChat
//! adapters implement them in production; `testing` has an in-memory twin of each, and one
//! contract suite per store port runs against both so they cannot drift.
//!
//! Every method returns a `Send` future: the Lambda runtime serves requests from `Send`
//! futures.

use secrecy::SecretString;

use crate::domain::{
    AccessToken, CachedAccessToken, FreshAccessToken, LoginCode, PhoneCode, PhoneNumber, Session,
    StoreError, TokenHash, WeChatError, WeChatLogin,
};

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

    /// The session for `token` if it is live at `now`; `None` when unknown or expired
    /// (an unreadable item counts as absent). Reads are strongly consistent: a client
    /// calls right after `/onlogin`.
    fn get_session(
        &self,
        token: &TokenHash,
        now: i64,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Deletes the session (logout); true when it was live at `now`. Deleting an absent
    /// or expired one is no error, so a repeated logout is harmless.
    fn delete_session(
        &self,
        token: &TokenHash,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Single-use claims on login codes, so that of any number of requests carrying one code,
/// exactly one goes on to call WeChat.
pub trait CodeClaims: Send + Sync {
    /// Claims `code` at `now` for [`CODE_CLAIM_TTL_SECONDS`]; an expired claim does not
    /// block.
    fn claim_code(
        &self,
        code: &LoginCode,
        now: i64,
    ) -> impl Future<Output = Result<CodeClaim, ClaimError>> + Send;

    /// Gives the claim back so the same code may be tried again; a claim someone else
    /// took over after ours expired is left alone.
    fn release_code(&self, claim: CodeClaim)
    -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The access token every instance shares, one per appid.
pub trait AccessTokenStore: Send + Sync {
    /// The cached token for `appid`, expired or not (the caller decides).
    fn get_access_token(
        &self,
        appid: &str,
    ) -> impl Future<Output = Result<Option<CachedAccessToken>, StoreError>> + Send;

    /// Replaces the cached token for `appid`.
    fn put_access_token(
        &self,
        appid: &str,
        cached: &CachedAccessToken,
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

    /// getuserphonenumber: the phone number behind a getPhoneNumber `code`.
    fn phone_number(
        &self,
        access_token: &AccessToken,
        code: &PhoneCode,
    ) -> impl Future<Output = Result<PhoneNumber, WeChatError>> + Send;

    /// checksession: `Ok(())` while WeChat still holds `session_key` for `openid`;
    /// `Err(Api(InvalidSignature))` (87009) once it has rotated.
    fn check_session(
        &self,
        access_token: &AccessToken,
        openid: &str,
        session_key: &SecretString,
    ) -> impl Future<Output = Result<(), WeChatError>> + Send;
}
