//! The WeChat adapter against the sandbox over real HTTP, called through its port:
//! checksession telling a current key from a rotated one, and stable_token's typed errors.

use devkit::stack::TestStack;
use secrecy::SecretString;
use serde_json::json;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::domain::{Errcode, WeChatError};
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
}

#[tokio::test]
async fn the_adapter_and_the_sandbox_honour_the_wechat_contract() {
    let stack = TestStack::start().await.unwrap();
    let client = WeChatClient::for_each_app(&stack.config())
        .unwrap()
        .remove(0);
    wechat_contract::wechat(&client, &SandboxClientSide(&stack)).await;
}
