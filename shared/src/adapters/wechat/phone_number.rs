//! `POST /wxa/business/getuserphonenumber`: the number behind a getPhoneNumber `code`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::WeChatClient;
use crate::domain::{AccessToken, PhoneCode, PhoneNumber, WeChatError};

#[derive(Deserialize)]
struct PhoneBody {
    phone_info: Value,
}

impl WeChatClient {
    /// Sends the session's `openid`, so WeChat refuses a code issued to someone else
    /// (docs/wechat.md). Retried once only when the code cannot have been consumed.
    pub(super) async fn redeem_phone_code(
        &self,
        access_token: &AccessToken,
        code: &PhoneCode,
        openid: &str,
    ) -> Result<PhoneNumber, WeChatError> {
        self.with_safe_retry(|| async {
            let request = self
                .http()
                .post(self.url("/wxa/business/getuserphonenumber"))
                .query(&[("access_token", access_token.expose())])
                .json(&json!({ "code": code.as_str(), "openid": openid }));
            let answer: PhoneBody = self.call("getuserphonenumber", request).await?;
            PhoneNumber::from_json(&answer.phone_info).ok_or(WeChatError::BadResponse(
                "phone_info lacks the documented fields",
            ))
        })
        .await
    }
}
