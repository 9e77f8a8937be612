//! `POST /cgi-bin/stable_token`: the app's access token.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::WeChatClient;
use crate::domain::{AccessToken, FreshAccessToken, WeChatError};

#[derive(Deserialize)]
struct StableTokenBody {
    access_token: String,
    expires_in: u64,
}

impl WeChatClient {
    /// Unlike `GET /cgi-bin/token` it does not invalidate tokens other instances hold;
    /// `force_refresh` asks for a new one (a small daily allowance: docs/wechat.md).
    pub(super) async fn fetch_stable_token(
        &self,
        force_refresh: bool,
    ) -> Result<FreshAccessToken, WeChatError> {
        self.with_app_secret(|secret| async move {
            self.with_safe_retry(|| self.fetch_stable_token_once(&secret, force_refresh))
                .await
        })
        .await
    }

    async fn fetch_stable_token_once(
        &self,
        secret: &SecretString,
        force_refresh: bool,
    ) -> Result<FreshAccessToken, WeChatError> {
        {
            let body = json!({
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": secret.expose_secret(),
                "force_refresh": force_refresh,
            });
            let request = self
                .http()
                .post(self.url("/cgi-bin/stable_token"))
                .json(&body);
            let answer: StableTokenBody = self.call("stable_token", request).await?;
            if answer.access_token.is_empty() || answer.expires_in == 0 {
                return Err(WeChatError::BadResponse(
                    "stable_token without a live token",
                ));
            }
            Ok(FreshAccessToken {
                token: AccessToken::new(answer.access_token),
                expires_in: answer.expires_in,
            })
        }
    }
}
