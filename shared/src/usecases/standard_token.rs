//! Standard tokens: a short-lived JWT for the holder of a live session, signed by the
//! ring's current key, and what verifiers read to check one (the JWKS and OpenID
//! discovery). Nothing here calls WeChat.

use std::time::Duration;

use serde::Serialize;

use super::served_live_session;
use crate::domain::clock::now_epoch_seconds;
use crate::domain::signing_key::SIGNING_ALGORITHM;
use crate::domain::standard_token::{StandardClaims, TokenSettings};
use crate::domain::{Jwks, LiveSession, SessionToken, StoreError};
use crate::ports::{Sessions, SigningKeys};

/// Where discovery says the JWKS is, under the issuer.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where discovery is, under the issuer (OpenID Connect Discovery 1.0, section 4).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Why no token was issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The bearer has no live session of an app the stack serves.
    #[error("no live session for this token")]
    NoSession,
    /// The ring has no key that signs yet (before the first rotation finished).
    #[error("no signing key is in force yet")]
    NoSigningKey,
    /// The ring could not be read or used.
    #[error("the signing keys are unavailable: {0}")]
    Keys(StoreError),
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `POST /token`'s answer (RFC 6749's field names).
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until `exp`.
    pub expires_in: u64,
}

/// The OpenID discovery document: what verifiers need to find the keys, no more. There
/// is no authorization endpoint: tokens come from `POST /token` with a session, not from
/// an OAuth flow, so none is claimed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Discovery {
    /// The issuer, exactly as in `iss`.
    pub issuer: String,
    /// The JWKS.
    pub jwks_uri: String,
    /// Required by the specification; the tokens are bearer tokens.
    pub response_types_supported: [&'static str; 1],
    /// `pairwise`: `sub` (the openid) differs per mini-program for one person.
    pub subject_types_supported: [&'static str; 1],
    /// `RS256`.
    pub id_token_signing_alg_values_supported: [&'static str; 1],
    /// The claims a token may carry.
    pub claims_supported: [&'static str; 12],
}

impl Discovery {
    /// The document for `issuer`.
    pub fn of(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            jwks_uri: format!("{issuer}{JWKS_PATH}"),
            response_types_supported: ["token"],
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
            claims_supported: [
                "iss",
                "sub",
                "aud",
                "iat",
                "exp",
                "jti",
                "appid",
                "unionid",
                "phone_number",
                "phone_number_verified",
                "phone_verified_by",
                "phone_verified_at",
            ],
        }
    }
}

/// The token use-cases over the sessions and the ring.
pub struct StandardTokens<S, K> {
    store: S,
    keys: K,
    served: Vec<String>,
    settings: TokenSettings,
}

impl<S: Sessions, K: SigningKeys> StandardTokens<S, K> {
    /// Tokens for the sessions in `store` of the apps `served`, signed with `keys`.
    pub fn new(store: S, keys: K, served: Vec<String>, settings: TokenSettings) -> Self {
        Self {
            store,
            keys,
            served,
            settings,
        }
    }

    /// The issuer's settings.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// The live session behind `token`, of an app the stack serves.
    pub async fn session(&self, token: &SessionToken) -> Result<LiveSession, TokenError> {
        served_live_session(&self.store, &self.served, token)
            .await?
            .ok_or(TokenError::NoSession)
    }

    /// A token for `live`'s holder, signed now.
    pub async fn issue(&self, live: &LiveSession) -> Result<IssuedToken, TokenError> {
        let ring = self.keys.key_ring().await.map_err(TokenError::Keys)?;
        let now = now_epoch_seconds();
        let key = ring.signer_at(now).ok_or(TokenError::NoSigningKey)?;
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti)
            .map_err(|_| TokenError::Keys(StoreError::new("no random source for jti")))?;
        let claims = StandardClaims::of(live, &self.settings, now, jti);
        let access_token = key
            .sign_jwt(&claims)
            .map_err(|err| TokenError::Keys(StoreError::new(err.to_string())))?;
        Ok(IssuedToken {
            access_token,
            token_type: "Bearer",
            expires_in: u64::try_from(claims.exp.saturating_sub(now)).unwrap_or(0),
        })
    }

    /// The JWKS: every key of the ring.
    pub async fn jwks(&self) -> Result<Jwks, TokenError> {
        let ring = self.keys.key_ring().await.map_err(TokenError::Keys)?;
        Ok(ring.jwks(now_epoch_seconds()))
    }

    /// The discovery document.
    pub fn discovery(&self) -> Discovery {
        Discovery::of(&self.settings.issuer)
    }
}

/// The lifetime a token may be given: a minute to an hour (a JWT cannot be recalled).
pub const TOKEN_LIFETIME_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::standard_token::Audience;
    use crate::domain::{KeyRing, RotationPolicy};
    use crate::testing::{MemoryKeyRing, Twins};

    fn settings() -> TokenSettings {
        TokenSettings {
            issuer: "https://login.example.com".into(),
            audience: Audience::App,
            lifetime: Duration::from_secs(600),
        }
    }

    fn payload(jwt: &str) -> Value {
        let part = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_live_session_gets_a_token_signed_by_the_current_key() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", Some("u1")).await;
        let keys = MemoryKeyRing::rotated_once();
        let kid = keys
            .ring()
            .signer_at(now_epoch_seconds())
            .unwrap()
            .kid()
            .to_owned();
        let tokens = StandardTokens::new(
            twins.table.clone(),
            keys,
            vec![crate::testing::APPID.into()],
            settings(),
        );
        let live = tokens.session(&token).await.unwrap();
        let issued = tokens.issue(&live).await.unwrap();
        assert_eq!((issued.token_type, issued.expires_in), ("Bearer", 600));
        let claims = payload(&issued.access_token);
        assert_eq!(claims["sub"], "o1");
        assert_eq!(claims["aud"], crate::testing::APPID);
        assert_eq!(claims["unionid"], "u1");
        assert_eq!(claims["iss"], "https://login.example.com");
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert_eq!(
            exp - iat,
            600 + 5,
            "iat is a little early, for verifiers' clocks"
        );
        assert!((exp - 600 - now_epoch_seconds()).abs() <= 1);
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(issued.access_token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["kid"], kid.as_str());
        let again = tokens.issue(&live).await.unwrap();
        assert_ne!(payload(&again.access_token)["jti"], claims["jti"]);
    }

    #[tokio::test]
    async fn no_session_no_key_and_another_apps_session_are_refused() {
        let twins = Twins::new();
        let (token, _) = twins.logged_in("o1", None).await;
        let unserved = StandardTokens::new(
            twins.table.clone(),
            MemoryKeyRing::rotated_once(),
            vec!["wxanotherapp00000".into()],
            settings(),
        );
        assert_eq!(
            unserved.session(&token).await.err(),
            Some(TokenError::NoSession)
        );
        let unknown = crate::testing::unknown_token();
        assert_eq!(
            unserved.session(&unknown).await.err(),
            Some(TokenError::NoSession)
        );

        let empty = StandardTokens::new(
            twins.table.clone(),
            MemoryKeyRing::new(KeyRing::default()),
            vec![crate::testing::APPID.into()],
            settings(),
        );
        let live = empty.session(&token).await.unwrap();
        assert_eq!(
            empty.issue(&live).await.err(),
            Some(TokenError::NoSigningKey)
        );
        assert_eq!(empty.jwks().await.unwrap().keys.len(), 0);
    }

    #[tokio::test]
    async fn discovery_names_the_issuer_and_its_jwks() {
        let twins = Twins::new();
        let keys = MemoryKeyRing::rotated_once();
        let next = keys
            .ring()
            .rotated(now_epoch_seconds(), RotationPolicy::default())
            .unwrap();
        keys.replace(Arc::new(next));
        let tokens = StandardTokens::new(twins.table.clone(), keys, vec![], settings());
        let discovery = serde_json::to_value(tokens.discovery()).unwrap();
        assert_eq!(discovery["issuer"], "https://login.example.com");
        assert_eq!(
            discovery["jwks_uri"],
            "https://login.example.com/.well-known/jwks.json"
        );
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert_eq!(tokens.jwks().await.unwrap().keys.len(), 2);
    }
}
