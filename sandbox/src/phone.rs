//! The phone-number side: `/sandbox/phone` (what the getPhoneNumber and
//! getRealtimePhoneNumber buttons yield; each code it issues takes one unit of its
//! button's pack, as WeChat bills the button's success callback),
//! `POST /wxa/business/getuserphonenumber` (which redeems a code and bills nothing) and
//! `GET /wxa/checksession`.

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use crate::Shared;
use crate::access::app_of_access_token;
use crate::random;
use crate::state::{Api, IssuedPhoneCode, PhonePack};
use crate::wechat_api::{errcode, lock, suffer, wechat_json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneRequest {
    /// The app whose button was tapped (default: the first configured).
    appid: Option<String>,
    #[serde(rename = "openid")]
    openid: String,
    phone_number: String,
    country_code: Option<String>,
    /// Send `countryCode` as a number in getuserphonenumber (WeChat has done both).
    #[serde(default)]
    country_code_as_number: bool,
    /// Put another app's id in the watermark (data made for a different mini-program).
    watermark_appid: Option<String>,
    /// The real-time button (`open-type="getRealtimePhoneNumber"`), billed to the real-time
    /// packs; it yields a code only. Default: the quick-verification button.
    #[serde(default)]
    realtime: bool,
}

fn control_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": "invalid_request", "message": message })),
    )
        .into_response()
}

/// The button on a device whose app has no unit left of the kind: WeChat raises no
/// half-screen and the page gets `errno` 1400001; no code is issued.
fn pack_empty(pack: PhonePack) -> Response {
    let button = match pack {
        PhonePack::Quick => "getPhoneNumber",
        PhonePack::Realtime => "getRealtimePhoneNumber",
    };
    (
        StatusCode::PAYMENT_REQUIRED,
        Json(json!({
            "error": "pack_empty",
            "errno": 1_400_001,
            "errMsg": format!("{button}:fail no quota"),
            "message": format!(
                "the app's {} phone-verification packs have no unit left; POST /sandbox/charge sets them",
                pack.name()
            ),
        })),
    )
        .into_response()
}

/// `POST /sandbox/phone {"appid"?, "openid", "phoneNumber", "countryCode"?, "realtime"?}` →
/// `{"encryptedData", "iv", "code"}` (quick verification, encrypted with the user's current
/// session_key in that app, its appid in the watermark) or `{"code"}` (real-time); the code
/// is redeemable with that app's token. Issuing it takes one unit of that kind's packs,
/// whether or not it is ever redeemed; 402 with `errno` 1400001, no code and no unit taken,
/// when they have none left.
pub(crate) async fn sandbox_phone(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: PhoneRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "expected {{\"openid\", \"phoneNumber\", \"countryCode\"?, \"realtime\"?}}: {err}"
                ),
            );
        }
    };
    let country_code = request.country_code.unwrap_or_else(|| "86".to_owned());
    let pure = request
        .phone_number
        .strip_prefix(&format!("+{country_code}"))
        .unwrap_or(&request.phone_number)
        .trim()
        .to_owned();
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut state = lock(&shared);
    let Some((appid, app)) = state.control_app(request.appid.as_deref()) else {
        return control_error(StatusCode::NOT_FOUND, "unknown appid");
    };
    let watermark = json!({
        "timestamp": timestamp,
        "appid": request.watermark_appid.unwrap_or(appid),
    });
    let plaintext = json!({
        "phoneNumber": request.phone_number,
        "purePhoneNumber": pure,
        "countryCode": country_code,
        "watermark": watermark,
    });

    let Some(user) = app.users.get(&request.openid) else {
        return control_error(
            StatusCode::NOT_FOUND,
            "unknown openid: call /sandbox/login first",
        );
    };
    // The real-time button yields a code only; the quick one encrypted data as well, with
    // the user's current session_key.
    let key = if request.realtime {
        None
    } else {
        let Some(key) = STANDARD
            .decode(&user.session_key)
            .ok()
            .and_then(|key| <[u8; 16]>::try_from(key).ok())
        else {
            return control_error(
                StatusCode::CONFLICT,
                "this user's session_key is not base64 of 16 bytes",
            );
        };
        Some(key)
    };
    let pack = if request.realtime {
        PhonePack::Realtime
    } else {
        PhonePack::Quick
    };
    if app.pack_totals(pack).left() == 0 {
        return pack_empty(pack);
    }

    let code = random::code();
    let mut answer = json!({ "code": code });
    if let Some(key) = key {
        let iv = random::iv();
        let encrypted = cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into())
            .encrypt_padded_vec::<Pkcs7>(plaintext.to_string().as_bytes());
        answer["encryptedData"] = json!(STANDARD.encode(encrypted));
        answer["iv"] = json!(STANDARD.encode(iv));
    }
    let mut phone_info = plaintext;
    if request.country_code_as_number
        && let Ok(number) = country_code.parse::<u64>()
    {
        phone_info["countryCode"] = json!(number);
    }
    // WeChat takes the unit when the page gets the button's success callback (its
    // 查询和扣费节点说明), not when a server redeems the code.
    app.bill(pack);
    app.phone_codes.insert(
        code,
        IssuedPhoneCode {
            openid: request.openid,
            phone_info,
            issued: Instant::now(),
            used: false,
        },
    );
    Json(answer).into_response()
}

#[derive(Deserialize)]
struct PhoneCodeRequest {
    code: Option<String>,
    /// WeChat's optional check that the code was issued to this user.
    openid: Option<String>,
}

/// `POST /wxa/business/getuserphonenumber?access_token=…` with `{"code", "openid"?}`.
///
/// With an `openid`, a code issued to another user is refused with `40029` and stays
/// unspent, so its rightful owner can still redeem it (the errcode is our assumption:
/// WeChat documents the check, not its answer). Without one, any holder may redeem it.
/// Redeeming bills nothing, success or refusal: the unit was taken when the code was issued.
pub(crate) async fn getuserphonenumber(
    State(shared): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(response) = suffer(&shared, Api::Getuserphonenumber).await {
        return response;
    }
    let mut state = lock(&shared);
    // Phone codes are the app's own: only its token redeems them.
    let app = match app_of_access_token(&mut state, params.get("access_token").map(String::as_str))
    {
        Ok(app) => app,
        Err(rejection) => return rejection.into_response(),
    };
    let Some((code, openid)) = serde_json::from_slice::<PhoneCodeRequest>(&body)
        .ok()
        .and_then(|r| Some((r.code?, r.openid)))
    else {
        return errcode(47001, "data format error");
    };
    let code_ttl = shared.config.code_ttl;
    let Some(issued) = app.phone_codes.get_mut(&code) else {
        return errcode(40029, "invalid code");
    };
    // A used or expired phone code is just invalid to WeChat.
    if issued.used || issued.issued.elapsed() > code_ttl {
        return errcode(40029, "invalid code");
    }
    // Someone else's code: refused before it is spent.
    if openid.is_some_and(|openid| openid != issued.openid) {
        return errcode(40029, "invalid code");
    }
    issued.used = true;
    let phone_info = issued.phone_info.clone();
    wechat_json(&json!({ "errcode": 0, "errmsg": "ok", "phone_info": phone_info }))
}

/// `GET /wxa/checksession?access_token&signature&openid&sig_method=hmac_sha256`.
pub(crate) async fn checksession(
    State(shared): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(response) = suffer(&shared, Api::Checksession).await {
        return response;
    }
    let mut state = lock(&shared);
    // Openids are per app: the token's app is the one whose user is checked.
    let app = match app_of_access_token(&mut state, params.get("access_token").map(String::as_str))
    {
        Ok(app) => app,
        Err(rejection) => return rejection.into_response(),
    };
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    if param("sig_method") != "hmac_sha256" || param("signature").is_empty() {
        return errcode(40097, "invalid args");
    }
    let Some(user) = app.users.get(param("openid")) else {
        return errcode(40003, "invalid openid");
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(user.session_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(b"");
    if hex::encode(mac.finalize().into_bytes()) == param("signature") {
        wechat_json(&json!({ "errcode": 0, "errmsg": "ok" }))
    } else {
        errcode(87009, "invalid signature")
    }
}
