//! `POST /decrypt-phone`: either getPhoneNumber form → the user's phone number.

use http::Method;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

use crate::domain::wechat_crypto::parse_encrypted;
use crate::domain::{PhoneCode, PhoneForm, PhoneNumber};
use crate::edge::{ApiError, Function, Route, bearer_token, json_body};
use crate::ports::{AccessTokenStore, Quotas, Sessions, Users, WeChat};
use crate::telemetry::current::set_kind;
use crate::telemetry::metrics;
use crate::usecases::PhoneNumbers;

const SHAPE_HINT: &str = "expected a JSON object with either \"encryptedData\" and \"iv\" (base64 strings) \
     or \"code\" (a string from the getPhoneNumber button), not both";
const REALTIME_HINT: &str = "\"realtime\": true goes with \"code\" (the getRealtimePhoneNumber \
     button's code); that button has no encryptedData form";
const CODE_HINT: &str =
    "code must be the getPhoneNumber button's code: 1-128 bytes, no control characters";

#[derive(Deserialize)]
struct PhoneRequest {
    #[serde(rename = "encryptedData")]
    encrypted_data: Option<String>,
    iv: Option<String>,
    code: Option<String>,
    /// True when `code` came from the getRealtimePhoneNumber button.
    #[serde(default)]
    realtime: bool,
}

impl PhoneRequest {
    fn into_form(self) -> Result<PhoneForm, ApiError> {
        match (self.encrypted_data, self.iv, self.code) {
            (Some(_), Some(_), None) if self.realtime => {
                Err(ApiError::InvalidRequest(REALTIME_HINT))
            }
            (Some(data), Some(iv), None) => {
                let (ciphertext, iv) = parse_encrypted(&data, &iv)?;
                Ok(PhoneForm::Legacy { ciphertext, iv })
            }
            (None, None, Some(code)) => {
                let code = PhoneCode::parse(&code).ok_or(ApiError::InvalidRequest(CODE_HINT))?;
                Ok(if self.realtime {
                    PhoneForm::Realtime(code)
                } else {
                    PhoneForm::Code(code)
                })
            }
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

/// `POST /decrypt-phone`, served by the `decrypt-phone` binary.
pub const PHONE: Route = Route {
    function: Function {
        name: "decrypt-phone",
        path: Some("/decrypt-phone"),
        outcome_metric: metrics::PHONE_DECRYPTS,
        kind_dimension: Some("Form"),
    },
    deadline_on_wechat: ApiError::WeChatUnavailable,
};

/// Verifies the bearer's phone number, from either getPhoneNumber form.
pub async fn phone<S, W>(
    phones: &PhoneNumbers<S, W>,
    request: &Request,
) -> Result<PhoneBody, ApiError>
where
    S: Sessions + Users + AccessTokenStore + Quotas + Clone,
    W: WeChat,
{
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed { allow: "POST" });
    }
    // The token first: one that is not live is refused before the body is read.
    let token = bearer_token(request)?;
    let session = phones.session_of(&token).await?;
    let form = json_body::<PhoneRequest>(request, SHAPE_HINT)?.into_form()?;
    set_kind(form.name());
    Ok(phones.verify(&token, &session, &form).await?.into())
}
