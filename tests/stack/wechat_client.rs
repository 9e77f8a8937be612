//! The WeChat adapter against the sandbox over real HTTP, called through its port:
//! checksession telling a current key from a rotated one, stable_token's typed errors, and
//! the port's contract suites (codes, keys and tokens; risk ranks and phone packs).

use devkit::stack::TestStack;
use secrecy::SecretString;
use serde_json::{Value, json};
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::domain::{Errcode, PhonePack, RiskRank, WeChatError};
use wxlogin::ports::WeChat;
use wxlogin::testing::wechat_contract::{self, WeChatClientSide};

#[tokio::test]
async fn checksession_tells_a_current_key_from_a_rotated_one() {
    let stack = TestStack::start().await.unwrap();
    let client = WeChatClient::for_each_app(&stack.config())
        .unwrap()
        .remove(0);
    let user = stack.sandbox_login(json!({})).await.unwrap();
    let openid = user["openid"].as_str().unwrap();
    let key = SecretString::from(user["session_key"].as_str().unwrap().to_owned());
    let token = client.stable_token(false).await.unwrap().token;

    client.check_session(&token, openid, &key).await.unwrap();

    stack
        .sandbox_login(json!({ "openid": openid, "session_key": "AAAAAAAAAAAAAAAAAAAAAA==" }))
        .await
        .unwrap();
    assert_eq!(
        client
            .check_session(&token, openid, &key)
            .await
            .unwrap_err(),
        WeChatError::Api(Errcode::InvalidSignature)
    );
}

#[tokio::test]
async fn stable_token_errors_are_typed() {
    let stack = TestStack::start().await.unwrap();
    let mut config = stack.config();
    config.apps[0].secret = wxlogin::config::AppSecretSetting::Value("wrong".to_owned().into());
    let client = WeChatClient::for_each_app(&config).unwrap().remove(0);
    assert_eq!(
        client.stable_token(false).await.unwrap_err(),
        WeChatError::Api(Errcode::InvalidAppSecret)
    );
}

/// The sandbox playing WeChat's client side for the port's contract suite.
struct SandboxClientSide<'a>(&'a TestStack);

impl SandboxClientSide<'_> {
    /// `POST` `body` to the sandbox's control `path`, which must accept it.
    async fn control(&self, path: &str, body: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.0.sandbox.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer = response.text().await.unwrap();
        assert!(status.is_success(), "{path} answered {status}: {answer}");
    }
}

impl WeChatClientSide for SandboxClientSide<'_> {
    async fn login(&self, openid: &str, session_key: &str) -> String {
        let user = self
            .0
            .sandbox_login(json!({ "openid": openid, "session_key": session_key }))
            .await
            .unwrap();
        user["code"].as_str().unwrap().to_owned()
    }

    async fn phone_code(&self, openid: &str, phone: &str) -> String {
        let tap = self
            .0
            .sandbox_phone(json!({ "openid": openid, "phoneNumber": phone }))
            .await
            .unwrap();
        tap["code"].as_str().unwrap().to_owned()
    }

    async fn realtime_phone_code(&self, openid: &str, phone: &str) -> String {
        let tap = self
            .0
            .sandbox_phone(json!({ "openid": openid, "phoneNumber": phone, "realtime": true }))
            .await
            .unwrap();
        tap["code"].as_str().unwrap().to_owned()
    }

    async fn set_risk_rank(&self, openid: &str, rank: RiskRank) {
        self.control(
            "/sandbox/risk",
            json!({ "openid": openid, "rank": rank.value() }),
        )
        .await;
    }

    async fn disable_risk_control(&self) {
        self.control("/sandbox/risk", json!({ "enabled": false }))
            .await;
    }

    async fn set_pack(&self, pack: PhonePack, all: u64, used: u64) {
        self.control(
            "/sandbox/charge",
            json!({ "pack": pack.name(), "all": all, "used": used }),
        )
        .await;
    }
}

#[tokio::test]
async fn the_adapter_and_the_sandbox_honour_the_wechat_contract() {
    let stack = TestStack::start().await.unwrap();
    let client = WeChatClient::for_each_app(&stack.config())
        .unwrap()
        .remove(0);
    wechat_contract::wechat(&client, &SandboxClientSide(&stack)).await;
}

#[tokio::test]
async fn the_adapter_and_the_sandbox_honour_the_risk_and_pack_contract() {
    let stack = TestStack::start().await.unwrap();
    let client = WeChatClient::for_each_app(&stack.config())
        .unwrap()
        .remove(0);
    wechat_contract::risk_and_packs(&client, &SandboxClientSide(&stack)).await;
}
