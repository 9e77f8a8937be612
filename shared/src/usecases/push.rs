//! WeChat's message push for one app's URL: the URL check (`GET`), and the pushes
//! (`POST`) in plaintext, compatible or safe mode, XML or JSON. A push is acted on only
//! once its signature holds under the app's Token and its timestamp is recent; in safe
//! and compatible mode only the encrypted message, signed with it, is read.
//!
//! - `user_authorization_cancellation` → the user is erased, as `DELETE /account` does;
//! - `user_authorization_revoke` naming the phone number (8) → the phone is erased;
//! - other revocations and `user_info_modified` → nothing of ours to delete (we store no
//!   nickname or avatar): logged and counted;
//! - anything else → nothing.
//!
//! Every action is idempotent: WeChat retries a push it got no answer to within 5 s.

use std::time::Duration;

use super::Accounts;
use crate::domain::clock::now_epoch_seconds;
use crate::domain::push::{
    MessageError, PushCryptoError, PushEvent, PushFields, PushKeys, REVOKED_PHONE_NUMBER,
};
use crate::domain::{ErasureReason, PushError};
use crate::ports::{ErasureLog, PushKeyring, Quotas, Sessions, StackKeys, Users};
use crate::telemetry::current::set_app;
use crate::telemetry::metrics;

/// How far a push's timestamp may be from our clock: WeChat's retries come within
/// seconds, and both clocks are NTP-synchronised; beyond this a push is a replay.
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(300);

/// The query WeChat puts on the push URL.
#[derive(Debug, Clone, Default)]
pub struct PushQuery {
    /// SHA-1 over the Token, timestamp and nonce.
    pub signature: Option<String>,
    /// Epoch seconds, as text.
    pub timestamp: Option<String>,
    /// A random number, as text.
    pub nonce: Option<String>,
    /// The URL check's string to echo.
    pub echostr: Option<String>,
    /// `aes` in safe and compatible mode.
    pub encrypt_type: Option<String>,
    /// SHA-1 over the Token, timestamp, nonce and `Encrypt`.
    pub msg_signature: Option<String>,
}

/// What a push led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handled {
    /// The event's name (`other` for anything not about user data).
    pub event: &'static str,
    /// What we did: `erased`, `phone_erased`, `nothing_stored` (no such user, or nothing
    /// of ours to delete), `ignored` (not a user-data event).
    pub action: &'static str,
}

/// The push receiver with the ports it needs, built once per instance.
pub struct PushReceiver<S, A, K> {
    accounts: Accounts<S, A>,
    keyring: K,
    served: Vec<String>,
}

impl<S, A, K> PushReceiver<S, A, K>
where
    S: Sessions + Users + Quotas + ErasureLog,
    A: StackKeys,
    K: PushKeyring,
{
    /// Pushes for the `served` apps, verified with `keyring`'s keys, acted on by `accounts`.
    pub fn new(accounts: Accounts<S, A>, keyring: K, served: Vec<String>) -> Self {
        Self {
            accounts,
            keyring,
            served,
        }
    }

    /// WeChat's URL check: `echostr`, if `signature` holds over the timestamp and nonce.
    pub async fn verify_url(&self, appid: &str, query: &PushQuery) -> Result<String, PushError> {
        let keys = self.keys(appid).await?;
        let (timestamp, nonce) = fresh_timestamp_and_nonce(query)?;
        let signature = query.signature.as_deref().ok_or(PushError::BadSignature)?;
        self.check(appid, keys, signature, &[timestamp, nonce])
            .await?;
        query
            .echostr
            .clone()
            .ok_or(PushError::Malformed("the URL check carries no echostr"))
    }

    /// A push: verified, read, acted on.
    pub async fn receive(
        &self,
        appid: &str,
        query: &PushQuery,
        body: &str,
    ) -> Result<Handled, PushError> {
        let keys = self.keys(appid).await?;
        let (timestamp, nonce) = fresh_timestamp_and_nonce(query)?;
        let (format, outer) = PushFields::parse(body).map_err(malformed)?;
        let encrypted = match query.encrypt_type.as_deref() {
            None | Some("raw") => false,
            Some("aes") => true,
            Some(_) => return Err(PushError::Malformed("encrypt_type is neither aes nor raw")),
        };
        let fields = if encrypted {
            let encrypt = outer.get("Encrypt").ok_or(PushError::Malformed(
                "encrypt_type=aes but no Encrypt field",
            ))?;
            let signature = query
                .msg_signature
                .as_deref()
                .ok_or(PushError::BadSignature)?;
            let keys = self
                .check(appid, keys, signature, &[timestamp, nonce, encrypt])
                .await?;
            let message = keys.decrypt(encrypt, appid).map_err(|err| match err {
                PushCryptoError::Malformed => {
                    PushError::Malformed("Encrypt is not base64 of whole AES blocks")
                }
                PushCryptoError::BadPadding => PushError::Malformed(
                    "the message does not decrypt with this app's EncodingAESKey",
                ),
                PushCryptoError::ForeignApp => {
                    PushError::Malformed("the message is for another app")
                }
            })?;
            let (inner_format, inner) = PushFields::parse(&message).map_err(malformed)?;
            if inner_format != format {
                tracing::warn!(
                    outer = format.name(),
                    inner = inner_format.name(),
                    "a push in two formats"
                );
            }
            inner
        } else {
            // Plaintext mode signs only the timestamp and nonce, not the body: accepted only
            // from an app whose page is in plaintext mode (docs/security.md).
            if !keys.accepts_plaintext() {
                return Err(PushError::Malformed(
                    "this app's pushes are encrypted (safe or compatible mode): encrypt_type=aes and msg_signature are required",
                ));
            }
            let signature = query.signature.as_deref().ok_or(PushError::BadSignature)?;
            self.check(appid, keys, signature, &[timestamp, nonce])
                .await?;
            outer
        };
        let event = PushEvent::of(&fields, appid).map_err(malformed)?;
        let action = self.act(appid, &event).await?;
        metrics::record_push(appid, event.name(), action);
        tracing::info!(
            event = event.name(),
            action,
            format = format.name(),
            encrypted,
            "push handled"
        );
        Ok(Handled {
            event: event.name(),
            action,
        })
    }

    async fn act(&self, appid: &str, event: &PushEvent) -> Result<&'static str, PushError> {
        Ok(match event {
            PushEvent::Cancellation { openid } => {
                let erased = self
                    .accounts
                    .erase(appid, openid, ErasureReason::WeChatCancellation)
                    .await?;
                if erased.found {
                    "erased"
                } else {
                    "nothing_stored"
                }
            }
            PushEvent::Revoke { openid, revoked } if revoked.contains(&REVOKED_PHONE_NUMBER) => {
                let erased = self
                    .accounts
                    .erase_phone(appid, openid, ErasureReason::WeChatRevokePhone)
                    .await?;
                if erased {
                    "phone_erased"
                } else {
                    "nothing_stored"
                }
            }
            PushEvent::Revoke { .. } | PushEvent::InfoModified { .. } => "nothing_stored",
            PushEvent::Other => "ignored",
        })
    }

    /// The keys of a served `appid`.
    async fn keys(&self, appid: &str) -> Result<PushKeys, PushError> {
        if !self.served.iter().any(|served| served == appid) {
            return Err(PushError::UnknownApp);
        }
        set_app(appid);
        self.keyring
            .push_keys(appid)
            .await?
            .ok_or(PushError::NotConfigured)
    }

    /// `keys` if `signature` holds over `parts`, else the keys read again if they hold
    /// under those (the Token was changed since they were read).
    async fn check(
        &self,
        appid: &str,
        keys: PushKeys,
        signature: &str,
        parts: &[&str],
    ) -> Result<PushKeys, PushError> {
        if keys.signed(signature, parts) {
            return Ok(keys);
        }
        match self.keyring.reread_push_keys(appid).await? {
            Some(fresh) if fresh.signed(signature, parts) => Ok(fresh),
            _ => Err(PushError::BadSignature),
        }
    }
}

/// The timestamp (within [`TIMESTAMP_WINDOW`] of now) and nonce of `query`.
fn fresh_timestamp_and_nonce(query: &PushQuery) -> Result<(&str, &str), PushError> {
    let timestamp = query
        .timestamp
        .as_deref()
        .ok_or(PushError::StaleTimestamp)?;
    let nonce = query
        .nonce
        .as_deref()
        .ok_or(PushError::Malformed("the push carries no nonce"))?;
    let at: i64 = timestamp.parse().map_err(|_| PushError::StaleTimestamp)?;
    // abs_diff: no overflow, whatever number the query carries.
    if now_epoch_seconds().abs_diff(at) > TIMESTAMP_WINDOW.as_secs() {
        return Err(PushError::StaleTimestamp);
    }
    Ok((timestamp, nonce))
}

fn malformed(err: MessageError) -> PushError {
    match err {
        MessageError::UnknownFormat => {
            PushError::Malformed("the body is neither WeChat's XML nor a JSON object")
        }
        MessageError::Malformed(what) => PushError::Malformed(what),
    }
}

#[cfg(test)]
mod tests {
    use http::Method;
    use lambda_http::{Body, Response};
    use serde_json::Value;

    use crate::domain::clock::now_epoch_seconds;
    use crate::domain::push::{PushFormat, PushKeys};
    use crate::testing::pushes::{PushMode, SignedPush, signed_push, url_check, user_event};
    use crate::testing::{APPID, ServeHttp, Twins, push_keys, push_request};

    fn decoded(response: &Response<Body>) -> (u16, String) {
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        (response.status().as_u16(), text)
    }

    fn error_code(response: &Response<Body>) -> String {
        let json: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        json["error"].as_str().unwrap().to_owned()
    }

    async fn send(twins: &Twins, push: &SignedPush) -> Response<Body> {
        send_in(twins, PushMode::Safe, push).await
    }

    async fn send_in(twins: &Twins, mode: PushMode, push: &SignedPush) -> Response<Body> {
        twins
            .push_receiver_in(mode)
            .handle(push_request(
                Method::POST,
                APPID,
                &push.query,
                push.body.clone(),
            ))
            .await
    }

    #[tokio::test]
    async fn the_url_check_echoes_only_a_signed_recent_request() {
        let twins = Twins::new();
        let receiver = twins.push_receiver();
        let now = now_epoch_seconds();
        let check = |query: Vec<(String, String)>| push_request(Method::GET, APPID, &query, "");
        let response = receiver
            .handle(check(url_check(&push_keys(), "echo123", now)))
            .await;
        assert_eq!(decoded(&response), (200, "echo123".to_owned()));
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );

        let wrong = PushKeys::new("anotherToken", crate::testing::TEST_PUSH_AES_KEY).unwrap();
        for (query, code) in [
            (url_check(&wrong, "echo", now), "invalid_signature"),
            (
                url_check(&push_keys(), "echo", now - 301),
                "stale_timestamp",
            ),
            (
                url_check(&push_keys(), "echo", now + 301),
                "stale_timestamp",
            ),
            (Vec::new(), "stale_timestamp"),
        ] {
            let response = receiver.handle(check(query)).await;
            assert_eq!(error_code(&response), code);
        }
        let other_app = push_request(
            Method::GET,
            "wxnotserved000001",
            &url_check(&push_keys(), "e", now),
            "",
        );
        assert_eq!(error_code(&receiver.handle(other_app).await), "unknown_app");
        let bad_path = push_request(
            Method::GET,
            "not-an-appid",
            &url_check(&push_keys(), "e", now),
            "",
        );
        assert_eq!(
            error_code(&receiver.handle(bad_path).await),
            "invalid_request"
        );
        let put = push_request(Method::PUT, APPID, &[], "");
        assert_eq!(
            error_code(&receiver.handle(put).await),
            "method_not_allowed"
        );
    }

    /// Each event in every mode and format: a cancellation erases the user, a phone
    /// revocation erases the phone, anything else changes nothing; every answer is
    /// `success`, and a retried push changes nothing more.
    #[tokio::test]
    async fn every_event_in_every_mode_and_format_does_what_it_says() {
        for mode in PushMode::ALL {
            for format in [PushFormat::Xml, PushFormat::Json] {
                let case = format!("{mode:?} {format:?}");
                let twins = Twins::new();
                let (token, _) = twins.logged_in("o1", None).await;
                twins.bind_phone(&token, "13800138000").await;
                let now = now_epoch_seconds();
                let push = |event: &str, revoke: Option<&str>| {
                    signed_push(
                        &push_keys(),
                        APPID,
                        &user_event(APPID, "o1", event, revoke),
                        mode,
                        format,
                        now,
                    )
                };
                let user = || twins.table.user(&crate::testing::user_key("o1"));

                for (event, revoke) in [
                    ("user_authorization_revoke", Some("6")),
                    ("user_info_modified", None),
                    ("some_future_event", None),
                ] {
                    let response = send_in(&twins, mode, &push(event, revoke)).await;
                    assert_eq!(
                        decoded(&response),
                        (200, "success".to_owned()),
                        "{case} {event}"
                    );
                    assert!(
                        user().unwrap().phone.is_some(),
                        "{case} {event}: nothing of ours"
                    );
                }
                for _ in 0..2 {
                    let response =
                        send_in(&twins, mode, &push("user_authorization_revoke", Some("8"))).await;
                    assert_eq!(decoded(&response), (200, "success".to_owned()), "{case}");
                    assert!(
                        user().unwrap().phone.is_none(),
                        "{case}: the phone is erased"
                    );
                }
                assert!(
                    twins
                        .authorize()
                        .live_session(&token)
                        .await
                        .unwrap()
                        .is_some(),
                    "{case}: the user stays"
                );
                for _ in 0..2 {
                    let response =
                        send_in(&twins, mode, &push("user_authorization_cancellation", None)).await;
                    assert_eq!(decoded(&response), (200, "success".to_owned()), "{case}");
                    assert!(user().is_none(), "{case}: the user is erased");
                }
                assert!(
                    twins
                        .authorize()
                        .live_session(&token)
                        .await
                        .unwrap()
                        .is_none(),
                    "{case}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_push_that_does_not_verify_changes_nothing() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", None).await;
        let now = now_epoch_seconds();
        let cancel = user_event(APPID, "o1", "user_authorization_cancellation", None);
        let good = signed_push(
            &push_keys(),
            APPID,
            &cancel,
            PushMode::Safe,
            PushFormat::Xml,
            now,
        );
        let wrong_keys = PushKeys::new(
            "anotherToken",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123456",
        )
        .unwrap();
        let with_query = |name: &str, value: &str| SignedPush {
            query: good
                .query
                .iter()
                .map(|(key, old)| {
                    (
                        key.clone(),
                        if key == name {
                            value.to_owned()
                        } else {
                            old.clone()
                        },
                    )
                })
                .collect(),
            body: good.body.clone(),
        };
        let with_body = |body: &str| SignedPush {
            query: good.query.clone(),
            body: body.to_owned(),
        };
        let other_app_message = {
            let encrypt = push_keys().encrypt(
                &crate::testing::pushes::render(&cancel, PushFormat::Xml),
                "wxsomeoneelse0001",
                [3; 16],
            );
            let timestamp = now.to_string();
            let signature = push_keys().signature(&[&timestamp, "1320562132", &encrypt]);
            SignedPush {
                query: vec![
                    ("timestamp".into(), timestamp),
                    ("nonce".into(), "1320562132".into()),
                    ("encrypt_type".into(), "aes".into()),
                    ("msg_signature".into(), signature),
                ],
                body: format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
            }
        };
        let foreign_appid = user_event(
            "wxsomeoneelse0001",
            "o1",
            "user_authorization_cancellation",
            None,
        );
        let cases = [
            (
                "signed with another Token",
                signed_push(
                    &wrong_keys,
                    APPID,
                    &cancel,
                    PushMode::Safe,
                    PushFormat::Xml,
                    now,
                ),
                "invalid_signature",
            ),
            (
                "plaintext to an app in safe mode (a downgrade)",
                signed_push(
                    &push_keys(),
                    APPID,
                    &cancel,
                    PushMode::Plaintext,
                    PushFormat::Json,
                    now,
                ),
                "invalid_request",
            ),
            (
                "encrypt_type left out of a safe-mode push",
                SignedPush {
                    query: good
                        .query
                        .iter()
                        .filter(|(k, _)| k != "encrypt_type")
                        .cloned()
                        .collect(),
                    body: good.body.clone(),
                },
                "invalid_request",
            ),
            (
                "msg_signature tampered",
                with_query("msg_signature", "0000000000000000000000000000000000000000"),
                "invalid_signature",
            ),
            (
                "msg_signature missing",
                SignedPush {
                    query: good
                        .query
                        .iter()
                        .filter(|(k, _)| k != "msg_signature")
                        .cloned()
                        .collect(),
                    body: good.body.clone(),
                },
                "invalid_signature",
            ),
            (
                "timestamp changed after signing",
                with_query("timestamp", &(now + 1).to_string()),
                "invalid_signature",
            ),
            (
                "an old timestamp",
                signed_push(
                    &push_keys(),
                    APPID,
                    &cancel,
                    PushMode::Safe,
                    PushFormat::Xml,
                    now - 600,
                ),
                "stale_timestamp",
            ),
            (
                "timestamp not a number",
                with_query("timestamp", "soon"),
                "stale_timestamp",
            ),
            (
                "Encrypt replaced",
                with_body("<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"),
                "invalid_signature",
            ),
            (
                "encrypted for another app",
                other_app_message,
                "invalid_request",
            ),
            (
                "the message names another AppID",
                signed_push(
                    &push_keys(),
                    APPID,
                    &foreign_appid,
                    PushMode::Safe,
                    PushFormat::Json,
                    now,
                ),
                "invalid_request",
            ),
            (
                "a DTD",
                with_body("<!DOCTYPE xml [<!ENTITY x \"y\">]><xml><Encrypt>&x;</Encrypt></xml>"),
                "invalid_request",
            ),
            (
                "not XML or JSON",
                with_body("Encrypt=abc"),
                "invalid_request",
            ),
            (
                "encrypt_type unknown",
                with_query("encrypt_type", "des"),
                "invalid_request",
            ),
            (
                "a body over 16 KiB",
                with_body(&format!(
                    "<xml><Encrypt>{}</Encrypt></xml>",
                    "A".repeat(17 * 1024)
                )),
                "payload_too_large",
            ),
        ];
        for (name, push, code) in cases {
            let response = send(&twins, &push).await;
            assert_eq!(error_code(&response), code, "{name}");
        }
        assert!(
            twins
                .authorize()
                .live_session(&token)
                .await
                .unwrap()
                .is_some(),
            "nothing erased"
        );
        let forged_plaintext = signed_push(
            &wrong_keys,
            APPID,
            &cancel,
            PushMode::Plaintext,
            PushFormat::Json,
            now,
        );
        let response = send_in(&twins, PushMode::Plaintext, &forged_plaintext).await;
        assert_eq!(
            error_code(&response),
            "invalid_signature",
            "plaintext mode still checks the Token"
        );
        assert_eq!(
            decoded(&send(&twins, &good).await).0,
            200,
            "the untouched push still works"
        );
        assert!(
            twins
                .authorize()
                .live_session(&token)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_push_for_an_app_without_keys_is_refused() {
        let twins = Twins::new();
        let receiver = super::PushReceiver::new(
            twins.accounts(),
            crate::adapters::push_keys::PushKeySource::Fixed(std::collections::HashMap::new()),
            vec![APPID.to_owned()],
        );
        let query = url_check(&push_keys(), "e", now_epoch_seconds());
        let response = receiver
            .handle(push_request(Method::GET, APPID, &query, ""))
            .await;
        assert_eq!(error_code(&response), "push_not_configured");
    }

    #[tokio::test]
    async fn a_store_failure_is_a_503_so_wechat_retries_and_the_retry_completes() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", None).await;
        let push = signed_push(
            &push_keys(),
            APPID,
            &user_event(APPID, "o1", "user_authorization_cancellation", None),
            PushMode::Safe,
            PushFormat::Json,
            now_epoch_seconds(),
        );
        twins.table.fail_after(2, 1);
        let response = send(&twins, &push).await;
        assert_eq!(
            (response.status().as_u16(), error_code(&response)),
            (503, "store_unavailable".to_owned())
        );
        assert!(
            twins
                .authorize()
                .live_session(&token)
                .await
                .unwrap()
                .is_none(),
            "refused from the mark on"
        );
        assert_eq!(decoded(&send(&twins, &push).await).0, 200);
        assert!(twins.table.user(&crate::testing::user_key("o1")).is_none());
    }
}
