//! The sandbox's memory: per app, the live AppSecret, users, issued codes and access
//! tokens, forced-refresh counts, risk ranks and phone-verification packs; for the whole
//! sandbox, pending faults and call counts.

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
    /// `POST /wxa/getuserriskrank`.
    Getuserriskrank,
    /// `GET /wxa/charge/usage/get`.
    ChargeUsage,
}

/// The two billed kinds of phone verification (付费管理), each with its own packs, as
/// `/sandbox/phone` (`"realtime"`), `/sandbox/charge` (`"pack"`) and `/sandbox/stats`
/// name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhonePack {
    /// 手机号快速验证 (`open-type="getPhoneNumber"`), SPU `10000077`.
    Quick,
    /// 手机号实时验证 (`open-type="getRealtimePhoneNumber"`), SPU `10000086`.
    Realtime,
}

impl PhonePack {
    /// Both kinds.
    pub const ALL: [Self; 2] = [Self::Quick, Self::Realtime];

    /// WeChat's product id (SPU) for the kind.
    pub fn spu_id(self) -> &'static str {
        match self {
            Self::Quick => "10000077",
            Self::Realtime => "10000086",
        }
    }

    /// The kind whose SPU is `spu_id`, if it is one of the two.
    pub fn from_spu_id(spu_id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|pack| pack.spu_id() == spu_id)
    }

    /// Its name in the control API and the stats.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Realtime => "realtime",
        }
    }
}

/// One prepaid pack (资源包) of a kind: `all` units, `used` of them used.
#[derive(Debug, Clone)]
pub struct Pack {
    /// WeChat's `pkgId`, `ZY` and digits.
    pub pkg_id: String,
    /// WeChat's `skuId`: the sandbox's own `"0"` for the free trial, `"1"` for a pack set by
    /// `/sandbox/charge` (WeChat's real SKU ids are not documented).
    pub sku_id: &'static str,
    pub all: u64,
    pub used: u64,
    /// Epoch seconds the pack took effect.
    pub start_time: u64,
    /// Epoch seconds it lapses (shown, not enforced: the sandbox's packs stay in force).
    pub end_time: u64,
}

/// A user as WeChat knows them.
pub struct User {
    pub unionid: Option<String>,
    pub session_key: String,
    /// Their latest `wx.login` (`/sandbox/login`): getuserriskrank answers `61010` once it
    /// is older than `risk_openid_window`.
    pub last_login: Instant,
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
    /// Each kind's packs in force; a kind not here yet holds the free trial
    /// (see [`AppState::packs`]). `/sandbox/charge` replaces them.
    pub packs: HashMap<PhonePack, Vec<Pack>>,
    /// Phone codes the buttons issued (`/sandbox/phone`), each billed one unit when issued,
    /// per kind, since the sandbox started; redemptions do not count.
    pub billed: HashMap<PhonePack, u64>,
    /// The rank getuserriskrank answers per openid (0 when unset), set by `/sandbox/risk`.
    pub risk_ranks: HashMap<String, u8>,
    /// The app has not enabled risk control (安全中心): getuserriskrank answers `48001`.
    pub risk_control_off: bool,
}

/// The free trial each kind of phone verification starts with.
pub const TRIAL_UNITS: u64 = 1000;

/// How long a pack lasts, for its `endTime`: a year, as WeChat's packs are sold.
const PACK_LIFETIME_SECONDS: u64 = 365 * 24 * 60 * 60;

/// Seconds since the epoch, now.
pub fn epoch_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl Pack {
    /// A pack of `all` units, `used` used, in force from now for a year.
    pub fn new(sku_id: &'static str, all: u64, used: u64) -> Self {
        let start_time = epoch_seconds();
        Self {
            pkg_id: crate::random::pack_id(),
            sku_id,
            all,
            used,
            start_time,
            end_time: start_time + PACK_LIFETIME_SECONDS,
        }
    }
}

/// What WeChat reports of one kind's packs: the units they hold and those used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackTotals {
    pub all: u64,
    pub used: u64,
}

impl PackTotals {
    /// Units still to use.
    pub fn left(self) -> u64 {
        self.all.saturating_sub(self.used)
    }
}

impl AppState {
    /// `kind`'s packs in force, the free trial (one pack of 1,000 units) until something
    /// else is set.
    pub fn packs(&mut self, kind: PhonePack) -> &mut Vec<Pack> {
        self.packs
            .entry(kind)
            .or_insert_with(|| vec![Pack::new("0", TRIAL_UNITS, 0)])
    }

    /// `kind`'s packs summed.
    pub fn pack_totals(&mut self, kind: PhonePack) -> PackTotals {
        self.packs(kind)
            .iter()
            .fold(PackTotals::default(), |totals, pack| PackTotals {
                all: totals.all + pack.all,
                used: totals.used + pack.used,
            })
    }

    /// A code of `kind` issued by its button (WeChat bills the button's success callback,
    /// not the redemption): one unit of the first pack with one left (WeChat uses the trial
    /// first, then the packs closest to their end). `/sandbox/phone` issues no code when
    /// none is left, so there always is one.
    pub fn bill(&mut self, kind: PhonePack) {
        *self.billed.entry(kind).or_default() += 1;
        if let Some(pack) = self
            .packs(kind)
            .iter_mut()
            .find(|pack| pack.used < pack.all)
        {
            pack.used += 1;
        }
    }
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

    /// The appid of the app that issued `token`, if any did.
    pub fn appid_of_token(&self, token: &str) -> Option<String> {
        self.apps
            .iter()
            .find(|(_, app)| app.issued_tokens.contains_key(token))
            .map(|(appid, _)| appid.clone())
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
