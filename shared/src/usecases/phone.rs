//! Phone number: a logged-in user's number, from either getPhoneNumber form, bound to
//! the user so later logins and the authorizer know it.
//!
//! - legacy `{encryptedData, iv}`: decrypted here with the session's session_key (one
//!   store read, no WeChat call);
//! - current `{code}`: redeemed at `getuserphonenumber` with the shared access token.

use secrecy::ExposeSecret;

use super::{AccessTokens, Apps, live_session};
use crate::domain::clock::now_epoch_seconds;
use crate::domain::wechat_crypto::decrypt_user_data;
use crate::domain::{
    BoundPhone, Ciphertext, Errcode, Iv, LiveSession, PhoneCode, PhoneError, PhoneForm,
    PhoneNumber, PhoneVerification, QuotaWindow, Session, SessionKey, SessionToken, UserKey,
    WatermarkPolicy, WeChatError,
};
use crate::ports::{AccessTokenStore, Quotas, Sessions, Users, WeChat};
use crate::telemetry::current::set_app;

/// The phone-number use-case with the ports it needs, built once per instance.
pub struct PhoneNumbers<S, W> {
    store: S,
    apps: Apps<W>,
    access_tokens: AccessTokens<S>,
    watermark: WatermarkPolicy,
    /// Phone verifications one user may make per day; `None` for no limit.
    daily_limit: Option<u32>,
}

impl<S: Sessions + Users + AccessTokenStore + Quotas + Clone, W: WeChat> PhoneNumbers<S, W> {
    /// Phone numbers over `store` (sessions, users, the shared access tokens, quotas) and
    /// each app's WeChat, with no per-user limit.
    pub fn new(store: S, apps: Apps<W>, watermark: WatermarkPolicy) -> Self {
        Self {
            access_tokens: AccessTokens::new(store.clone()),
            store,
            apps,
            watermark,
            daily_limit: None,
        }
    }

    /// The same, allowing each user `limit` phone verifications per day (`None`: no limit).
    pub fn with_daily_limit(self, limit: Option<u32>) -> Self {
        Self {
            daily_limit: limit,
            ..self
        }
    }

    /// The live session behind `token`: checked before anything else of the request.
    pub async fn session_of(&self, token: &SessionToken) -> Result<LiveSession, PhoneError> {
        live_session(&self.store, token)
            .await?
            .ok_or(PhoneError::NoSession)
    }

    /// The phone number `form` carries, for the user of `live`, bound to that user
    /// (replacing any earlier number). The session's app decides the watermark and the
    /// access token. A code-form verification, the one WeChat bills, counts against the
    /// user's daily quota. A session ended meanwhile (logged out, erased) binds nothing
    /// and gets [`PhoneError::NoSession`].
    pub async fn verify(
        &self,
        token: &SessionToken,
        live: &LiveSession,
        form: &PhoneForm,
    ) -> Result<PhoneNumber, PhoneError> {
        let session = &live.session;
        // The token names its user's key: no stack key is needed to find them.
        let key = token.user_key();
        let Some(wechat) = self.apps.of_session(session) else {
            tracing::warn!("a session of an app this stack no longer serves");
            return Err(PhoneError::NoSession);
        };
        set_app(wechat.appid());
        let (number, verified_by) = match form {
            PhoneForm::Legacy { ciphertext, iv } => (
                self.decrypt(wechat.appid(), session, ciphertext, iv)?,
                PhoneVerification::Legacy,
            ),
            PhoneForm::Code(code) => (
                self.redeem(wechat, code, &key, &session.openid).await?,
                PhoneVerification::Code,
            ),
            // The same endpoint redeems it and answers the same: `realtime` is the client's
            // word for which button the code came from (WeChat billed that button's pack
            // when it issued the code). The redemption itself is WeChat's proof.
            PhoneForm::Realtime(code) => (
                self.redeem(wechat, code, &key, &session.openid).await?,
                PhoneVerification::Realtime,
            ),
        };
        let bound = BoundPhone {
            number,
            verified_at: now_epoch_seconds(),
            verified_by,
        };
        match self.store.bind_phone(&key, &live.listing, &bound).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!("the session ended while its phone number was verified");
                return Err(PhoneError::NoSession);
            }
            Err(err) => {
                // WeChat has verified (and billed) the number: the user still gets it, and
                // the next verification binds it.
                tracing::error!(error = %err, "phone number verified but not bound to the user");
            }
        }
        Ok(bound.number)
    }

    fn decrypt(
        &self,
        appid: &str,
        session: &Session,
        ciphertext: &Ciphertext,
        iv: &Iv,
    ) -> Result<PhoneNumber, PhoneError> {
        // A stored key that is not 16 bytes cannot decrypt anything: a fresh login fixes it.
        let key = SessionKey::from_base64(session.session_key.expose_secret())
            .ok_or(PhoneError::KeyMismatch)?;
        let data =
            decrypt_user_data(&key, iv, ciphertext, appid).map_err(|_| PhoneError::KeyMismatch)?;
        if !self.watermark.accepts(&data, now_epoch_seconds()) {
            // Old data replayed, or made before the key rotated: fresh data fixes it.
            return Err(PhoneError::KeyMismatch);
        }
        PhoneNumber::from_json(&data).ok_or(PhoneError::NotPhoneData)
    }

    /// Redeems `code` at WeChat. The access token comes first, so failing to get one
    /// spends no quota; a call that then never reached WeChat is given back.
    async fn redeem(
        &self,
        wechat: &W,
        code: &PhoneCode,
        user: &UserKey,
        openid: &str,
    ) -> Result<PhoneNumber, PhoneError> {
        let token = self.access_tokens.get(wechat).await.map_err(phone_error)?;
        let now = now_epoch_seconds();
        let window = QuotaWindow::phone_verifications(user, now);
        if let Some(limit) = self.daily_limit
            && !self.store.take(&window, limit).await?
        {
            return Err(PhoneError::RateLimited {
                retry_after_seconds: window.retry_after_seconds(now),
            });
        }
        let redeemed = self
            .access_tokens
            .with_given_token(wechat, token, |token| async move {
                wechat.phone_number(&token, code, openid).await
            })
            .await;
        if let Err(err) = &redeemed
            && self.daily_limit.is_some()
            && err.reached_nothing()
            && let Err(store) = self.store.give_back(&window).await
        {
            tracing::warn!(error = %store, "phone quota not given back");
        }
        redeemed.map_err(phone_error)
    }
}

fn phone_error(err: WeChatError) -> PhoneError {
    tracing::warn!(wechat_error = %err, "WeChat phone API failed");
    match err {
        // About the phone code, not a login code: the user taps the button again.
        WeChatError::Api(Errcode::InvalidCode | Errcode::CodeUsed) => PhoneError::PhoneCodeRejected,
        other => PhoneError::WeChat(other),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::domain::CachedAccessToken;
    use crate::domain::wechat_crypto::parse_encrypted;
    use crate::testing::{APPID, FakeWeChat, MemoryTable, Twins, WeChatApi, answer, seal};

    /// The whole request as the route runs it: the bearer's session, then the form.
    async fn phone_number(
        phones: &PhoneNumbers<MemoryTable, FakeWeChat>,
        token: &SessionToken,
        form: &PhoneForm,
    ) -> Result<PhoneNumber, PhoneError> {
        let session = phones.session_of(token).await?;
        phones.verify(token, &session, form).await
    }

    struct World {
        twins: Twins,
        phones: PhoneNumbers<MemoryTable, FakeWeChat>,
        token: SessionToken,
        session_key: String,
    }

    impl std::ops::Deref for World {
        type Target = Twins;

        fn deref(&self) -> &Twins {
            &self.twins
        }
    }

    async fn world_with(watermark: WatermarkPolicy) -> World {
        let twins = Twins::new();
        let (token, session_key) = twins.logged_in("o1", None).await;
        World {
            phones: twins.phone_numbers(watermark),
            twins,
            token,
            session_key,
        }
    }

    async fn world() -> World {
        world_with(WatermarkPolicy::default()).await
    }

    impl World {
        /// Redeems a fresh phone code for `phone` as the logged-in user.
        async fn redeem(&self, phone: &str) -> Result<PhoneNumber, PhoneError> {
            let phone_code = self.wechat.phone_code("o1", phone);
            phone_number(&self.phones, &self.token, &code(&phone_code)).await
        }
    }

    fn phone_data(appid: &str, timestamp: i64) -> Value {
        json!({
            "phoneNumber": "13800138000", "purePhoneNumber": "13800138000", "countryCode": "86",
            "watermark": {"appid": appid, "timestamp": timestamp}
        })
    }

    fn legacy(session_key: &str, data: &Value) -> PhoneForm {
        let (encrypted, iv) = seal(session_key, data);
        let (ciphertext, iv) = parse_encrypted(&encrypted, &iv).unwrap();
        PhoneForm::Legacy { ciphertext, iv }
    }

    fn code(raw: &str) -> PhoneForm {
        PhoneForm::Code(PhoneCode::parse(raw).unwrap())
    }

    #[tokio::test]
    async fn legacy_data_under_the_sessions_key_gives_the_number_without_wechat() {
        let w = world().await;
        let form = legacy(&w.session_key, &phone_data(APPID, now_epoch_seconds()));
        let phone = phone_number(&w.phones, &w.token, &form).await.unwrap();
        assert_eq!(phone.pure_phone_number, "13800138000");
        assert_eq!(w.wechat.calls(WeChatApi::StableToken), 0);
        assert_eq!(w.wechat.calls(WeChatApi::PhoneNumber), 0);
    }

    /// Each way legacy data can be wrong, and what the client is told.
    #[tokio::test]
    async fn legacy_decisions() {
        let now = now_epoch_seconds();
        let other_key = "AAAAAAAAAAAAAAAAAAAAAA==";
        let user_info =
            json!({"nickName": "Band", "watermark": {"appid": APPID, "timestamp": now}});
        let strict = WatermarkPolicy {
            max_age: Some(Duration::from_secs(600)),
        };
        let cases = [
            (
                "another key (made before a re-login)",
                WatermarkPolicy::default(),
                Some(other_key),
                phone_data(APPID, now),
                (422, "session_key_mismatch"),
            ),
            (
                "another app's data",
                WatermarkPolicy::default(),
                None,
                phone_data("wxother", now),
                (422, "session_key_mismatch"),
            ),
            (
                "a watermark older than the limit",
                strict,
                None,
                phone_data(APPID, now - 601),
                (422, "session_key_mismatch"),
            ),
            (
                "userInfo sent as phone data",
                WatermarkPolicy::default(),
                None,
                user_info,
                (400, "invalid_request"),
            ),
            (
                "an old watermark with no limit set",
                WatermarkPolicy::default(),
                None,
                phone_data(APPID, 1),
                (200, "ok"),
            ),
        ];
        for (case, policy, key, data, expected) in cases {
            let w = world_with(policy).await;
            let form = legacy(key.unwrap_or(&w.session_key), &data);
            let outcome = phone_number(&w.phones, &w.token, &form).await;
            let got = outcome.map_or_else(answer, |_| (200, "ok"));
            assert_eq!(got, expected, "{case}");
        }
    }

    #[tokio::test]
    async fn no_live_session_is_401_before_any_wechat_call() {
        let w = world().await;
        let stranger = crate::testing::unknown_token();
        let err = phone_number(&w.phones, &stranger, &code("phone1"))
            .await
            .unwrap_err();
        assert_eq!(answer(err), (401, "invalid_token"));
        assert_eq!(w.wechat.calls(WeChatApi::StableToken), 0);
    }

    #[tokio::test]
    async fn a_store_outage_is_503() {
        let w = world().await;
        w.table.fail_next(1);
        let err = phone_number(&w.phones, &w.token, &code("phone1"))
            .await
            .unwrap_err();
        assert_eq!(answer(err), (503, "store_unavailable"));
    }

    #[tokio::test]
    async fn a_phone_code_is_redeemed_once_with_one_shared_access_token() {
        let w = world().await;
        let first = w.wechat.phone_code("o1", "13800138000");
        let second = w.wechat.phone_code("o1", "13900139000");
        let phone = phone_number(&w.phones, &w.token, &code(&first))
            .await
            .unwrap();
        assert_eq!(phone.phone_number, "13800138000");
        let phone = phone_number(&w.phones, &w.token, &code(&second))
            .await
            .unwrap();
        assert_eq!(phone.phone_number, "13900139000");
        assert_eq!(
            w.wechat.calls(WeChatApi::StableToken),
            1,
            "the token is fetched once and reused"
        );
        assert!(
            w.table.access_token(APPID).is_some(),
            "and shared with the other instances"
        );

        let err = phone_number(&w.phones, &w.token, &code(&first))
            .await
            .unwrap_err();
        assert_eq!(err, PhoneError::PhoneCodeRejected);
        assert_eq!(answer(err), (401, "invalid_code"));
    }

    #[tokio::test]
    async fn a_token_another_instance_cached_is_used_without_asking_wechat() {
        let w = world().await;
        let fresh = w.wechat.stable_token(false).await.unwrap();
        let now = now_epoch_seconds();
        w.table
            .put_access_token(
                APPID,
                &CachedAccessToken {
                    token: fresh.token.expose().to_owned(),
                    expires_at: now + 7000,
                    requested_at_ms: (now - 200) * 1000,
                    fetched_at_ms: (now - 200) * 1000,
                },
            )
            .await
            .unwrap();
        w.redeem("13800138000").await.unwrap();
        assert_eq!(
            w.wechat.calls(WeChatApi::StableToken),
            1,
            "only our own call"
        );
    }

    /// The refresh-once rule: a rejected token (40001/42001) is replaced once and the call
    /// repeated; a forced refresh only when stable_token hands back the rejected token.
    #[tokio::test]
    async fn a_rejected_token_is_replaced_once_forcing_only_when_needed() {
        // WeChat revoked every token, and plain stable_token still hands the old one out.
        let w = world().await;
        w.redeem("13800138000").await.unwrap();
        w.wechat.revoke_access_tokens();
        w.redeem("13800138000").await.unwrap();
        assert_eq!(w.wechat.forced_refreshes(), 1);
        assert_eq!(w.wechat.calls(WeChatApi::PhoneNumber), 3);

        // Another instance left a stale token in the shared item: stable_token already
        // has a different one, so no forced refresh.
        let w = world().await;
        let now = now_epoch_seconds();
        let stale = CachedAccessToken {
            token: "stale".into(),
            expires_at: now + 7000,
            requested_at_ms: (now) * 1000,
            fetched_at_ms: (now) * 1000,
        };
        w.table.put_access_token(APPID, &stale).await.unwrap();
        w.redeem("13800138000").await.unwrap();
        assert_eq!(w.wechat.forced_refreshes(), 0);
        assert_eq!(w.wechat.calls(WeChatApi::PhoneNumber), 2);
        assert_ne!(w.table.access_token(APPID).unwrap().token, "stale");

        // Rejected twice: the second rejection is the answer, never a third call.
        let w = world().await;
        let rejected = WeChatError::Api(Errcode::InvalidAccessToken);
        w.wechat.fail(WeChatApi::PhoneNumber, rejected.clone(), 2);
        let err = w.redeem("13800138000").await.unwrap_err();
        assert_eq!(err, PhoneError::WeChat(rejected));
        assert_eq!(answer(err), (502, "wechat_error"));
        assert_eq!(w.wechat.calls(WeChatApi::PhoneNumber), 2);
    }

    #[tokio::test]
    async fn wechat_failures_of_the_code_form_map_to_the_api() {
        let api = |raw: i64| WeChatError::Api(Errcode::from_raw(raw).unwrap());
        let table = [
            (WeChatApi::PhoneNumber, api(40029), (401, "invalid_code")),
            (WeChatApi::PhoneNumber, api(40163), (401, "invalid_code")),
            (WeChatApi::PhoneNumber, api(-1), (503, "wechat_unavailable")),
            (WeChatApi::PhoneNumber, api(45011), (429, "rate_limited")),
            (WeChatApi::PhoneNumber, api(40164), (502, "wechat_error")),
            (
                WeChatApi::PhoneNumber,
                WeChatError::Timeout,
                (503, "wechat_unavailable"),
            ),
            (
                WeChatApi::PhoneNumber,
                WeChatError::BadResponse("html"),
                (502, "wechat_error"),
            ),
            (WeChatApi::StableToken, api(40125), (502, "wechat_error")),
            (WeChatApi::StableToken, api(-1), (503, "wechat_unavailable")),
        ];
        for (api, failure, expected) in table {
            let w = world().await;
            w.wechat.fail(api, failure.clone(), 1);
            let err = w.redeem("13800138000").await.unwrap_err();
            assert_eq!(answer(err), expected, "{api:?} {failure:?}");
        }
    }

    #[tokio::test]
    async fn a_phone_call_that_never_reached_wechat_is_given_back_to_the_quota() {
        let w = world().await;
        let phones = w
            .twins
            .phone_numbers(WatermarkPolicy::default())
            .with_daily_limit(Some(1));
        w.wechat
            .fail(WeChatApi::PhoneNumber, WeChatError::Unreachable, 1);
        let code1 = w.wechat.phone_code("o1", "13800138000");
        let err = phone_number(&phones, &w.token, &code(&code1))
            .await
            .unwrap_err();
        assert_eq!(err, PhoneError::WeChat(WeChatError::Unreachable));
        // Given back: the next verification still fits in the day's one.
        let code2 = w.wechat.phone_code("o1", "13800138000");
        phone_number(&phones, &w.token, &code(&code2))
            .await
            .unwrap();
        let code3 = w.wechat.phone_code("o1", "13800138000");
        assert!(matches!(
            phone_number(&phones, &w.token, &code(&code3)).await,
            Err(PhoneError::RateLimited { .. })
        ));
        // A rejected code did reach WeChat: it counts.
        let w = world().await;
        let phones = w
            .twins
            .phone_numbers(WatermarkPolicy::default())
            .with_daily_limit(Some(1));
        let err = phone_number(&phones, &w.token, &code("never-issued"))
            .await
            .unwrap_err();
        assert_eq!(err, PhoneError::PhoneCodeRejected);
        let fresh = w.wechat.phone_code("o1", "13800138000");
        assert!(matches!(
            phone_number(&phones, &w.token, &code(&fresh)).await,
            Err(PhoneError::RateLimited { .. })
        ));
    }

    #[tokio::test]
    async fn only_the_billed_code_form_counts_against_the_quota() {
        let w = world().await;
        let phones = w
            .twins
            .phone_numbers(WatermarkPolicy::default())
            .with_daily_limit(Some(1));
        let data = phone_data(APPID, now_epoch_seconds());
        for _ in 0..3 {
            let form = legacy(&w.session_key, &data);
            phone_number(&phones, &w.token, &form).await.unwrap();
        }
        let fresh = w.wechat.phone_code("o1", "13800138000");
        phone_number(&phones, &w.token, &code(&fresh))
            .await
            .unwrap();
    }
}
