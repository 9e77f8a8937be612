//! [`Twins`]: one in-memory world (a table and WeChat) with the use-cases wired to it, as
//! the fast tier's tests start from.

use std::time::Duration;

use super::{FakeWeChat, MemoryTable};
use crate::domain::{LoginCode, SessionToken, UserKey, WatermarkPolicy};
use crate::edge::ApiError;
use crate::ports::WeChat;
use crate::usecases::{AppHint, Apps, Authorize, Login, PhoneNumbers, SessionQueries};

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
    pub fn login(&self) -> Login<MemoryTable, FakeWeChat> {
        Login::new(self.table.clone(), self.apps(), SESSION_TTL)
    }

    /// Phone numbers over the twins.
    pub fn phone_numbers(
        &self,
        watermark: WatermarkPolicy,
    ) -> PhoneNumbers<MemoryTable, FakeWeChat> {
        PhoneNumbers::new(self.table.clone(), self.apps(), watermark)
    }

    /// The session queries over the twins.
    pub fn session_queries(&self) -> SessionQueries<MemoryTable, FakeWeChat> {
        SessionQueries::new(self.table.clone(), self.apps())
    }

    /// The authorizer's use-case over the twins, serving the twins' apps.
    pub fn authorize(&self) -> Authorize<MemoryTable> {
        let appids = std::iter::once(&self.wechat)
            .chain(&self.others)
            .map(|wechat| wechat.appid().to_owned())
            .collect();
        Authorize::new(self.table.clone(), appids)
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
    SessionToken::issue(&UserKey::of("nobody-logged-in"))
        .unwrap_or_else(|err| panic!("no randomness: {err}"))
}
