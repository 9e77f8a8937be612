//! [`FakeWeChat`]: the in-memory twin of WeChat's server API, with WeChat's rules for
//! codes, session keys and access tokens (docs/wechat.md) and scripted failures.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::{
    AccessToken, Errcode, FreshAccessToken, LoginCode, PackUsage, PhoneCode, PhoneNumber,
    PhonePack, RiskRank, WeChatError, WeChatLogin,
};
use crate::ports::WeChat;

/// One of the WeChat APIs the port calls, for scripting failures and counting calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeChatApi {
    /// `GET /sns/jscode2session`.
    Code2Session,
    /// `POST /cgi-bin/stable_token`.
    StableToken,
    /// `POST /wxa/business/getuserphonenumber`.
    PhoneNumber,
    /// `GET /wxa/checksession`.
    CheckSession,
    /// `POST /wxa/getuserriskrank`.
    RiskRank,
    /// `GET /wxa/charge/usage/get`.
    ChargeUsage,
}

/// The free trial WeChat gives each kind of phone verification.
pub const TRIAL_PACK: u64 = 1000;

/// WeChat for one appid, in memory. Clones share state, so a test keeps a handle to
/// script failures and count calls while the use-case holds another.
#[derive(Clone)]
pub struct FakeWeChat {
    appid: String,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// A failure for the next forced stable_token call only.
    forced_fault: Option<WeChatError>,
    /// Login code → (openid, unionid, session_key, used).
    login_codes: HashMap<String, (String, Option<String>, String, bool)>,
    /// openid → the session_key WeChat holds now.
    current_keys: HashMap<String, String>,
    /// Phone code → (the openid it was issued to, number, used, the pack it bills).
    phone_codes: HashMap<String, (String, PhoneNumber, bool, PhonePack)>,
    /// openid → the rank getuserriskrank answers (0 when unset).
    risk_ranks: HashMap<String, RiskRank>,
    /// True once the app "disabled" risk control: getuserriskrank answers 48001.
    risk_control_off: bool,
    /// Each kind's packs, when set; else the free trial.
    packs: HashMap<PhonePack, PackUsage>,
    /// Access tokens issued; the last one is what a plain stable_token hands out.
    issued_tokens: Vec<String>,
    /// Issued tokens WeChat no longer accepts.
    revoked_tokens: Vec<String>,
    faults: HashMap<WeChatApi, VecDeque<WeChatError>>,
    calls: HashMap<WeChatApi, u32>,
    forced_refreshes: u32,
    serial: u32,
}

impl State {
    fn pack(&self, pack: PhonePack) -> PackUsage {
        self.packs.get(&pack).copied().unwrap_or(PackUsage {
            all: TRIAL_PACK,
            used: 0,
        })
    }

    fn next(&mut self) -> u32 {
        self.serial += 1;
        self.serial
    }

    /// Counts the call and pops a scripted failure, if one is queued.
    fn call(&mut self, api: WeChatApi) -> Result<(), WeChatError> {
        *self.calls.entry(api).or_default() += 1;
        match self.faults.get_mut(&api).and_then(VecDeque::pop_front) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// 40001 for a token WeChat never issued (or revoked), as WeChat answers first.
    fn check_token(&self, token: &AccessToken) -> Result<(), WeChatError> {
        let token = token.expose();
        if self.issued_tokens.iter().any(|issued| issued == token)
            && !self.revoked_tokens.iter().any(|revoked| revoked == token)
        {
            Ok(())
        } else {
            Err(WeChatError::Api(Errcode::InvalidAccessToken))
        }
    }
}

impl FakeWeChat {
    /// WeChat serving `appid`.
    pub fn new(appid: &str) -> Self {
        Self {
            appid: appid.to_owned(),
            state: Arc::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What `wx.login` gives `openid`: a fresh code and a fresh session_key. Returns the
    /// code and the key.
    pub fn login(&self, openid: &str, unionid: Option<&str>) -> (String, String) {
        let serial = self.state().next();
        let key = STANDARD.encode([u8::try_from(serial % 256).unwrap_or(0); 16]);
        let code = self.login_with_key(openid, unionid, &key);
        (code, key)
    }

    /// `wx.login` for `openid` when WeChat hands out `session_key`: like WeChat, the key
    /// is the user's current one from now on (an older key fails checksession).
    pub fn login_with_key(&self, openid: &str, unionid: Option<&str>, session_key: &str) -> String {
        let mut state = self.state();
        let code = format!("code{}", state.next());
        state.login_codes.insert(
            code.clone(),
            (
                openid.to_owned(),
                unionid.map(str::to_owned),
                session_key.to_owned(),
                false,
            ),
        );
        state
            .current_keys
            .insert(openid.to_owned(), session_key.to_owned());
        code
    }

    /// What the getPhoneNumber button gives `openid`: a single-use code for `phone`.
    pub fn phone_code(&self, openid: &str, phone: &str) -> String {
        self.phone_code_of(PhonePack::Quick, openid, phone)
    }

    /// What the getRealtimePhoneNumber button gives `openid`: redeemed the same way,
    /// billed to the real-time pack.
    pub fn realtime_phone_code(&self, openid: &str, phone: &str) -> String {
        self.phone_code_of(PhonePack::Realtime, openid, phone)
    }

    fn phone_code_of(&self, pack: PhonePack, openid: &str, phone: &str) -> String {
        let mut state = self.state();
        let code = format!("phone{}", state.next());
        let number = PhoneNumber {
            phone_number: phone.to_owned(),
            pure_phone_number: phone.to_owned(),
            country_code: "86".to_owned(),
        };
        state
            .phone_codes
            .insert(code.clone(), (openid.to_owned(), number, false, pack));
        // WeChat bills a verification when the button succeeds, before any redemption.
        let mut usage = state.pack(pack);
        usage.used += 1;
        state.packs.insert(pack, usage);
        code
    }

    /// getuserriskrank answers `rank` for `openid` from now on.
    pub fn set_risk_rank(&self, openid: &str, rank: RiskRank) {
        self.state().risk_ranks.insert(openid.to_owned(), rank);
    }

    /// The app has not enabled risk control: getuserriskrank answers 48001.
    pub fn disable_risk_control(&self) {
        self.state().risk_control_off = true;
    }

    /// `pack`'s kind holds `all` units of which `used` are used.
    pub fn set_pack(&self, pack: PhonePack, all: u64, used: u64) {
        self.state().packs.insert(pack, PackUsage { all, used });
    }

    /// `pack`'s kind as WeChat bills it: each code the button issued uses one unit.
    pub fn pack(&self, pack: PhonePack) -> PackUsage {
        self.state().pack(pack)
    }

    /// The next `times` calls to `api` fail with `err` before WeChat looks at anything.
    pub fn fail(&self, api: WeChatApi, err: WeChatError, times: usize) {
        self.state()
            .faults
            .entry(api)
            .or_default()
            .extend(std::iter::repeat_n(err, times));
    }

    /// The next stable_token call with `force_refresh` fails with `err` (plain ones answer).
    pub fn fail_next_forced_refresh(&self, err: WeChatError) {
        self.state().forced_fault = Some(err);
    }

    /// Calls made to `api`, failed ones included.
    pub fn calls(&self, api: WeChatApi) -> u32 {
        self.state().calls.get(&api).copied().unwrap_or(0)
    }

    /// stable_token calls with `force_refresh` (WeChat allows few a day).
    pub fn forced_refreshes(&self) -> u32 {
        self.state().forced_refreshes
    }

    /// WeChat stops accepting every token it issued (as after a reset elsewhere), but
    /// plain stable_token still hands the last one back until a forced refresh.
    pub fn revoke_access_tokens(&self) {
        let mut state = self.state();
        state.revoked_tokens = state.issued_tokens.clone();
    }
}

impl WeChat for FakeWeChat {
    fn appid(&self) -> &str {
        &self.appid
    }

    async fn code2session(&self, code: &LoginCode) -> Result<WeChatLogin, WeChatError> {
        let mut state = self.state();
        state.call(WeChatApi::Code2Session)?;
        let (openid, unionid, key) = match state.login_codes.get_mut(code.as_str()) {
            None => return Err(WeChatError::Api(Errcode::InvalidCode)),
            Some((.., true)) => return Err(WeChatError::Api(Errcode::CodeUsed)),
            Some((openid, unionid, key, used)) => {
                *used = true;
                (openid.clone(), unionid.clone(), key.clone())
            }
        };
        Ok(WeChatLogin {
            openid,
            unionid,
            session_key: SecretString::from(key),
        })
    }

    async fn stable_token(&self, force_refresh: bool) -> Result<FreshAccessToken, WeChatError> {
        let mut state = self.state();
        state.call(WeChatApi::StableToken)?;
        if force_refresh {
            if let Some(err) = state.forced_fault.take() {
                return Err(err);
            }
            state.forced_refreshes += 1;
        }
        let token = match state.issued_tokens.last() {
            Some(last) if !force_refresh => last.clone(),
            _ => {
                let token = format!("access-token-{}-{}", self.appid, state.next());
                state.issued_tokens.push(token.clone());
                token
            }
        };
        Ok(FreshAccessToken {
            token: AccessToken::new(token),
            expires_in: 7200,
        })
    }

    async fn phone_number(
        &self,
        access_token: &AccessToken,
        code: &PhoneCode,
        openid: &str,
    ) -> Result<PhoneNumber, WeChatError> {
        let mut state = self.state();
        state.call(WeChatApi::PhoneNumber)?;
        state.check_token(access_token)?;
        // Another user's code is refused, and stays redeemable by its owner.
        match state.phone_codes.get_mut(code.as_str()) {
            Some((owner, number, used, _)) if !*used && owner == openid => {
                *used = true;
                Ok(number.clone())
            }
            _ => Err(WeChatError::Api(Errcode::InvalidCode)),
        }
    }

    async fn check_session(
        &self,
        access_token: &AccessToken,
        openid: &str,
        session_key: &SecretString,
    ) -> Result<(), WeChatError> {
        let mut state = self.state();
        state.call(WeChatApi::CheckSession)?;
        state.check_token(access_token)?;
        if state.current_keys.get(openid).map(String::as_str) == Some(session_key.expose_secret()) {
            Ok(())
        } else {
            Err(WeChatError::Api(Errcode::InvalidSignature))
        }
    }

    async fn user_risk_rank(
        &self,
        access_token: &AccessToken,
        openid: &str,
        client_ip: &str,
    ) -> Result<RiskRank, WeChatError> {
        let mut state = self.state();
        state.call(WeChatApi::RiskRank)?;
        state.check_token(access_token)?;
        if state.risk_control_off {
            return Err(WeChatError::Api(Errcode::ApiUnauthorized));
        }
        if client_ip.is_empty() {
            return Err(WeChatError::Api(Errcode::Other(47001)));
        }
        Ok(state
            .risk_ranks
            .get(openid)
            .copied()
            .unwrap_or(RiskRank::LOWEST))
    }

    async fn pack_usage(
        &self,
        access_token: &AccessToken,
        pack: PhonePack,
    ) -> Result<PackUsage, WeChatError> {
        let mut state = self.state();
        state.call(WeChatApi::ChargeUsage)?;
        state.check_token(access_token)?;
        Ok(state.pack(pack))
    }
}
