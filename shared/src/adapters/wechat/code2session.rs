//! code2Session: `GET /sns/jscode2session`.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::WeChatClient;
use crate::domain::{LoginCode, WeChatError, WeChatLogin};

#[derive(Deserialize)]
struct Code2SessionBody {
    openid: Option<String>,
    session_key: Option<String>,
    unionid: Option<String>,
}

impl WeChatClient {
    /// Exchanges a login code for the user's identity and session_key. Retried once, and
    /// only when the code certainly was not consumed.
    pub(super) async fn exchange_login_code(
        &self,
        code: &LoginCode,
    ) -> Result<WeChatLogin, WeChatError> {
        self.with_app_secret(|secret| async move {
            self.with_safe_retry(|| self.exchange_login_code_once(code, &secret))
                .await
        })
        .await
    }

    async fn exchange_login_code_once(
        &self,
        code: &LoginCode,
        secret: &SecretString,
    ) -> Result<WeChatLogin, WeChatError> {
        let request = self.http().get(self.url("/sns/jscode2session")).query(&[
            ("appid", self.appid.as_str()),
            ("secret", secret.expose_secret()),
            ("js_code", code.as_str()),
            ("grant_type", "authorization_code"),
        ]);
        let body: Code2SessionBody = self.call("jscode2session", request).await?;
        let openid = body
            .openid
            .filter(|id| !id.is_empty())
            .ok_or(WeChatError::BadResponse("success without openid"))?;
        let session_key = body
            .session_key
            .filter(|key| !key.is_empty())
            .ok_or(WeChatError::BadResponse("success without session_key"))?;
        Ok(WeChatLogin {
            openid,
            unionid: body.unionid.filter(|id| !id.is_empty()),
            session_key: SecretString::from(session_key),
        })
    }
}
