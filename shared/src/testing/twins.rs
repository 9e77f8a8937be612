//! [`Twins`]: one in-memory world (a table and WeChat) with the use-cases wired to it, as
//! the fast tier's tests start from.

use std::time::Duration;

use super::pushes::PushMode;
use super::{FakeWeChat, MemoryTable};
use crate::adapters::push_keys::PushKeySource;
use crate::adapters::stack_key::StackKeySource;
use crate::domain::clock::now_epoch_millis;
use crate::domain::push::PushKeys;
use crate::domain::{
    BoundPhone, LoginCode, PhoneNumber, PhoneVerification, SessionToken, StackKey, UserKey,
    WatermarkPolicy,
};
use crate::edge::ApiError;
use crate::ports::{Sessions, Users, WeChat};
use crate::usecases::{
    Accounts, AppHint, Apps, Authorize, Login, PhoneNumbers, PhonePacks, PushReceiver,
    SessionQueries,
};

/// The appid the twins serve.
pub const APPID: &str = "wxfasttier0000001";
/// The session lifetime the twins' login issues.
pub const SESSION_TTL: Duration = Duration::from_secs(7200);

/// A table and WeChat in memory; every use-case built from it shares both, and the test
/// keeps handles to script failures and look inside.
#[derive(Clone)]
pub struct Twins {
    /// The table (sessions, claims, access tokens).
    pub table: MemoryTable,
    /// WeChat for [`APPID`].
    pub wechat: FakeWeChat,
    /// WeChat for each further app, added by [`with_app`](Self::with_app).
    others: Vec<FakeWeChat>,
}

impl Default for Twins {
    fn default() -> Self {
        Self::new()
    }
}

impl Twins {
    /// An empty table and a WeChat with no users.
    pub fn new() -> Self {
        Self {
            table: MemoryTable::new(),
            wechat: FakeWeChat::new(APPID),
            others: Vec::new(),
        }
    }

    /// Login over the twins.
    pub fn login(&self) -> Login<MemoryTable, FakeWeChat, StackKeySource> {
        Login::new(
            self.table.clone(),
            self.apps(),
            StackKeySource::Fixed(stack_key()),
            SESSION_TTL,
        )
    }

    /// Phone numbers over the twins.
    pub fn phone_numbers(
        &self,
        watermark: WatermarkPolicy,
    ) -> PhoneNumbers<MemoryTable, FakeWeChat> {
        PhoneNumbers::new(self.table.clone(), self.apps(), watermark)
    }

    /// The phone-pack check over the twins, for every app they serve.
    pub fn phone_packs(&self) -> PhonePacks<MemoryTable, FakeWeChat> {
        PhonePacks::new(self.table.clone(), self.apps())
    }

    /// The session queries over the twins.
    pub fn session_queries(&self) -> SessionQueries<MemoryTable, FakeWeChat> {
        SessionQueries::new(self.table.clone(), self.apps())
    }

    /// The authorizer's use-case over the twins, serving the twins' apps.
    pub fn authorize(&self) -> Authorize<MemoryTable> {
        Authorize::new(self.table.clone(), self.appids())
    }

    /// The account use-cases over the twins, serving the twins' apps, with [`stack_key`].
    pub fn accounts(&self) -> Accounts<MemoryTable, StackKeySource> {
        Accounts::new(
            self.table.clone(),
            StackKeySource::Fixed(stack_key()),
            self.appids(),
        )
    }

    /// The standard tokens over the twins, serving the twins' apps, signed by `keys`,
    /// issued by `https://login.example.com` for 15 minutes.
    pub fn standard_tokens(
        &self,
        keys: crate::testing::MemoryKeyRing,
    ) -> crate::usecases::StandardTokens<MemoryTable, crate::testing::MemoryKeyRing> {
        use crate::domain::standard_token::{Audience, TokenSettings};
        crate::usecases::StandardTokens::new(
            self.table.clone(),
            keys,
            self.appids(),
            TokenSettings {
                issuer: "https://login.example.com".into(),
                audience: Audience::App,
                lifetime: std::time::Duration::from_secs(900),
            },
        )
    }

    /// The push receiver over the twins, every app with [`push_keys`] in safe mode.
    pub fn push_receiver(&self) -> PushReceiver<MemoryTable, StackKeySource, PushKeySource> {
        self.push_receiver_in(PushMode::Safe)
    }

    /// The push receiver over the twins, every app's 消息推送 page in `mode`.
    pub fn push_receiver_in(
        &self,
        mode: PushMode,
    ) -> PushReceiver<MemoryTable, StackKeySource, PushKeySource> {
        let keys = self
            .appids()
            .into_iter()
            .map(|appid| {
                let keys = push_keys().accepting_plaintext(mode == PushMode::Plaintext);
                (appid, keys)
            })
            .collect();
        PushReceiver::new(self.accounts(), PushKeySource::Fixed(keys), self.appids())
    }

    fn appids(&self) -> Vec<String> {
        std::iter::once(&self.wechat)
            .chain(&self.others)
            .map(|wechat| wechat.appid().to_owned())
            .collect()
    }

    /// The apps the use-cases serve: [`APPID`], then each app added with
    /// [`with_app`](Self::with_app).
    fn apps(&self) -> Apps<FakeWeChat> {
        Apps::with_others(self.wechat.clone(), self.others.clone())
    }

    /// The same table and WeChat, the stack serving [`APPID`] alone again (an app taken
    /// off the stack).
    pub fn first_app_only(&self) -> Self {
        Self {
            others: Vec::new(),
            ..self.clone()
        }
    }

    /// The same world serving one more app, `appid`, with its own WeChat; returns it.
    pub fn with_app(&mut self, appid: &str) -> FakeWeChat {
        let wechat = FakeWeChat::new(appid);
        self.others.push(wechat.clone());
        wechat
    }

    /// `openid` goes through `wx.login` and login to [`APPID`]: their bearer token and
    /// session_key.
    ///
    /// # Panics
    /// If the login fails: the test scripted a failure too early.
    pub async fn logged_in(&self, openid: &str, unionid: Option<&str>) -> (SessionToken, String) {
        let (code, session_key) = self.wechat.login(openid, unionid);
        let code = LoginCode::parse(&code).unwrap_or_else(|| panic!("the fake's codes parse"));
        let logged_in = self
            .login()
            .login(
                AppHint {
                    named: Some(APPID),
                    referer: None,
                },
                &code,
            )
            .await
            .unwrap_or_else(|err| panic!("login failed: {err}"));
        (logged_in.token, session_key)
    }
}

impl Twins {
    /// Binds `number` to the user of the live session `token`, as a verification would.
    ///
    /// # Panics
    /// If the session is not live.
    pub async fn bind_phone(&self, token: &SessionToken, number: &str) {
        let live = self
            .table
            .get_session(token, now_epoch_millis())
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("binding a phone to a session that is not live"));
        let phone = BoundPhone {
            number: PhoneNumber {
                phone_number: number.into(),
                pure_phone_number: number.into(),
                country_code: "86".into(),
            },
            verified_at: now_epoch_millis().div_euclid(1000),
            verified_by: PhoneVerification::Code,
        };
        let bound = self
            .table
            .bind_phone(&token.user_key(), &live.listing, &phone)
            .await;
        assert!(matches!(bound, Ok(true)), "the phone binds");
    }
}

/// The Token of [`push_keys`].
pub const TEST_PUSH_TOKEN: &str = "wxlogintests";
/// The EncodingAESKey of [`push_keys`].
pub const TEST_PUSH_AES_KEY: &str = "wxloginTestsEncodingAesKey0123456789abcdefg";

/// The message-push keys of the fast tier and the test stacks (never a deployed one).
///
/// # Panics
/// Never: the keys are well-formed.
pub fn push_keys() -> PushKeys {
    PushKeys::new(TEST_PUSH_TOKEN, TEST_PUSH_AES_KEY)
        .unwrap_or_else(|| panic!("the test push keys are well-formed"))
}

/// The text of [`stack_key`], as a test stack's `STACK_KEY`.
pub const TEST_STACK_KEY: &str = "wxlogin local stack key, not a secret: tests only";

/// The stack key of the fast tier and the test stacks (never a deployed one).
///
/// # Panics
/// Never: the key is long enough.
pub fn stack_key() -> StackKey {
    StackKey::new(TEST_STACK_KEY.as_bytes())
        .unwrap_or_else(|| panic!("the test stack key is long enough"))
}

/// The key of the user with `openid` in the fast tier and the test stacks: under
/// [`stack_key`], as the login names them.
pub fn user_key(openid: &str) -> UserKey {
    stack_key().user_key(openid)
}

/// The API's `(status, code)` for a use-case's error, as a client would get it.
pub fn answer(err: impl Into<ApiError>) -> (u16, &'static str) {
    let api = err.into();
    (api.status().as_u16(), api.code())
}

/// A well-formed token no session has: every route and the authorizer refuse it.
///
/// # Panics
/// If the operating system has no randomness to give.
pub fn unknown_token() -> SessionToken {
    SessionToken::issue(&crate::testing::user_key("nobody-logged-in"))
        .unwrap_or_else(|err| panic!("no randomness: {err}"))
}
