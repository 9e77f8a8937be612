//! `GET /wxa/checksession`: is the stored session_key still the user's current one.

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::WeChatClient;
use crate::domain::wechat_crypto::checksession_signature;
use crate::domain::{AccessToken, WeChatError};

impl WeChatClient {
    /// Signs with the session_key (never sends it): `Ok(())` while WeChat holds that key,
    /// `Err(Api(InvalidSignature))` (87009) once it has rotated.
    pub(super) async fn signed_check_session(
        &self,
        access_token: &AccessToken,
        openid: &str,
        session_key: &SecretString,
    ) -> Result<(), WeChatError> {
        let signature = checksession_signature(session_key.expose_secret());
        self.with_safe_retry(|| async {
            let request = self.http().get(self.url("/wxa/checksession")).query(&[
                ("access_token", access_token.expose()),
                ("signature", signature.as_str()),
                ("openid", openid),
                ("sig_method", "hmac_sha256"),
            ]);
            self.call::<Value>("checksession", request).await.map(drop)
        })
        .await
    }
}
