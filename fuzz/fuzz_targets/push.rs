//! Arbitrary bytes through message-push reading, the first byte choosing the path:
//! parsing XML or JSON bodies into an event, decrypting `Encrypt` with WeChat's sample
//! keys, and encrypting then decrypting a message. Never a panic; a body holding a DTD
//! is refused; an event's openid and AppID are the ones the fields give, and ours; a
//! message decrypts for the app it was sealed for and no other.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wxlogin::domain::push::{
    MessageError, PushCryptoError, PushEvent, PushFields, PushFormat, PushKeys,
};

const APPID: &str = "wxb11529c136998cb6";
const OTHER_APPID: &str = "wxanotherapp000001";

// WeChat's WXBizMsgCrypt sample keys.
static KEYS: LazyLock<PushKeys> = LazyLock::new(|| {
    PushKeys::new("pamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
        .expect("the sample keys are valid")
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => parse(&String::from_utf8_lossy(rest)),
        1 => decrypt(&String::from_utf8_lossy(rest)),
        _ => round_trip(rest),
    }
});

/// A body as the receiver reads it, after signatures and decryption.
fn parse(body: &str) {
    let Ok((format, fields)) = PushFields::parse(body) else {
        return;
    };
    assert_eq!(PushFormat::of(body), Some(format));
    if format == PushFormat::Xml {
        // Whatever an accepted document holds, a DTD in front of it is refused.
        let with_dtd = format!("<!DOCTYPE xml [<!ENTITY a \"b\">]>{body}");
        assert!(PushFields::parse(&with_dtd).is_err());
    }
    let openid = match PushEvent::of(&fields, APPID) {
        Ok(PushEvent::Cancellation { openid })
        | Ok(PushEvent::Revoke { openid, .. })
        | Ok(PushEvent::InfoModified { openid }) => openid,
        Ok(PushEvent::Other) | Err(MessageError::Malformed(_)) => return,
        Err(MessageError::UnknownFormat) => panic!("an event is never of an unknown format"),
    };
    assert_eq!(fields.get("MsgType"), Some("event"));
    assert!(!openid.is_empty() && openid.len() <= 128);
    assert_eq!(fields.get("OpenID").map(str::trim), Some(openid.as_str()));
    if let Some(named) = fields.get("AppID").map(str::trim) {
        assert!(named.is_empty() || named == APPID);
    }
}

fn decrypt(text: &str) {
    // The signature check runs on attacker text before any decryption.
    let _ = KEYS.signed(text, &["1409304348", "xxxxxx", text]);
    let Ok(message) = KEYS.decrypt(text, APPID) else {
        return;
    };
    // The receiving appid is the only thing told apart after the same decryption.
    assert_eq!(
        KEYS.decrypt(text, OTHER_APPID),
        Err(PushCryptoError::ForeignApp)
    );
    parse(&message);
}

fn round_trip(data: &[u8]) {
    let Some((random, message)) = data.split_first_chunk::<16>() else {
        return;
    };
    let message = String::from_utf8_lossy(message);
    let sealed = KEYS.encrypt(&message, APPID, *random);
    assert_eq!(KEYS.decrypt(&sealed, APPID).as_deref(), Ok(&*message));
    assert_eq!(
        KEYS.decrypt(&sealed, OTHER_APPID),
        Err(PushCryptoError::ForeignApp)
    );
    assert!(KEYS.signed(
        &KEYS.signature(&["1409304348", "xxxxxx", &sealed]),
        &["1409304348", "xxxxxx", &sealed]
    ));
}
