//! The contract of the [`WeChat`] port: what WeChat's rules are for codes, keys and
//! tokens (docs/wechat.md), run against [`FakeWeChat`](super::FakeWeChat) here and against
//! the WeChat adapter talking to the sandbox in `tests/stack/wechat_client.rs`, so the
//! twin keeps WeChat's rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use secrecy::SecretString;

use crate::domain::{AccessToken, Errcode, LoginCode, PhoneCode, WeChatError};
use crate::ports::WeChat;

/// What a test can make WeChat's client side do: the codes `wx.login` and the
/// getPhoneNumber button hand a mini-program.
pub trait WeChatClientSide {
    /// `wx.login` for `openid`, WeChat handing out `session_key`: the login code.
    fn login(&self, openid: &str, session_key: &str) -> impl Future<Output = String>;
    /// The getPhoneNumber button for `openid` and `phone`: the phone code.
    fn phone_code(&self, openid: &str, phone: &str) -> impl Future<Output = String>;
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
    }

    #[tokio::test]
    async fn honours_the_wechat_contract() {
        let fake = FakeWeChat::new("wxcontract");
        wechat(&fake, &fake).await;
    }
}
