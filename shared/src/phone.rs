//! `POST /decrypt-phone`: a logged-in user's phone number, from either getPhoneNumber form.
//!
//! - legacy `{"encryptedData", "iv"}`: decrypted here with the session's session_key
//!   (one DynamoDB read, no WeChat call);
//! - current `{"code"}`: exchanged at `getuserphonenumber` with the shared access token.

use std::time::Duration;

use http::Method;
use lambda_http::Request;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::access_token::AccessTokenCache;
use crate::api::{ApiError, Timings, bearer_token, json_body, live_session};
use crate::clock::now_epoch_seconds;
use crate::config::Config;
use crate::function::{HttpFunction, InitError, clients};
use crate::session::{Session, SessionStore};
use crate::telemetry::metrics;
use crate::wechat::{
    Ciphertext, DecryptError, Errcode, Iv, PhoneCode, PhoneNumber, SessionKey, WeChatClient,
    WeChatError, decrypt_user_data, parse_encrypted,
};

const SHAPE_HINT: &str = "expected a JSON object with either \"encryptedData\" and \"iv\" (base64 strings) \
     or \"code\" (a string from the getPhoneNumber button), not both";

#[derive(Deserialize)]
struct PhoneRequest {
    #[serde(rename = "encryptedData")]
    encrypted_data: Option<String>,
    iv: Option<String>,
    code: Option<String>,
}

/// The two forms the getPhoneNumber button produces, parsed.
enum PhoneForm {
    Legacy { ciphertext: Ciphertext, iv: Iv },
    Current(PhoneCode),
}

impl PhoneForm {
    /// The `Form` dimension of the `PhoneDecrypts` metric.
    fn metric_value(&self) -> &'static str {
        match self {
            Self::Legacy { .. } => "legacy",
            Self::Current(_) => "code",
        }
    }

    fn parse(body: PhoneRequest) -> Result<Self, ApiError> {
        match (body.encrypted_data, body.iv, body.code) {
            (Some(data), Some(iv), None) => {
                let (ciphertext, iv) = parse_encrypted(&data, &iv).map_err(|err| match err {
                    DecryptError::BadInput(message) => ApiError::InvalidRequest(message),
                    DecryptError::KeyMismatch => ApiError::SessionKeyMismatch,
                })?;
                Ok(Self::Legacy { ciphertext, iv })
            }
            (None, None, Some(code)) => PhoneCode::parse(&code).map(Self::Current).ok_or(
                ApiError::InvalidRequest(
                    "code must be 1-128 characters [A-Za-z0-9_-] from the getPhoneNumber button",
                ),
            ),
            _ => Err(ApiError::InvalidRequest(SHAPE_HINT)),
        }
    }
}

/// The decrypt-phone handler with its clients, built once per Lambda instance.
pub struct PhoneService {
    wechat: WeChatClient,
    store: SessionStore,
    access_tokens: AccessTokenCache,
    appid: String,
    watermark_max_age: Option<Duration>,
}

impl HttpFunction for PhoneService {
    type Success = PhoneNumber;

    const NAME: &'static str = "decrypt-phone";
    const PATH: &'static str = "/decrypt-phone";
    const OUTCOME_METRIC: &'static str = metrics::PHONE_DECRYPTS;
    const KIND_DIMENSION: Option<&'static str> = Some("Form");

    async fn from_config(config: &Config) -> Result<Self, InitError> {
        let (wechat, store) = clients(config).await?;
        Ok(Self::new(wechat, store, config.watermark_max_age))
    }

    async fn serve(&self, request: &Request, timings: &Timings) -> Result<Self::Success, ApiError> {
        if request.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed { allow: "POST" });
        }
        let token = bearer_token(request)?;
        // Everything checkable without I/O is checked before the DynamoDB read.
        let form = PhoneForm::parse(json_body(request, SHAPE_HINT)?)?;
        timings.set_kind(form.metric_value());
        let session = live_session(&self.store, &token, timings).await?;
        match form {
            PhoneForm::Legacy { ciphertext, iv } => self.decrypt(&session, &ciphertext, &iv),
            PhoneForm::Current(code) => self.exchange(&code, timings).await,
        }
    }
}

impl PhoneService {
    /// Assembles a service from ready clients (tests point them at local stand-ins).
    pub fn new(
        wechat: WeChatClient,
        store: SessionStore,
        watermark_max_age: Option<Duration>,
    ) -> Self {
        Self {
            appid: wechat.appid().to_owned(),
            watermark_max_age,
            access_tokens: AccessTokenCache::new(store.clone()),
            wechat,
            store,
        }
    }

    fn decrypt(
        &self,
        session: &Session,
        ciphertext: &Ciphertext,
        iv: &Iv,
    ) -> Result<PhoneNumber, ApiError> {
        // A stored key that is not 16 bytes cannot decrypt anything: a fresh login fixes it.
        let key = SessionKey::from_base64(session.session_key.expose_secret())
            .ok_or(ApiError::SessionKeyMismatch)?;
        let data = decrypt_user_data(&key, iv, ciphertext, &self.appid)
            .map_err(|_| ApiError::SessionKeyMismatch)?;
        if let Some(max_age) = self.watermark_max_age
            && !watermark_is_recent(&data, max_age)
        {
            // Old data replayed, or made before the key rotated: fresh data fixes it.
            return Err(ApiError::SessionKeyMismatch);
        }
        PhoneNumber::from_json(&data).ok_or(ApiError::NotPhoneData)
    }

    async fn exchange(&self, code: &PhoneCode, timings: &Timings) -> Result<PhoneNumber, ApiError> {
        self.access_tokens
            .with_token(&self.wechat, timings, |token| async move {
                self.wechat.get_user_phone_number(&token, code).await
            })
            .await
            .map_err(wechat_failure)
    }
}

/// True when `watermark.timestamp` is within `max_age` of now (either side: clocks drift).
fn watermark_is_recent(data: &serde_json::Value, max_age: Duration) -> bool {
    let Some(timestamp) = data["watermark"]["timestamp"].as_i64() else {
        return false;
    };
    let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    now_epoch_seconds().abs_diff(timestamp) <= max_age.unsigned_abs()
}

fn wechat_failure(err: WeChatError) -> ApiError {
    tracing::warn!(wechat_error = %err, "WeChat phone API failed");
    match err {
        // About the phone code, not a login code: the user taps the button again.
        WeChatError::Api(Errcode::InvalidCode | Errcode::CodeUsed) => ApiError::InvalidPhoneCode,
        other => other.into(),
    }
}
