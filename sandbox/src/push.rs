//! WeChat's side of the message push (消息推送): the settings a developer saves on the
//! mini-program's page (checked with a signed `GET`, as WeChat checks them), and pushes
//! sent to that URL in the chosen mode and format, signed and encrypted as WeChat's
//! WXBizMsgCrypt scheme does, retried like WeChat when no answer comes.
//!
//! Written from WeChat's documentation, apart from wxlogin's own code, so that the
//! receiver's tests meet a second implementation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::Shared;
use crate::wechat_api::lock;

/// How long WeChat waits for an answer before it gives up on an attempt.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per push: the first and WeChat's retries.
pub const PUSH_ATTEMPTS: usize = 3;

/// The 消息推送 page's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 明文.
    Plaintext,
    /// 兼容.
    Compatible,
    /// 安全.
    #[default]
    Safe,
}

/// The 消息推送 page's data format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// XML.
    Xml,
    /// JSON.
    #[default]
    Json,
}

/// One app's saved 消息推送 settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PushSettings {
    /// The URL WeChat pushes to.
    pub url: String,
    /// The Token (3-32 letters and digits).
    pub token: String,
    /// The EncodingAESKey (43 letters and digits).
    pub encoding_aes_key: String,
    /// The mode.
    #[serde(default)]
    pub mode: Mode,
    /// The data format.
    #[serde(default)]
    pub format: Format,
}

#[derive(Deserialize)]
struct ConfigRequest {
    appid: Option<String>,
    #[serde(flatten)]
    settings: PushSettings,
}

#[derive(Deserialize)]
struct PushRequest {
    appid: Option<String>,
    openid: String,
    /// `user_authorization_cancellation`, `user_authorization_revoke`,
    /// `user_info_modified`, or any other event name.
    event: String,
    /// With `user_authorization_revoke`: what was withdrawn (`8`: the phone number).
    revoke_info: Option<String>,
    /// This push only: another mode or format than the saved ones.
    mode: Option<Mode>,
    format: Option<Format>,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

/// `POST /sandbox/push-config {"appid"?, "url", "token", "encoding_aes_key", "mode"?,
/// "format"?}`: saves the app's settings once WeChat's check passes — a `GET` to the URL
/// with `signature`, `timestamp`, `nonce` and `echostr`, answered with `echostr`.
pub(crate) async fn push_config(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: ConfigRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return error(StatusCode::BAD_REQUEST, "invalid_request", &err.to_string()),
    };
    let settings = request.settings;
    if aes_key(&settings.encoding_aes_key).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "encoding_aes_key must be 43 letters and digits",
        );
    }
    let token_ok = (3..=32).contains(&settings.token.len())
        && settings.token.bytes().all(|b| b.is_ascii_alphanumeric());
    if !token_ok {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token must be 3-32 letters and digits",
        );
    }
    let appid = {
        let mut state = lock(&shared);
        match state.control_app(request.appid.as_deref()) {
            Some((appid, _)) => appid,
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    "unknown_app",
                    "this sandbox does not serve that appid",
                );
            }
        }
    };
    let echostr = crate::random::code();
    let (timestamp, nonce) = (now().to_string(), nonce());
    let signature = signature(&[&settings.token, &timestamp, &nonce]);
    let url = with_query(
        &settings.url,
        &[
            ("signature", &signature),
            ("timestamp", &timestamp),
            ("nonce", &nonce),
            ("echostr", &echostr),
        ],
    );
    let answer = match client().get(&url).send().await {
        Ok(response) => (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        ),
        Err(err) => {
            return error(
                StatusCode::BAD_GATEWAY,
                "url_check_failed",
                &format!("the URL did not answer: {err}"),
            );
        }
    };
    if answer != (200, echostr) {
        return error(
            StatusCode::BAD_GATEWAY,
            "url_check_failed",
            &format!(
                "the URL answered {} instead of the echostr: {}",
                answer.0, answer.1
            ),
        );
    }
    let mut state = lock(&shared);
    if let Some((_, app)) = state.control_app(Some(&appid)) {
        app.push = Some(settings);
    }
    Json(json!({ "verified": true, "appid": appid })).into_response()
}

/// `POST /sandbox/push {"appid"?, "openid", "event", "revoke_info"?, "mode"?, "format"?}`:
/// WeChat pushes `authorized_user_information_changes` (or any other event) for the user
/// to the saved URL, retrying like WeChat. Answers each attempt's status and body, and
/// `"delivered"` once one got `success` (or an empty 200).
pub(crate) async fn push(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: PushRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return error(StatusCode::BAD_REQUEST, "invalid_request", &err.to_string()),
    };
    let (appid, settings) = {
        let mut state = lock(&shared);
        let Some((appid, app)) = state.control_app(request.appid.as_deref()) else {
            return error(
                StatusCode::NOT_FOUND,
                "unknown_app",
                "this sandbox does not serve that appid",
            );
        };
        let Some(settings) = app.push.clone() else {
            return error(
                StatusCode::CONFLICT,
                "push_not_configured",
                "save the app's push settings first: POST /sandbox/push-config",
            );
        };
        (appid, settings)
    };
    let mode = request.mode.unwrap_or(settings.mode);
    let format = request.format.unwrap_or(settings.format);
    let mut fields: Vec<(&str, Value)> = vec![
        ("ToUserName", Value::from(original_id(&appid))),
        ("FromUserName", Value::from(request.openid.clone())),
        ("CreateTime", Value::from(now())),
        ("MsgType", Value::from("event")),
        ("Event", Value::from(request.event.clone())),
        ("OpenID", Value::from(request.openid.clone())),
        ("AppID", Value::from(appid.clone())),
    ];
    if let Some(revoke_info) = &request.revoke_info {
        fields.push(("RevokeInfo", Value::from(revoke_info.clone())));
    }
    let message = render(&fields, format);
    let (timestamp, nonce) = (now().to_string(), nonce());
    let mut query = vec![
        (
            "signature",
            signature(&[&settings.token, &timestamp, &nonce]),
        ),
        ("timestamp", timestamp.clone()),
        ("nonce", nonce.clone()),
        ("openid", request.openid.clone()),
    ];
    let body = if mode == Mode::Plaintext {
        message
    } else {
        let Some(key) = aes_key(&settings.encoding_aes_key) else {
            return error(
                StatusCode::CONFLICT,
                "push_not_configured",
                "the saved EncodingAESKey is unusable",
            );
        };
        let encrypt = encrypt(&key, &message, &appid);
        query.push(("encrypt_type", "aes".to_owned()));
        query.push((
            "msg_signature",
            signature(&[&settings.token, &timestamp, &nonce, &encrypt]),
        ));
        let mut envelope = vec![("ToUserName", Value::from(original_id(&appid)))];
        if mode == Mode::Compatible {
            envelope.extend(fields.iter().skip(1).cloned());
        }
        envelope.push(("Encrypt", Value::from(encrypt)));
        render(&envelope, format)
    };
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let url = with_query(&settings.url, &query);
    let content_type = match format {
        Format::Xml => "text/xml",
        Format::Json => "application/json",
    };
    let mut attempts = Vec::new();
    let mut delivered = false;
    for _ in 0..PUSH_ATTEMPTS {
        let sent = client()
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                delivered = status == 200 && (text.is_empty() || text == "success");
                attempts.push(json!({ "status": status, "body": text }));
            }
            Err(err) => attempts.push(json!({ "error": err.to_string() })),
        }
        if delivered {
            break;
        }
    }
    Json(json!({ "delivered": delivered, "attempts": attempts, "mode": mode, "format": format }))
        .into_response()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PUSH_TIMEOUT)
        .build()
        .unwrap_or_default()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn nonce() -> String {
    let mut bytes = [0u8; 4];
    // A dev tool: an OS RNG failure leaves a fixed nonce, which WeChat's scheme allows.
    let _ = getrandom::fill(&mut bytes);
    u32::from_le_bytes(bytes).to_string()
}

/// A made-up original id (`gh_…`) for the app, as WeChat puts in `ToUserName`.
fn original_id(appid: &str) -> String {
    let digest = Sha1::digest(appid.as_bytes());
    format!("gh_{}", &hex::encode(digest)[..12])
}

/// SHA-1 hex of `parts`, sorted and joined.
fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    hex::encode(Sha1::digest(sorted.concat().as_bytes()))
}

/// The EncodingAESKey's 32 bytes: Base64 of the 43 characters and `=`.
fn aes_key(encoding_aes_key: &str) -> Option<[u8; 32]> {
    if encoding_aes_key.len() != 43 || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(format!("{encoding_aes_key}="))
        .ok()?
        .try_into()
        .ok()
}

/// AES-256-CBC (IV: the key's first 16 bytes) of 16 random bytes, the message's length
/// (4 bytes, big-endian), the message and the appid, padded PKCS#7-style to 32 bytes.
fn encrypt(key: &[u8; 32], message: &str, appid: &str) -> String {
    let mut random = [0u8; 16];
    let _ = getrandom::fill(&mut random);
    let mut plain = random.to_vec();
    plain.extend_from_slice(
        &u32::try_from(message.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    plain.extend_from_slice(message.as_bytes());
    plain.extend_from_slice(appid.as_bytes());
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(u8::try_from(pad).unwrap_or(32), pad));
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&key[..16]);
    let cipher = cbc::Encryptor::<Aes256>::new(key.into(), &iv.into())
        .encrypt_padded_vec::<NoPadding>(&plain);
    STANDARD.encode(cipher)
}

/// The message as WeChat writes it: `<xml>` with CDATA text and bare numbers, or JSON.
fn render(fields: &[(&str, Value)], format: Format) -> String {
    match format {
        Format::Json => {
            let object: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect();
            Value::Object(object).to_string()
        }
        Format::Xml => {
            let mut xml = String::from("<xml>");
            for (name, value) in fields {
                match value {
                    Value::Number(number) => xml.push_str(&format!("<{name}>{number}</{name}>")),
                    other => {
                        let text = other
                            .as_str()
                            .map_or_else(|| other.to_string(), str::to_owned);
                        xml.push_str(&format!("<{name}><![CDATA[{text}]]></{name}>"));
                    }
                }
            }
            xml.push_str("</xml>");
            xml
        }
    }
}

/// `url` with `query` appended (percent-encoded).
fn with_query(url: &str, query: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = query
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect();
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{}", encoded.join("&"))
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WeChat's WXBizMsgCrypt sample: the URL check's signature, and a known key.
    #[test]
    fn signatures_and_keys_follow_wechats_sample() {
        let mut parts = ["pamtest", "1409304348", "xxxxxx"];
        parts.sort_unstable();
        assert_eq!(
            signature(&["xxxxxx", "pamtest", "1409304348"]),
            hex::encode(Sha1::digest(parts.concat().as_bytes()))
        );
        assert!(aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").is_some());
        assert_eq!(aes_key(&"A".repeat(43)), Some([0; 32]));
        assert!(aes_key("short").is_none());
    }
}
