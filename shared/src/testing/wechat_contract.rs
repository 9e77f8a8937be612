//! The contract of the [`WeChat`] port: what WeChat's rules are for codes, keys, tokens,
//! risk ranks and phone-verification packs (docs/wechat.md), run against
//! [`FakeWeChat`](super::FakeWeChat) here and against the WeChat adapter talking to the
//! sandbox in `tests/stack/wechat_client.rs`, so the twin keeps WeChat's rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use secrecy::SecretString;

use crate::domain::{
    AccessToken, Errcode, LoginCode, PackUsage, PhoneCode, PhonePack, RiskRank, WeChatError,
};
use crate::ports::WeChat;

/// What a test can make WeChat's client side do: the codes `wx.login` and the
/// getPhoneNumber buttons hand a mini-program; and what the app's owner sets in
/// mp.weixin.qq.com: risk control (安全中心) and the prepaid packs (付费管理).
pub trait WeChatClientSide {
    /// `wx.login` for `openid`, WeChat handing out `session_key`: the login code.
    fn login(&self, openid: &str, session_key: &str) -> impl Future<Output = String>;
    /// The getPhoneNumber button for `openid` and `phone`: the phone code.
    fn phone_code(&self, openid: &str, phone: &str) -> impl Future<Output = String>;
    /// The getRealtimePhoneNumber button for `openid` and `phone`: the phone code, redeemed
    /// like the other and billed to the real-time packs.
    fn realtime_phone_code(&self, openid: &str, phone: &str) -> impl Future<Output = String>;
    /// getuserriskrank answers `rank` for `openid` from now on.
    fn set_risk_rank(&self, openid: &str, rank: RiskRank) -> impl Future<Output = ()>;
    /// The app has not enabled risk control: getuserriskrank answers `48001`.
    fn disable_risk_control(&self) -> impl Future<Output = ()>;
    /// `pack`'s kind holds `all` units, `used` of them used.
    fn set_pack(&self, pack: PhonePack, all: u64, used: u64) -> impl Future<Output = ()>;
}

const KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
const ROTATED: &str = "AAAAAAAAAAAAAAAAAAAAAA==";

fn api(raw: i64) -> WeChatError {
    WeChatError::Api(Errcode::from_raw(raw).unwrap())
}

/// Codes are single-use, keys rotate at `wx.login`, phone codes belong to their user,
/// tokens are stable until forced.
pub async fn wechat(wechat: &impl WeChat, client: &impl WeChatClientSide) {
    let code = LoginCode::parse(&client.login("oContract1", KEY).await).unwrap();
    let login = wechat.code2session(&code).await.unwrap();
    assert_eq!(login.openid, "oContract1");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&login.session_key),
        KEY
    );
    assert_eq!(wechat.code2session(&code).await.unwrap_err(), api(40163));
    let unknown = LoginCode::parse("neverIssued").unwrap();
    assert_eq!(wechat.code2session(&unknown).await.unwrap_err(), api(40029));

    let token = wechat.stable_token(false).await.unwrap().token;
    assert_eq!(
        wechat.stable_token(false).await.unwrap().token,
        token,
        "stable_token hands back the same token"
    );
    let forced = wechat.stable_token(true).await.unwrap().token;
    assert_ne!(forced, token, "a forced refresh gives a new one");

    let key = SecretString::from(KEY.to_owned());
    wechat
        .check_session(&forced, "oContract1", &key)
        .await
        .unwrap();
    client.login("oContract1", ROTATED).await;
    assert_eq!(
        wechat
            .check_session(&forced, "oContract1", &key)
            .await
            .unwrap_err(),
        api(87009),
        "wx.login rotated the key"
    );

    let phone = PhoneCode::parse(&client.phone_code("oContract1", "13800138000").await).unwrap();
    assert_eq!(
        wechat
            .phone_number(&forced, &phone, "oSomeoneElse")
            .await
            .unwrap_err(),
        api(40029),
        "another user's phone code is refused"
    );
    let number = wechat
        .phone_number(&forced, &phone, "oContract1")
        .await
        .unwrap();
    assert_eq!(number.pure_phone_number, "13800138000");
    assert_eq!(
        wechat
            .phone_number(&forced, &phone, "oContract1")
            .await
            .unwrap_err(),
        api(40029),
        "a phone code is single-use"
    );
    let bogus = AccessToken::new("not-a-token".into());
    let fresh = PhoneCode::parse(&client.phone_code("oContract1", "13800138000").await).unwrap();
    assert_eq!(
        wechat
            .phone_number(&bogus, &fresh, "oContract1")
            .await
            .unwrap_err(),
        api(40001),
        "an unknown access token is refused first"
    );
}

/// The address a sign-up's request came from, as the risk check sends it.
const CLIENT_IP: &str = "203.0.113.7";

/// getuserriskrank: 0 until a rank is set, then that rank, for that user only; `48001`
/// once the app has risk control off. The packs: a 1,000-unit free trial of each kind; the
/// button's success (a code issued) uses one unit of its own kind, and redeeming it,
/// successfully or not, none; a kind set to other numbers reports them.
pub async fn risk_and_packs(wechat: &impl WeChat, client: &impl WeChatClientSide) {
    client.login("oPaid1", KEY).await;
    client.login("oPaid2", KEY).await;
    let token = &wechat.stable_token(false).await.unwrap().token;
    let usage = |pack| async move { wechat.pack_usage(token, pack).await.unwrap() };
    let trial = PackUsage { all: 1000, used: 0 };
    for pack in PhonePack::ALL {
        assert_eq!(usage(pack).await, trial, "{pack:?}: the free trial");
    }

    let quick = PhoneCode::parse(&client.phone_code("oPaid1", "13800138000").await).unwrap();
    let once = PackUsage { all: 1000, used: 1 };
    assert_eq!(
        usage(PhonePack::Quick).await,
        once,
        "the button's success bills its own kind once, before any redemption"
    );
    assert_eq!(
        wechat
            .phone_number(token, &quick, "oPaid2")
            .await
            .unwrap_err(),
        api(40029)
    );
    wechat.phone_number(token, &quick, "oPaid1").await.unwrap();
    assert_eq!(
        usage(PhonePack::Quick).await,
        once,
        "redeeming, refused or not, bills nothing more"
    );
    assert_eq!(usage(PhonePack::Realtime).await, trial);
    assert_eq!(
        wechat
            .phone_number(token, &quick, "oPaid1")
            .await
            .unwrap_err(),
        api(40029)
    );

    let realtime =
        PhoneCode::parse(&client.realtime_phone_code("oPaid1", "13800138000").await).unwrap();
    let number = wechat
        .phone_number(token, &realtime, "oPaid1")
        .await
        .unwrap();
    assert_eq!(number.pure_phone_number, "13800138000");
    assert_eq!(
        usage(PhonePack::Realtime).await,
        once,
        "a real-time code is redeemed at the same API and bills its own kind"
    );
    assert_eq!(
        usage(PhonePack::Quick).await,
        once,
        "the spent code billed nothing more"
    );

    client.set_pack(PhonePack::Quick, 50, 20).await;
    assert_eq!(
        usage(PhonePack::Quick).await,
        PackUsage { all: 50, used: 20 }
    );
    let next = PhoneCode::parse(&client.phone_code("oPaid2", "13900139000").await).unwrap();
    wechat.phone_number(token, &next, "oPaid2").await.unwrap();
    assert_eq!(
        usage(PhonePack::Quick).await,
        PackUsage { all: 50, used: 21 }
    );
    assert_eq!(usage(PhonePack::Realtime).await, once);
    let bogus = AccessToken::new("not-a-token".into());
    assert_eq!(
        wechat
            .pack_usage(&bogus, PhonePack::Quick)
            .await
            .unwrap_err(),
        api(40001)
    );

    let rank = |openid: &'static str| async move {
        wechat
            .user_risk_rank(token, openid, CLIENT_IP)
            .await
            .unwrap()
    };
    assert_eq!(rank("oPaid1").await, RiskRank::LOWEST, "0 unless set");
    let three = RiskRank::new(3).unwrap();
    client.set_risk_rank("oPaid1", three).await;
    assert_eq!(rank("oPaid1").await, three);
    assert_eq!(rank("oPaid2").await, RiskRank::LOWEST, "ranks are per user");
    assert_eq!(
        wechat
            .user_risk_rank(token, "oPaid1", "")
            .await
            .unwrap_err(),
        api(47001),
        "client_ip is required"
    );
    assert_eq!(
        wechat
            .user_risk_rank(&bogus, "oPaid1", CLIENT_IP)
            .await
            .unwrap_err(),
        api(40001)
    );
    client.disable_risk_control().await;
    assert_eq!(
        wechat
            .user_risk_rank(token, "oPaid1", CLIENT_IP)
            .await
            .unwrap_err(),
        WeChatError::Api(Errcode::ApiUnauthorized),
        "48001 once the app has risk control off"
    );
}

#[cfg(test)]
mod fake_twin {
    use super::*;
    use crate::testing::FakeWeChat;

    impl WeChatClientSide for FakeWeChat {
        async fn login(&self, openid: &str, session_key: &str) -> String {
            self.login_with_key(openid, None, session_key)
        }

        async fn phone_code(&self, openid: &str, phone: &str) -> String {
            FakeWeChat::phone_code(self, openid, phone)
        }

        async fn realtime_phone_code(&self, openid: &str, phone: &str) -> String {
            FakeWeChat::realtime_phone_code(self, openid, phone)
        }

        async fn set_risk_rank(&self, openid: &str, rank: RiskRank) {
            FakeWeChat::set_risk_rank(self, openid, rank);
        }

        async fn disable_risk_control(&self) {
            FakeWeChat::disable_risk_control(self);
        }

        async fn set_pack(&self, pack: PhonePack, all: u64, used: u64) {
            FakeWeChat::set_pack(self, pack, all, used);
        }
    }

    #[tokio::test]
    async fn honours_the_wechat_contract() {
        let fake = FakeWeChat::new("wxcontract");
        wechat(&fake, &fake).await;
    }

    #[tokio::test]
    async fn honours_the_risk_and_pack_contract() {
        let fake = FakeWeChat::new("wxcontract");
        risk_and_packs(&fake, &fake).await;
    }
}
