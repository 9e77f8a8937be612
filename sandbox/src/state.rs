//! The sandbox's memory: per app, the live AppSecret, users, issued codes and access
//! tokens and forced-refresh counts; for the whole sandbox, pending faults and call counts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The WeChat APIs the sandbox serves, as named in `/sandbox/faults` and `/sandbox/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `GET /sns/jscode2session`.
    Jscode2session,
    /// `POST /cgi-bin/stable_token`.
    StableToken,
    /// `POST /wxa/business/getuserphonenumber`.
    Getuserphonenumber,
    /// `GET /wxa/checksession`.
    Checksession,
}

/// A user as WeChat knows them.
pub struct User {
    pub unionid: Option<String>,
    pub session_key: String,
}

/// A code handed out by `/sandbox/login`.
pub struct IssuedCode {
    pub openid: String,
    pub issued: Instant,
    pub used: bool,
}

/// A phone `code` handed out by `/sandbox/phone`.
pub struct IssuedPhoneCode {
    /// The user it was issued to: getuserphonenumber naming another openid is refused.
    pub openid: String,
    pub phone_info: serde_json::Value,
    pub issued: Instant,
    pub used: bool,
}

/// An access token and when it stops working.
#[derive(Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires: Instant,
}

/// Every access token ever issued, as WeChat would judge it when a call carries it.
#[derive(Clone, Copy)]
pub struct IssuedToken {
    pub expires: Instant,
    /// A forced refresh cut it off before its expiry.
    pub invalidated: bool,
}

/// Forced refreshes (`force_refresh: true`) and their limits.
#[derive(Default)]
pub struct ForcedRefreshes {
    /// When the last effective forced refresh (one that issued a new token) happened.
    pub last: Option<Instant>,
    /// Effective forced refreshes in the current sandbox "day".
    pub today: u32,
    /// When the current day began; `None` until the first forced refresh.
    pub day_started: Option<Instant>,
    /// Effective forced refreshes since the sandbox started.
    pub total: u64,
    /// Forces within the minimum interval: answered with the current token, not counted.
    pub refused_too_soon: u64,
    /// Forces beyond the daily allowance: answered `45009`.
    pub refused_daily_limit: u64,
}

/// What the next call(s) of an API should do instead of their normal work.
#[derive(Debug, Clone)]
pub struct Fault {
    pub errcode: Option<i64>,
    pub delay: Duration,
    pub body: Option<String>,
    pub remaining: u32,
}

/// One mini-program as WeChat keeps it: its own secret, users (openids are per app),
/// codes and access tokens. A code or token of one app means nothing to another.
#[derive(Default)]
pub struct AppState {
    /// The AppSecret accepted now: starts as the configured one, `/sandbox/secret`
    /// rotates it.
    pub secret: String,
    pub users: HashMap<String, User>,
    pub codes: HashMap<String, IssuedCode>,
    pub phone_codes: HashMap<String, IssuedPhoneCode>,
    /// The token stable_token hands out now.
    pub access_token: Option<AccessToken>,
    /// Every token issued so far, by its text: tells an expired token (`42001`) from an
    /// invalidated or unknown one (`40001`).
    pub issued_tokens: HashMap<String, IssuedToken>,
    pub forced_refreshes: ForcedRefreshes,
    /// The 消息推送 settings saved and checked by `/sandbox/push-config`.
    pub push: Option<crate::push::PushSettings>,
}

#[derive(Default)]
pub struct State {
    /// The apps served, by appid.
    pub apps: HashMap<String, AppState>,
    /// The app control calls act on when they name none: the first configured.
    pub default_appid: String,
    pub faults: HashMap<Api, Fault>,
    pub calls: HashMap<Api, u64>,
}

impl State {
    /// The app that issued `token`, if any did (tokens are random: at most one).
    pub fn app_of_token(&mut self, token: &str) -> Option<&mut AppState> {
        self.apps
            .values_mut()
            .find(|app| app.issued_tokens.contains_key(token))
    }

    /// The app named by a control call, or the default one when it names none.
    pub fn control_app(&mut self, appid: Option<&str>) -> Option<(String, &mut AppState)> {
        let appid = appid
            .filter(|appid| !appid.is_empty())
            .unwrap_or(&self.default_appid)
            .to_owned();
        let app = self.apps.get_mut(&appid)?;
        Some((appid, app))
    }

    /// Counts a call of `api` and hands back the fault it should suffer, if any.
    pub fn record_call(&mut self, api: Api) -> Option<Fault> {
        *self.calls.entry(api).or_default() += 1;
        let fault = self.faults.get_mut(&api)?;
        fault.remaining = fault.remaining.saturating_sub(1);
        let taken = fault.clone();
        if fault.remaining == 0 {
            self.faults.remove(&api);
        }
        Some(taken)
    }
}
