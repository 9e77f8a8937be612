//! Phone number: a logged-in user's number, from either getPhoneNumber form.
//!
//! - legacy `{encryptedData, iv}`: decrypted here with the session's session_key (one
//!   store read, no WeChat call);
//! - current `{code}`: redeemed at `getuserphonenumber` with the shared access token.

use secrecy::ExposeSecret;

use super::{AccessTokens, live_session};
use crate::domain::clock::now_epoch_seconds;
use crate::domain::user_data::decrypt_user_data;
use crate::domain::{
    Ciphertext, Errcode, Iv, PhoneCode, PhoneError, PhoneForm, PhoneNumber, Session, SessionKey,
    SessionToken, WatermarkPolicy, WeChatError,
};
use crate::ports::{AccessTokenStore, Sessions, WeChat};

/// The phone-number use-case with the ports it needs, built once per instance.
pub struct PhoneNumbers<S, W> {
    store: S,
    wechat: W,
    access_tokens: AccessTokens<S>,
    watermark: WatermarkPolicy,
}

impl<S: Sessions + AccessTokenStore + Clone, W: WeChat> PhoneNumbers<S, W> {
    /// Phone numbers over `store` (sessions, the shared access token) and `wechat`.
    pub fn new(store: S, wechat: W, watermark: WatermarkPolicy) -> Self {
        Self {
            access_tokens: AccessTokens::new(store.clone()),
            store,
            wechat,
            watermark,
        }
    }

    /// The phone number `form` carries, for the user whose session `token` is.
    pub async fn phone_number(
        &self,
        token: &SessionToken,
        form: &PhoneForm,
    ) -> Result<PhoneNumber, PhoneError> {
        let session = live_session(&self.store, token)
            .await?
            .ok_or(PhoneError::NoSession)?;
        match form {
            PhoneForm::Legacy { ciphertext, iv } => self.decrypt(&session, ciphertext, iv),
            PhoneForm::Code(code) => self.redeem(code).await,
        }
    }

    fn decrypt(
        &self,
        session: &Session,
        ciphertext: &Ciphertext,
        iv: &Iv,
    ) -> Result<PhoneNumber, PhoneError> {
        // A stored key that is not 16 bytes cannot decrypt anything: a fresh login fixes it.
        let key = SessionKey::from_base64(session.session_key.expose_secret())
            .ok_or(PhoneError::KeyMismatch)?;
        let data = decrypt_user_data(&key, iv, ciphertext, self.wechat.appid())
            .map_err(|_| PhoneError::KeyMismatch)?;
        if !self.watermark.accepts(&data, now_epoch_seconds()) {
            // Old data replayed, or made before the key rotated: fresh data fixes it.
            return Err(PhoneError::KeyMismatch);
        }
        PhoneNumber::from_json(&data).ok_or(PhoneError::NotPhoneData)
    }

    async fn redeem(&self, code: &PhoneCode) -> Result<PhoneNumber, PhoneError> {
        self.access_tokens
            .with_token(&self.wechat, |token| async move {
                self.wechat.phone_number(&token, code).await
            })
            .await
            .map_err(|err| {
                tracing::warn!(wechat_error = %err, "WeChat phone API failed");
                match err {
                    // About the phone code, not a login code: the user taps the button again.
                    WeChatError::Api(Errcode::InvalidCode | Errcode::CodeUsed) => {
                        PhoneError::PhoneCodeRejected
                    }
                    other => PhoneError::WeChat(other),
                }
            })
    }
}
