//! The table's partition keys, one prefix per item kind, defined here and nowhere else.
//! The template's IAM policies fence each function to the prefixes it needs with
//! `dynamodb:LeadingKeys`; a test below keeps those fences and these prefixes in step.

use crate::domain::{PhonePack, QuotaWindow, TokenHash, UserKey};

/// The partition key attribute.
pub const PK: &str = "pk";
/// The TTL attribute (epoch seconds); TTL deletes lazily, so every read checks it too.
pub const EXPIRES_AT: &str = "expires_at";

/// `session#<sha256(token)>`: a login session.
pub const SESSION: &str = "session#";
/// `code#<sha256(appid, code)>`: the single-use claim on a login code sent to an app.
pub const CODE_CLAIM: &str = "code#";
/// `access_token#<appid>`: the access token every instance shares.
pub const ACCESS_TOKEN: &str = "access_token#";
/// `user#<user key>`: a user, under the key derived from their openid (openids are per
/// app, so this is one person in one app).
pub const USER: &str = "user#";
/// `quota#<window>`: calls counted against a per-user or per-session quota.
pub const QUOTA: &str = "quota#";
/// `erasure#<subject>`: the audit record of a user's latest erasure, under the keyed hash
/// of their appid and openid.
pub const ERASURE: &str = "erasure#";

/// `pack#<appid>#<kind>`: the recent readings of one app's phone-verification packs of
/// one kind (`quick`, `realtime`).
pub const PACK_READINGS: &str = "pack#";

/// The key of the session for a token.
pub fn session(token: &TokenHash) -> String {
    format!("{SESSION}{}", token.as_hex())
}

/// The key of the claim on a code, by [`LoginCode::claim_digest_hex`](crate::domain::LoginCode::claim_digest_hex).
pub fn code_claim(code_digest: &str) -> String {
    format!("{CODE_CLAIM}{code_digest}")
}

/// The key of a user.
pub fn user(key: &UserKey) -> String {
    format!("{USER}{}", key.as_hex())
}

/// The key of a quota counter.
pub fn quota(window: &QuotaWindow) -> String {
    format!("{QUOTA}{}", window.name)
}

/// The key of the erasure record of `subject`.
pub fn erasure(subject: &str) -> String {
    format!("{ERASURE}{subject}")
}

/// The key of the shared access token of `appid`.
pub fn access_token(appid: &str) -> String {
    format!("{ACCESS_TOKEN}{appid}")
}

/// The key of the readings of `appid`'s packs of `pack`'s kind.
pub fn pack_readings(appid: &str, pack: PhonePack) -> String {
    format!("{PACK_READINGS}{appid}#{}", pack.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../../template.yaml");

    /// Every `(resource, action, fenced prefixes)` the template's policies grant.
    fn template_fences() -> Vec<(String, String, Vec<String>)> {
        let mut fences = Vec::new();
        let (mut resource, mut action) = (String::new(), String::new());
        for line in TEMPLATE.lines() {
            let trimmed = line.trim();
            if line.starts_with("  ") && !line.starts_with("   ") && trimmed.ends_with(':') {
                resource = trimmed.trim_end_matches(':').to_owned();
            } else if let Some(rest) = trimmed.strip_prefix("Action:") {
                action = rest.trim().to_owned();
            } else if let Some(rest) = trimmed.strip_prefix("dynamodb:LeadingKeys:") {
                let prefixes = rest
                    .trim()
                    .trim_matches(['[', ']'])
                    .split(',')
                    .map(|entry| entry.trim().trim_matches('"').to_owned())
                    .collect();
                fences.push((resource.clone(), action.clone(), prefixes));
            }
        }
        fences
    }

    #[test]
    fn the_templates_leading_keys_fences_name_these_prefixes() {
        let fence = |prefixes: &[&str]| -> Vec<String> {
            prefixes.iter().map(|prefix| format!("{prefix}*")).collect()
        };
        let expected = [
            (
                "OnLoginFunction",
                "dynamodb:PutItem",
                fence(&[CODE_CLAIM, SESSION, USER]),
            ),
            (
                "OnLoginFunction",
                "dynamodb:DeleteItem",
                fence(&[CODE_CLAIM, SESSION]),
            ),
            (
                "OnLoginFunction",
                "dynamodb:BatchWriteItem",
                fence(&[SESSION]),
            ),
            (
                "OnLoginFunction",
                "dynamodb:UpdateItem",
                fence(&[USER, &format!("{QUOTA}client#")]),
            ),
            ("OnLoginFunction", "dynamodb:GetItem", fence(&[USER])),
            // With RiskCheck on: the access token getuserriskrank is called with.
            (
                "OnLoginFunction",
                "dynamodb:GetItem",
                fence(&[ACCESS_TOKEN]),
            ),
            (
                "OnLoginFunction",
                "dynamodb:UpdateItem",
                fence(&[ACCESS_TOKEN]),
            ),
            (
                "DecryptPhoneFunction",
                "dynamodb:BatchGetItem",
                fence(&[SESSION, USER]),
            ),
            (
                "DecryptPhoneFunction",
                "dynamodb:GetItem",
                fence(&[ACCESS_TOKEN]),
            ),
            (
                "DecryptPhoneFunction",
                "dynamodb:UpdateItem",
                fence(&[ACCESS_TOKEN, USER, QUOTA]),
            ),
            (
                "SessionFunction",
                "dynamodb:BatchGetItem",
                fence(&[SESSION, USER]),
            ),
            (
                "SessionFunction",
                "dynamodb:GetItem",
                fence(&[ACCESS_TOKEN, USER]),
            ),
            (
                "SessionFunction",
                "[dynamodb:DeleteItem, dynamodb:BatchWriteItem]",
                fence(&[SESSION]),
            ),
            (
                "SessionFunction",
                "dynamodb:UpdateItem",
                fence(&[ACCESS_TOKEN, USER, QUOTA]),
            ),
            (
                "AccountFunction",
                "dynamodb:BatchGetItem",
                fence(&[SESSION, USER]),
            ),
            ("AccountFunction", "dynamodb:GetItem", fence(&[QUOTA])),
            ("AccountFunction", "dynamodb:UpdateItem", fence(&[USER])),
            (
                "AccountFunction",
                "dynamodb:BatchWriteItem",
                fence(&[SESSION, QUOTA]),
            ),
            ("AccountFunction", "dynamodb:DeleteItem", fence(&[USER])),
            ("AccountFunction", "dynamodb:UpdateItem", fence(&[ERASURE])),
            (
                "WeChatEventsFunction",
                "[dynamodb:UpdateItem, dynamodb:DeleteItem]",
                fence(&[USER]),
            ),
            (
                "WeChatEventsFunction",
                "dynamodb:BatchWriteItem",
                fence(&[SESSION, QUOTA]),
            ),
            (
                "WeChatEventsFunction",
                "dynamodb:UpdateItem",
                fence(&[ERASURE]),
            ),
            (
                "RetentionFunction",
                "dynamodb:UpdateItem",
                fence(&[ERASURE]),
            ),
            (
                "PhonePacksFunction",
                "[dynamodb:GetItem, dynamodb:UpdateItem]",
                fence(&[ACCESS_TOKEN, PACK_READINGS]),
            ),
            (
                "TokenFunction",
                "dynamodb:BatchGetItem",
                fence(&[SESSION, USER]),
            ),
            (
                "AuthorizerFunction",
                "dynamodb:BatchGetItem",
                fence(&[SESSION, USER]),
            ),
        ]
        .map(|(resource, action, prefixes)| (resource.to_owned(), action.to_owned(), prefixes));
        assert_eq!(template_fences(), expected);
    }

    #[test]
    fn keys_start_with_their_prefix() {
        assert_eq!(code_claim("ab"), "code#ab");
        assert_eq!(access_token("wx1"), "access_token#wx1");
        assert_eq!(
            pack_readings("wx1", PhonePack::Realtime),
            "pack#wx1#realtime"
        );
        assert!(
            session(
                &crate::domain::SessionToken::parse(&"A".repeat(43))
                    .unwrap()
                    .hash()
            )
            .starts_with(SESSION)
        );
    }
}
