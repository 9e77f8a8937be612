//! `POST /decrypt-phone`: either getPhoneNumber form → the user's phone number.

use http::Method;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

use super::{PhoneFunction, Route};
use crate::config::Config;
use crate::domain::user_data::parse_encrypted;
use crate::domain::{PhoneCode, PhoneForm, PhoneNumber, WatermarkPolicy};
use crate::edge::{
    ApiError, FromConfig, HttpFunction, InitError, bearer_token, json_body, production_adapters,
};
use crate::ports::{AccessTokenStore, Quotas, Sessions, Users, WeChat};
use crate::telemetry::metrics;
use crate::telemetry::timings::set_kind;
use crate::usecases::PhoneNumbers;

const SHAPE_HINT: &str = "expected a JSON object with either \"encryptedData\" and \"iv\" (base64 strings) \
     or \"code\" (a string from the getPhoneNumber button), not both";
const CODE_HINT: &str =
    "code must be 1-128 characters [A-Za-z0-9_-] from the getPhoneNumber button";

#[derive(Deserialize)]
struct PhoneRequest {
    #[serde(rename = "encryptedData")]
    encrypted_data: Option<String>,
    iv: Option<String>,
    code: Option<String>,
}

impl PhoneRequest {
    fn into_form(self) -> Result<PhoneForm, ApiError> {
        match (self.encrypted_data, self.iv, self.code) {
            (Some(data), Some(iv), None) => {
                let (ciphertext, iv) = parse_encrypted(&data, &iv)?;
                Ok(PhoneForm::Legacy { ciphertext, iv })
            }
            (None, None, Some(code)) => PhoneCode::parse(&code)
                .map(PhoneForm::Code)
                .ok_or(ApiError::InvalidRequest(CODE_HINT)),
            _ => Err(ApiError::InvalidRequest(SHAPE_HINT)),
        }
    }
}

/// A phone number on the wire: the 200 body of `/decrypt-phone`, and `phone` in the
/// login and session bodies. These three fields and nothing else.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneBody {
    phone_number: String,
    pure_phone_number: String,
    country_code: String,
}

impl From<PhoneNumber> for PhoneBody {
    fn from(phone: PhoneNumber) -> Self {
        Self {
            phone_number: phone.phone_number,
            pure_phone_number: phone.pure_phone_number,
            country_code: phone.country_code,
        }
    }
}

impl<S, W> HttpFunction for Route<PhoneNumbers<S, W>>
where
    S: Sessions + Users + AccessTokenStore + Quotas + Clone,
    W: WeChat,
{
    type Success = PhoneBody;

    const NAME: &'static str = "decrypt-phone";
    const PATH: &'static str = "/decrypt-phone";
    const OUTCOME_METRIC: &'static str = metrics::PHONE_DECRYPTS;
    const KIND_DIMENSION: Option<&'static str> = Some("Form");

    async fn serve(&self, request: &Request) -> Result<PhoneBody, ApiError> {
        if request.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed { allow: "POST" });
        }
        // The token first: one that is not live is refused before the body is read.
        let token = bearer_token(request)?;
        let session = Box::pin(self.usecase.caller(&token)).await?;
        let form = json_body::<PhoneRequest>(request, SHAPE_HINT)?.into_form()?;
        set_kind(form.name());
        Ok(Box::pin(self.usecase.verify(&session, &form)).await?.into())
    }
}

impl FromConfig for PhoneFunction {
    async fn from_config(config: &Config) -> Result<Self, InitError> {
        let (table, apps) = production_adapters(config).await?;
        let watermark = WatermarkPolicy {
            max_age: config.watermark_max_age,
        };
        Ok(Self::new(
            PhoneNumbers::new(table, apps, watermark)
                .with_daily_limit(config.quotas.phone_verifications_per_day),
        ))
    }
}
