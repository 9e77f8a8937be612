//! What a standard token (a short-lived JWT for the app's other backends) says about its
//! holder: the registered claims, the app, the unionid, and the OIDC phone claims when a
//! number is bound. Nothing secret: no session_key, no session token, no stack key.
//!
//! `sub` is the user's openid: WeChat's id for the person in that mini-program, stable
//! for as long as the app exists and already what teams key their data by. It is unique
//! per app, so `aud` names the app by default and a verifier that accepts several apps
//! checks `appid` too, as the Lambda authorizer's route binding does.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::LiveSession;

/// `iat` is set this far before the token is signed. API Gateway's JWT authorizer wants
/// `iat` before its own clock: a token used the second it was issued, on a host whose
/// clock is a little behind ours, would otherwise be refused.
pub const ISSUED_AT_BACKDATE_SECONDS: i64 = 5;

/// Who a token is for (`aud`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The session's appid: a verifier names the apps it accepts by their appids.
    App,
    /// The same string for every app of the stack.
    Fixed(String),
}

/// How the stack issues standard tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// `iss`: the stack's public base URL, where discovery is served.
    pub issuer: String,
    /// `aud`.
    pub audience: Audience,
    /// From issue to `exp` (`expires_in`).
    pub lifetime: Duration,
}

/// The claims of one standard token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StandardClaims {
    /// The issuer (the stack's public base URL).
    pub iss: String,
    /// The user's openid.
    pub sub: String,
    /// The audience.
    pub aud: String,
    /// Issued at, epoch seconds.
    pub iat: i64,
    /// Expires at, epoch seconds.
    pub exp: i64,
    /// A random id of this token.
    pub jti: String,
    /// The mini-program the user logged in to.
    pub appid: String,
    /// The user's unionid, when WeChat has sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// OIDC's `phone_number`, E.164 (`+8613800138000`), when a number is bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// OIDC's `phone_number_verified`: true whenever `phone_number` is present (WeChat
    /// verified it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    /// How: `legacy`, `code` or `realtime` (the last is the client's word: WeChat
    /// answers both buttons' codes alike).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified_by: Option<&'static str>,
    /// When, epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified_at: Option<i64>,
}

impl StandardClaims {
    /// The claims of a token for the holder of `live`, issued at `now` under `settings`,
    /// named `jti` (16 random bytes).
    pub fn of(live: &LiveSession, settings: &TokenSettings, now: i64, jti: [u8; 16]) -> Self {
        let session = &live.session;
        let phone = live.bound_phone();
        let lifetime = i64::try_from(settings.lifetime.as_secs()).unwrap_or(i64::MAX);
        Self {
            iss: settings.issuer.clone(),
            sub: session.openid.clone(),
            aud: match &settings.audience {
                Audience::App => session.appid.clone(),
                Audience::Fixed(audience) => audience.clone(),
            },
            iat: now.saturating_sub(ISSUED_AT_BACKDATE_SECONDS),
            // Never past the session: a JWT must not outlive what it vouches for.
            exp: now.saturating_add(lifetime).min(session.expires_at),
            jti: URL_SAFE_NO_PAD.encode(jti),
            appid: session.appid.clone(),
            unionid: live.unionid().map(str::to_owned),
            phone_number: phone.map(|phone| {
                format!(
                    "+{}{}",
                    phone.number.country_code, phone.number.pure_phone_number
                )
            }),
            phone_number_verified: phone.map(|_| true),
            phone_verified_by: phone.map(|phone| phone.verified_by.name()),
            phone_verified_at: phone.map(|phone| phone.verified_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{
        BoundPhone, ListedSession, PhoneNumber, PhoneVerification, Session, User, WeChatLogin,
    };

    fn live(phone: Option<BoundPhone>) -> LiveSession {
        let login = WeChatLogin {
            openid: "o1".into(),
            unionid: Some("u1".into()),
            session_key: "k".to_owned().into(),
        };
        let session = Session::start("wxA", login, 1_000_000, Duration::from_secs(7200));
        let token = crate::testing::unknown_token().hash();
        let listing = ListedSession::of(&session, &token);
        let user = User {
            appid: "wxA".into(),
            openid: "o1".into(),
            unionid: Some("u1".into()),
            created_at: 1,
            last_login_at: 1,
            phone,
            risk: None,
            sessions: vec![listing.clone()],
            erasing_since_ms: None,
            expires_at: None,
        };
        LiveSession {
            session,
            user,
            listing,
        }
    }

    fn settings(audience: Audience) -> TokenSettings {
        TokenSettings {
            issuer: "https://login.example.com".into(),
            audience,
            lifetime: Duration::from_secs(300),
        }
    }

    #[test]
    fn the_claims_name_the_user_in_their_app_and_nothing_secret() {
        let claims = StandardClaims::of(&live(None), &settings(Audience::App), 1_000, [7; 16]);
        assert_eq!(
            serde_json::to_value(&claims).unwrap(),
            json!({
                "iss": "https://login.example.com", "sub": "o1", "aud": "wxA",
                "iat": 995, "exp": 1_300, "jti": "BwcHBwcHBwcHBwcHBwcHBw",
                "appid": "wxA", "unionid": "u1"
            })
        );
        let fixed = StandardClaims::of(
            &live(None),
            &settings(Audience::Fixed("orders-api".into())),
            1_000,
            [7; 16],
        );
        assert_eq!(fixed.aud, "orders-api");
    }

    #[test]
    fn a_token_never_outlives_its_session() {
        let live = live(None);
        let near_end = live.session.expires_at - 100;
        let claims = StandardClaims::of(&live, &settings(Audience::App), near_end, [0; 16]);
        assert_eq!(claims.exp, live.session.expires_at);
    }

    #[test]
    fn a_bound_number_is_oidcs_phone_number_in_e164_and_says_how_it_was_verified() {
        let phone = BoundPhone {
            number: PhoneNumber {
                phone_number: "13800138000".into(),
                pure_phone_number: "13800138000".into(),
                country_code: "86".into(),
            },
            verified_at: 900,
            verified_by: PhoneVerification::Realtime,
        };
        let claims =
            StandardClaims::of(&live(Some(phone)), &settings(Audience::App), 1_000, [0; 16]);
        let value = serde_json::to_value(&claims).unwrap();
        assert_eq!(value["phone_number"], "+8613800138000");
        assert_eq!(value["phone_number_verified"], true);
        assert_eq!(value["phone_verified_by"], "realtime");
        assert_eq!(value["phone_verified_at"], 900);
    }
}
