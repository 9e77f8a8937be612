//! Pushes made as WeChat makes them (signed, and encrypted in safe and compatible mode),
//! so the fast tier can send the receiver anything WeChat would.

use crate::domain::push::{PushFormat, PushKeys};

/// The mode of an app's 消息推送 page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMode {
    /// 明文: the message as is, `signature` over the timestamp and nonce.
    Plaintext,
    /// 兼容: the message as is and encrypted, `msg_signature` over the encrypted one.
    Compatible,
    /// 安全: only the encrypted message.
    Safe,
}

impl PushMode {
    /// Every mode.
    pub const ALL: [Self; 3] = [Self::Plaintext, Self::Compatible, Self::Safe];
}

/// A push as WeChat sends it: the query and the body.
#[derive(Debug, Clone)]
pub struct SignedPush {
    /// The query parameters.
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

/// `fields` (name, value) as a message in `format`; values that are all digits are
/// numbers, as WeChat writes `CreateTime`.
pub fn render(fields: &[(&str, &str)], format: PushFormat) -> String {
    let numeric = |value: &str| !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match format {
        PushFormat::Xml => {
            let mut xml = String::from("<xml>");
            for (name, value) in fields {
                if numeric(value) {
                    xml.push_str(&format!("<{name}>{value}</{name}>"));
                } else {
                    xml.push_str(&format!("<{name}><![CDATA[{value}]]></{name}>"));
                }
            }
            xml.push_str("</xml>");
            xml
        }
        PushFormat::Json => {
            let object: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(name, value)| {
                    let value = match value.parse::<u64>() {
                        Ok(number) if numeric(value) => serde_json::Value::from(number),
                        _ => serde_json::Value::from(*value),
                    };
                    ((*name).to_owned(), value)
                })
                .collect();
            serde_json::Value::Object(object).to_string()
        }
    }
}

/// The push of `fields` to `appid` at `timestamp`, as WeChat sends it in `mode` and
/// `format`.
pub fn signed_push(
    keys: &PushKeys,
    appid: &str,
    fields: &[(&str, &str)],
    mode: PushMode,
    format: PushFormat,
    timestamp: i64,
) -> SignedPush {
    let (timestamp, nonce) = (timestamp.to_string(), "1320562132".to_owned());
    let signature = keys.signature(&[&timestamp, &nonce]);
    let mut query = vec![
        ("signature".to_owned(), signature),
        ("timestamp".to_owned(), timestamp.clone()),
        ("nonce".to_owned(), nonce.clone()),
        ("openid".to_owned(), "oFromWeChat".to_owned()),
    ];
    let message = render(fields, format);
    if mode == PushMode::Plaintext {
        return SignedPush {
            query,
            body: message,
        };
    }
    let encrypt = keys.encrypt(&message, appid, *b"0123456789abcdef");
    query.push(("encrypt_type".to_owned(), "aes".to_owned()));
    query.push((
        "msg_signature".to_owned(),
        keys.signature(&[&timestamp, &nonce, &encrypt]),
    ));
    let mut envelope: Vec<(&str, &str)> = vec![("ToUserName", "gh_0123456789ab")];
    if mode == PushMode::Compatible {
        envelope.extend(fields.iter().filter(|(name, _)| *name != "ToUserName"));
    }
    envelope.push(("Encrypt", &encrypt));
    SignedPush {
        query,
        body: render(&envelope, format),
    }
}

/// WeChat's URL check at `timestamp`: the query of the `GET`.
pub fn url_check(keys: &PushKeys, echostr: &str, timestamp: i64) -> Vec<(String, String)> {
    let (timestamp, nonce) = (timestamp.to_string(), "263014780".to_owned());
    vec![
        (
            "signature".to_owned(),
            keys.signature(&[&timestamp, &nonce]),
        ),
        ("timestamp".to_owned(), timestamp),
        ("nonce".to_owned(), nonce),
        ("echostr".to_owned(), echostr.to_owned()),
    ]
}

/// The fields of an `authorized_user_information_changes` push.
pub fn user_event<'a>(
    appid: &'a str,
    openid: &'a str,
    event: &'a str,
    revoke_info: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("ToUserName", "gh_0123456789ab"),
        ("FromUserName", openid),
        ("CreateTime", "1733356800"),
        ("MsgType", "event"),
        ("Event", event),
        ("OpenID", openid),
        ("AppID", appid),
    ];
    if let Some(revoke_info) = revoke_info {
        fields.push(("RevokeInfo", revoke_info));
    }
    fields
}
