//! A pushed message's fields, from WeChat's XML or JSON, and the user-data events among
//! them (docs/wechat.md, "Message push").
//!
//! Only the root's direct children are read, each as text; a field given twice, a DTD,
//! an entity other than XML's five and character references, or a root other than
//! `<xml>` refuses the whole message (no entity is ever resolved from a document).

use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde_json::Value;

/// The format the 消息推送 page was set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushFormat {
    /// `<xml>…</xml>`.
    Xml,
    /// A JSON object.
    Json,
}

impl PushFormat {
    /// The format a body is in, by its first character.
    pub fn of(body: &str) -> Option<Self> {
        match body.trim_start().chars().next()? {
            '<' => Some(Self::Xml),
            '{' => Some(Self::Json),
            _ => None,
        }
    }

    /// Its name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Xml => "xml",
            Self::Json => "json",
        }
    }
}

/// Why a body is not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Neither XML nor a JSON object.
    #[error("the body is neither WeChat's XML nor a JSON object")]
    UnknownFormat,
    /// Malformed, or holding what WeChat never sends (a DTD, an entity, a field twice).
    #[error("{0}")]
    Malformed(&'static str),
}

/// The top-level fields of a message, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushFields(HashMap<String, String>);

impl PushFields {
    /// Reads `body` in its format.
    pub fn parse(body: &str) -> Result<(PushFormat, Self), MessageError> {
        let format = PushFormat::of(body).ok_or(MessageError::UnknownFormat)?;
        let fields = match format {
            PushFormat::Xml => xml_fields(body)?,
            PushFormat::Json => json_fields(body)?,
        };
        Ok((format, Self(fields)))
    }

    /// The field `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

fn xml_fields(body: &str) -> Result<HashMap<String, String>, MessageError> {
    let mut reader = Reader::from_str(body);
    let mut fields = HashMap::new();
    let mut depth = 0usize;
    let mut current: Option<(String, String)> = None;
    let mut saw_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|_| MessageError::Malformed("the message is not well-formed XML"))?;
        match event {
            Event::Decl(_) | Event::Comment(_) => {}
            Event::DocType(_) => return Err(MessageError::Malformed("the message holds a DTD")),
            Event::PI(_) => {
                return Err(MessageError::Malformed(
                    "the message holds a processing instruction",
                ));
            }
            Event::Start(start) => {
                depth += 1;
                let name = start.name().as_ref().to_owned();
                match depth {
                    1 if name == "xml" && !saw_root => saw_root = true,
                    1 => {
                        return Err(MessageError::Malformed(
                            "the message's root is not one <xml>",
                        ));
                    }
                    2 => current = Some((name, String::new())),
                    // Nested elements (other messages' structures) are not ours to read.
                    _ => {}
                }
            }
            Event::Empty(start) => match depth {
                0 => {
                    return Err(MessageError::Malformed(
                        "the message's root is not one <xml>",
                    ));
                }
                1 => {
                    let name = start.name().as_ref().to_owned();
                    insert(&mut fields, name, String::new())?;
                }
                _ => {}
            },
            Event::End(_) => {
                if depth == 2
                    && let Some((name, text)) = current.take()
                {
                    insert(&mut fields, name, text)?;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(text) => {
                let text = text.xml10_content();
                match (&mut current, depth) {
                    (Some((_, value)), 2) => value.push_str(&text),
                    (_, 0 | 1) if !text.trim().is_empty() => {
                        return Err(MessageError::Malformed(
                            "the message has text outside its fields",
                        ));
                    }
                    _ => {}
                }
            }
            Event::CData(data) => {
                let data = data.xml10_content();
                if let (Some((_, value)), 2) = (&mut current, depth) {
                    value.push_str(&data);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(character)) => character.to_string(),
                    Ok(None) => predefined(&reference.xml10_content())
                        .ok_or(MessageError::Malformed(
                            "the message holds an entity reference",
                        ))?
                        .to_string(),
                    Err(_) => {
                        return Err(MessageError::Malformed(
                            "the message holds a bad character reference",
                        ));
                    }
                };
                if let (Some((_, value)), 2) = (&mut current, depth) {
                    value.push_str(&resolved);
                }
            }
            Event::Eof => break,
        }
    }
    if !saw_root || depth != 0 {
        return Err(MessageError::Malformed(
            "the message has no complete <xml> root",
        ));
    }
    Ok(fields)
}

/// XML's five predefined entities, the only ones a message may use.
fn predefined(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

fn json_fields(body: &str) -> Result<HashMap<String, String>, MessageError> {
    // serde_json keeps the last of a repeated key: read into a map that refuses repeats.
    let object: DistinctObject = serde_json::from_str(body).map_err(|_| {
        MessageError::Malformed("the message is not a JSON object with distinct keys")
    })?;
    let mut fields = HashMap::new();
    for (name, value) in object.0 {
        let text = match value {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            // Nested structures are other messages' business.
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
        };
        fields.insert(name, text);
    }
    Ok(fields)
}

fn insert(
    fields: &mut HashMap<String, String>,
    name: String,
    value: String,
) -> Result<(), MessageError> {
    if fields.insert(name, value).is_some() {
        return Err(MessageError::Malformed("the message gives a field twice"));
    }
    Ok(())
}

/// A JSON object whose keys must be distinct.
struct DistinctObject(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for DistinctObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = DistinctObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, Value)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if entries.iter().any(|(seen, _)| *seen == key) {
                        return Err(serde::de::Error::custom("a key given twice"));
                    }
                    entries.push((key, value));
                }
                Ok(DistinctObject(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// `RevokeInfo` 8: the phone number.
pub const REVOKED_PHONE_NUMBER: u32 = 8;

/// What a push asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// `user_authorization_cancellation`: the user deleted their WeChat account.
    Cancellation {
        /// The user.
        openid: String,
    },
    /// `user_authorization_revoke`: the user withdrew the authorizations `revoked` names
    /// (`RevokeInfo`).
    Revoke {
        /// The user.
        openid: String,
        /// What was withdrawn (8: the phone number).
        revoked: Vec<u32>,
    },
    /// `user_info_modified`: WeChat cleaned the user's risky profile data.
    InfoModified {
        /// The user.
        openid: String,
    },
    /// Anything else WeChat pushes (other events, messages).
    Other,
}

impl PushEvent {
    /// The event `fields` carry. A user-data event naming no openid, or an `AppID` that
    /// is not `appid`, is [`MessageError::Malformed`].
    pub fn of(fields: &PushFields, appid: &str) -> Result<Self, MessageError> {
        if fields.get("MsgType") != Some("event") {
            return Ok(Self::Other);
        }
        let event = fields.get("Event").unwrap_or_default();
        if !matches!(
            event,
            "user_authorization_cancellation" | "user_authorization_revoke" | "user_info_modified"
        ) {
            return Ok(Self::Other);
        }
        let openid = fields
            .get("OpenID")
            .map(str::trim)
            .filter(|openid| !openid.is_empty() && openid.len() <= 128)
            .ok_or(MessageError::Malformed(
                "a user-data event without its OpenID",
            ))?
            .to_owned();
        if let Some(named) = fields.get("AppID")
            && !named.trim().is_empty()
            && named.trim() != appid
        {
            return Err(MessageError::Malformed(
                "the message names an AppID other than this URL's",
            ));
        }
        Ok(match event {
            "user_authorization_cancellation" => Self::Cancellation { openid },
            "user_authorization_revoke" => Self::Revoke {
                openid,
                revoked: fields
                    .get("RevokeInfo")
                    .unwrap_or_default()
                    .split(|c: char| c == ',' || c == '|' || c.is_whitespace())
                    .filter_map(|item| item.trim().parse().ok())
                    .collect(),
            },
            _ => Self::InfoModified { openid },
        })
    }

    /// Its name in logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cancellation { .. } => "user_authorization_cancellation",
            Self::Revoke { .. } => "user_authorization_revoke",
            Self::InfoModified { .. } => "user_info_modified",
            Self::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Result<PushFields, MessageError> {
        PushFields::parse(body).map(|(_, fields)| fields)
    }

    #[test]
    fn wechats_xml_reads_as_its_fields() {
        let body = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[user_authorization_revoke]]></Event><OpenID><![CDATA[o1]]></OpenID><AppID><![CDATA[wxA]]></AppID><RevokeInfo><![CDATA[1,8]]></RevokeInfo><PluginID/></xml>";
        let (format, fields) = PushFields::parse(body).unwrap();
        assert_eq!(format, PushFormat::Xml);
        assert_eq!(fields.get("CreateTime"), Some("1409735668"));
        assert_eq!(fields.get("PluginID"), Some(""));
        assert_eq!(
            PushEvent::of(&fields, "wxA").unwrap(),
            PushEvent::Revoke {
                openid: "o1".into(),
                revoked: vec![1, 8]
            }
        );
        assert_eq!(
            PushEvent::of(&fields, "wxB"),
            Err(MessageError::Malformed(
                "the message names an AppID other than this URL's"
            ))
        );
    }

    #[test]
    fn the_json_format_reads_the_same() {
        let body = r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1700000000,"MsgType":"event","Event":"user_authorization_cancellation","OpenID":"o1","AppID":"wxA","Extra":{"a":1}}"#;
        let (format, fields) = PushFields::parse(body).unwrap();
        assert_eq!(format, PushFormat::Json);
        assert_eq!(fields.get("CreateTime"), Some("1700000000"));
        assert_eq!(
            PushEvent::of(&fields, "wxA").unwrap(),
            PushEvent::Cancellation {
                openid: "o1".into()
            }
        );
        let revoke = r#"{"MsgType":"event","Event":"user_authorization_revoke","OpenID":"o1","RevokeInfo":8}"#;
        assert_eq!(
            PushEvent::of(&parsed(revoke).unwrap(), "wxA").unwrap(),
            PushEvent::Revoke {
                openid: "o1".into(),
                revoked: vec![8]
            }
        );
    }

    #[test]
    fn other_pushes_ask_nothing_and_user_events_need_their_openid() {
        for body in [
            "<xml><MsgType>text</MsgType><Content>hi</Content></xml>",
            r#"{"MsgType":"event","Event":"debug_demo"}"#,
            "<xml><MsgType>video</MsgType><Video><MediaId>m</MediaId></Video></xml>",
        ] {
            assert_eq!(
                PushEvent::of(&parsed(body).unwrap(), "wxA").unwrap(),
                PushEvent::Other,
                "{body}"
            );
        }
        let no_openid = r#"{"MsgType":"event","Event":"user_info_modified"}"#;
        assert!(PushEvent::of(&parsed(no_openid).unwrap(), "wxA").is_err());
    }

    #[test]
    fn entities_dtds_and_repeats_are_refused() {
        for body in [
            r#"<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><OpenID>&xxe;</OpenID></xml>"#,
            r#"<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">]><xml><OpenID>&a;</OpenID></xml>"#,
            "<xml><OpenID>&custom;</OpenID></xml>",
            "<xml><OpenID>o1</OpenID><OpenID>o2</OpenID></xml>",
            "<xml><OpenID>o1</OpenID></xml><xml></xml>",
            "<notxml><OpenID>o1</OpenID></notxml>",
            "<xml><OpenID>o1</OpenID>",
            "<xml><?php evil ?><OpenID>o1</OpenID></xml>",
            "<xml>stray<OpenID>o1</OpenID></xml>",
            r#"{"OpenID":"o1","OpenID":"o2"}"#,
            r#"["o1"]"#,
            "{oops",
            "plain text",
            "",
        ] {
            assert!(PushFields::parse(body).is_err(), "{body}");
        }
        let escaped = parsed("<xml><Content>a &lt; b &amp; &#20013;</Content></xml>").unwrap();
        assert_eq!(escaped.get("Content"), Some("a < b & 中"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in ".{0,400}") {
            if let Ok((_, fields)) = PushFields::parse(&body) {
                let _ = PushEvent::of(&fields, "wxA");
            }
        }

        #[test]
        fn arbitrary_xml_like_bodies_never_panic(body in "<xml>(<[A-Za-z]{1,5}>[^<]{0,10}</[A-Za-z]{1,5}>|<!\\[CDATA\\[[^\\]]{0,5}\\]\\]>|&[a-z#0-9]{0,5};){0,6}</xml>") {
            let _ = PushFields::parse(&body);
        }
    }
}
