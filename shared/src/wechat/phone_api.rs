//! The access-token APIs: `POST /cgi-bin/stable_token`,
//! `POST /wxa/business/getuserphonenumber` and `GET /wxa/checksession`.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PhoneCode, PhoneNumber, WeChatClient, WeChatError, checksession_signature};

/// An access token; a secret (it acts as the app), so `Debug` redacts it.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    /// Wraps token text (from WeChat or the shared cache).
    pub fn new(token: String) -> Self {
        Self(SecretString::from(token))
    }

    /// The token text, for the `access_token` query parameter and the cache.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for AccessToken {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// A token as stable_token hands it out.
#[derive(Debug)]
pub struct FreshAccessToken {
    /// The token.
    pub token: AccessToken,
    /// Seconds it stays valid from now.
    pub expires_in: u64,
}

#[derive(Deserialize)]
struct StableTokenBody {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct PhoneBody {
    phone_info: Value,
}

impl WeChatClient {
    /// `POST /cgi-bin/stable_token`. Unlike `GET /cgi-bin/token` it does not invalidate
    /// tokens other instances hold; `force_refresh` asks for a new one.
    pub async fn stable_token(&self, force_refresh: bool) -> Result<FreshAccessToken, WeChatError> {
        self.with_safe_retry(|| async {
            let body = json!({
                "grant_type": "client_credential",
                "appid": self.appid(),
                "secret": self.secret().expose_secret(),
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
        })
        .await
    }

    /// `POST /wxa/business/getuserphonenumber`: the phone number behind a getPhoneNumber
    /// `code`. Retried once only when the code cannot have been consumed.
    pub async fn get_user_phone_number(
        &self,
        access_token: &AccessToken,
        code: &PhoneCode,
    ) -> Result<PhoneNumber, WeChatError> {
        self.with_safe_retry(|| async {
            let request = self
                .http()
                .post(self.url("/wxa/business/getuserphonenumber"))
                .query(&[("access_token", access_token.expose())])
                .json(&json!({ "code": code.as_str() }));
            let answer: PhoneBody = self.call("getuserphonenumber", request).await?;
            PhoneNumber::from_json(&answer.phone_info).ok_or(WeChatError::BadResponse(
                "phone_info lacks the documented fields",
            ))
        })
        .await
    }

    /// `GET /wxa/checksession`: `Ok(())` while WeChat still holds `session_key` for the
    /// user; `Err(Api(InvalidSignature))` (87009) once it has rotated.
    pub async fn check_session(
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
