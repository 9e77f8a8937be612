//! code2Session: `GET /sns/jscode2session`.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{LoginCode, WeChatClient, WeChatError};

/// What code2Session gives for a valid code.
pub struct Code2Session {
    /// The user's id within this mini-program.
    pub openid: String,
    /// The user's id across the Open Platform account, when the app is bound to one.
    pub unionid: Option<String>,
    /// Key for the user's encrypted data; never leaves the server.
    pub session_key: SecretString,
}

#[derive(Deserialize)]
struct Code2SessionBody {
    openid: Option<String>,
    session_key: Option<String>,
    unionid: Option<String>,
}

impl WeChatClient {
    /// Exchanges a login code for the user's identity and session_key.
    ///
    /// Retries once, and only when the code certainly was not consumed.
    pub async fn code2session(&self, code: &LoginCode) -> Result<Code2Session, WeChatError> {
        self.with_safe_retry(|| self.code2session_once(code)).await
    }

    async fn code2session_once(&self, code: &LoginCode) -> Result<Code2Session, WeChatError> {
        let request = self.http().get(self.url("/sns/jscode2session")).query(&[
            ("appid", self.appid()),
            ("secret", self.secret().expose_secret()),
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
        Ok(Code2Session {
            openid,
            unionid: body.unionid.filter(|id| !id.is_empty()),
            session_key: SecretString::from(session_key),
        })
    }
}
