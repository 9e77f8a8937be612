//! The keys standard tokens are signed with: a ring of RSA-2048 keys, each published (in
//! the JWKS) from the moment it joins the ring and signing from its `signs_from`, so a
//! verifier has every key before it signs a token, and keeps finding a retired key until
//! that key's last token has expired.
//!
//! RSA, RS256: API Gateway's HTTP API JWT authorizer verifies RSA signatures only, and
//! every JOSE library verifies RS256. The ring is stored whole as one JSON SecretString
//! (docs/tokens.md): the private keys are PKCS#8 DER, base64.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The one algorithm we sign with (JOSE's name).
pub const SIGNING_ALGORITHM: &str = "RS256";

/// How far ahead of signing a new key is published: longer than any verifier keeps a
/// JWKS (API Gateway's JWT authorizers, about 2 hours; libraries, minutes), plus how long
/// our own functions hold the ring.
pub const DEFAULT_KEY_LEAD: Duration = Duration::from_secs(3 * 3600);

/// How long a key stays published after it stopped signing: far beyond the longest
/// token lifetime allowed (an hour), so its last token has always expired first.
pub const DEFAULT_RETIRED_KEY_KEPT: Duration = Duration::from_secs(24 * 3600);

/// A ring never grows past this. Rotations faster than keys retire (an operator's loop)
/// first drop retired keys whose last token has expired; a rotation that would still
/// need more fails ([`KeyRingError::Full`]): never a key that signs, will sign, or
/// signed a token still alive.
pub const MAX_RING_KEYS: usize = 8;

/// The longest a token may live (`TOKEN_LIFETIME_MINUTES` at most 60): a key that
/// stopped signing this long ago has no live token left.
pub const LONGEST_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Why a stored ring cannot be used; never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// Not the JSON shape of a ring.
    #[error("the key ring is not valid JSON of our shape")]
    Shape,
    /// A key is not an RSA private key we can sign with.
    #[error("key {kid} is not a usable RSA-2048 private key")]
    Key {
        /// The key's id, as stored.
        kid: String,
    },
    /// The ring could not be generated.
    #[error("a new RSA key could not be generated")]
    Generation,
    /// The ring holds the most keys it may, none of them removable yet.
    #[error("the ring holds {MAX_RING_KEYS} keys that sign, will sign or signed live tokens")]
    Full,
    /// Two keys of the ring have the same id.
    #[error("key {kid} is in the ring twice")]
    Duplicate {
        /// The repeated id.
        kid: String,
    },
}

/// One key of the ring.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    created_at: i64,
    signs_from: i64,
    pair: Arc<KeyPair>,
    pkcs8: SecretSlice<u8>,
    public: PublicJwk,
}

/// A key's public half as a JWK (RFC 7517), what the JWKS lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Always `RSA`.
    pub kty: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// Always `RS256`.
    pub alg: &'static str,
    /// The key's id: its RFC 7638 thumbprint.
    pub kid: String,
    /// The modulus, base64url.
    pub n: String,
    /// The public exponent, base64url.
    pub e: String,
}

/// The JWKS document: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwks {
    /// Every key of the ring, the one signing now first.
    pub keys: Vec<PublicJwk>,
}

impl SigningKey {
    /// A fresh RSA-2048 key, created at `now`, signing from `signs_from`.
    pub fn generate(now: i64, signs_from: i64) -> Result<Self, KeyRingError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyRingError::Generation)?;
        let pkcs8 = pair.as_der().map_err(|_| KeyRingError::Generation)?;
        Self::from_parts(pkcs8.as_ref(), now, signs_from, None)
    }

    fn from_parts(
        pkcs8: &[u8],
        created_at: i64,
        signs_from: i64,
        stored_kid: Option<&str>,
    ) -> Result<Self, KeyRingError> {
        let rejected = || KeyRingError::Key {
            kid: stored_kid.unwrap_or("(new)").to_owned(),
        };
        let pair = KeyPair::from_pkcs8(pkcs8).map_err(|_| rejected())?;
        if pair.public_modulus_len() != 256 {
            return Err(rejected());
        }
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let kid = thumbprint(&n, &e);
        if stored_kid.is_some_and(|stored| stored != kid) {
            return Err(rejected());
        }
        Ok(Self {
            public: PublicJwk {
                kty: "RSA",
                use_: "sig",
                alg: SIGNING_ALGORITHM,
                kid: kid.clone(),
                n,
                e,
            },
            kid,
            created_at,
            signs_from,
            pair: Arc::new(pair),
            pkcs8: SecretSlice::from(pkcs8.to_vec()),
        })
    }

    /// The key's id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Epoch seconds from which it signs.
    pub fn signs_from(&self) -> i64 {
        self.signs_from
    }

    /// Its public half.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// A compact JWS (RS256) of `claims`, naming this key in its header.
    pub fn sign_jwt(&self, claims: &impl Serialize) -> Result<String, KeyRingError> {
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'static str,
            typ: &'static str,
            kid: &'a str,
        }
        let header = Header {
            alg: SIGNING_ALGORITHM,
            typ: "JWT",
            kid: &self.kid,
        };
        let signing_input = format!("{}.{}", base64url_json(&header)?, base64url_json(claims)?);
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| KeyRingError::Key {
                kid: self.kid.clone(),
            })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

fn base64url_json(value: &impl Serialize) -> Result<String, KeyRingError> {
    let json = serde_json::to_vec(value).map_err(|_| KeyRingError::Shape)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, base64url.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// How rotations space keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// From a key's publication to its first signature (when another key signs meanwhile).
    pub lead: Duration,
    /// From a key's last signature to its removal.
    pub retired_kept: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            lead: DEFAULT_KEY_LEAD,
            retired_kept: DEFAULT_RETIRED_KEY_KEPT,
        }
    }
}

/// The ring: every published key, in the order they sign.
#[derive(Clone, Default)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
    based_on: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredRing {
    keys: Vec<StoredKey>,
    /// The secret version a rotation built this ring from (see [`KeyRing::based_on`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    based_on: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    created_at: i64,
    signs_from: i64,
    /// PKCS#8 DER, base64.
    private_key: String,
}

impl KeyRing {
    /// The ring a stored SecretString holds (`{"keys": []}` before the first rotation).
    pub fn parse(text: &SecretString) -> Result<Self, KeyRingError> {
        let stored: StoredRing =
            serde_json::from_str(text.expose_secret()).map_err(|_| KeyRingError::Shape)?;
        let mut keys = stored
            .keys
            .into_iter()
            .map(|key| {
                let der =
                    STANDARD
                        .decode(key.private_key.as_bytes())
                        .map_err(|_| KeyRingError::Key {
                            kid: key.kid.clone(),
                        })?;
                SigningKey::from_parts(&der, key.created_at, key.signs_from, Some(&key.kid))
            })
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by_key(|key| key.signs_from);
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = keys.iter().find(|key| !seen.insert(key.kid.as_str())) {
            return Err(KeyRingError::Duplicate {
                kid: twice.kid.clone(),
            });
        }
        Ok(Self {
            keys,
            based_on: stored.based_on,
        })
    }

    /// The secret version this ring was built from by a rotation (none for a ring
    /// written by hand): a rotation whose base is no longer current must not finish,
    /// or it would undo what replaced its base.
    pub fn based_on(&self) -> Option<&str> {
        self.based_on.as_deref()
    }

    /// This ring, marked as built from secret version `version`.
    pub fn with_base(self, version: impl Into<String>) -> Self {
        Self {
            based_on: Some(version.into()),
            ..self
        }
    }

    /// The SecretString this ring is stored as.
    pub fn to_secret_string(&self) -> SecretString {
        let stored = StoredRing {
            keys: self
                .keys
                .iter()
                .map(|key| StoredKey {
                    kid: key.kid.clone(),
                    created_at: key.created_at,
                    signs_from: key.signs_from,
                    private_key: STANDARD.encode(key.pkcs8.expose_secret()),
                })
                .collect(),
            based_on: self.based_on.clone(),
        };
        let Ok(text) = serde_json::to_string(&stored) else {
            unreachable!("strings and numbers always serialize")
        };
        SecretString::from(text)
    }

    /// The keys, in the order they sign.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The key that signs at `now`: the latest whose `signs_from` has come.
    pub fn signer_at(&self, now: i64) -> Option<&SigningKey> {
        self.keys.iter().rev().find(|key| key.signs_from <= now)
    }

    /// What the JWKS publishes at `now`: every key, the one signing first.
    pub fn jwks(&self, now: i64) -> Jwks {
        let signer = self.signer_at(now).map(SigningKey::kid);
        let mut keys: Vec<PublicJwk> = self.keys.iter().map(|key| key.public.clone()).collect();
        keys.sort_by_key(|jwk| Some(jwk.kid.as_str()) != signer);
        Jwks { keys }
    }

    /// The ring after a rotation at `now` adding `new_key`'s material: it signs at once
    /// when no key signs yet, else `policy.lead` later; keys that stopped signing more
    /// than `policy.retired_kept` ago leave.
    pub fn rotated(&self, now: i64, policy: RotationPolicy) -> Result<Self, KeyRingError> {
        let lead = i64::try_from(policy.lead.as_secs()).unwrap_or(i64::MAX);
        let kept = i64::try_from(policy.retired_kept.as_secs()).unwrap_or(i64::MAX);
        let signs_from = match self.signer_at(now) {
            None => now,
            // After every key already due: a key waiting its turn keeps it.
            Some(_) => self
                .keys
                .iter()
                .map(|key| key.signs_from)
                .max()
                .unwrap_or(now)
                .max(now)
                .saturating_add(lead),
        };
        let mut keys: Vec<SigningKey> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(at, _)| match self.keys.get(at + 1) {
                // Replaced: kept until `kept` after its successor took over.
                Some(next) => next.signs_from.saturating_add(kept) > now,
                None => true,
            })
            .map(|(_, key)| key.clone())
            .collect();
        keys.push(SigningKey::generate(now, signs_from)?);
        keys.sort_by_key(|key| key.signs_from);
        while keys.len() > MAX_RING_KEYS {
            let longest = i64::try_from(LONGEST_TOKEN_LIFETIME.as_secs()).unwrap_or(i64::MAX);
            // The oldest key, when its successor took over long enough ago that none of
            // its tokens is alive; else nothing may go.
            match keys.get(1) {
                Some(next) if next.signs_from.saturating_add(longest) <= now => {
                    keys.remove(0);
                }
                _ => return Err(KeyRingError::Full),
            }
        }
        Ok(Self {
            keys,
            based_on: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn claims_of(token: &str) -> (Value, Value, Vec<u8>) {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).unwrap();
        (
            serde_json::from_slice(&decode(parts[0])).unwrap(),
            serde_json::from_slice(&decode(parts[1])).unwrap(),
            decode(parts[2]),
        )
    }

    fn verifies(key: &PublicJwk, token: &str) -> bool {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
        let (input, signature) = token.rsplit_once('.').unwrap();
        let components = RsaPublicKeyComponents {
            n: URL_SAFE_NO_PAD.decode(&key.n).unwrap(),
            e: URL_SAFE_NO_PAD.decode(&key.e).unwrap(),
        };
        components
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .is_ok()
    }

    #[test]
    fn a_signed_token_names_its_key_and_verifies_with_the_published_half() {
        let ring = KeyRing::default()
            .rotated(100, RotationPolicy::default())
            .unwrap();
        let key = ring.signer_at(100).unwrap();
        let token = key.sign_jwt(&serde_json::json!({"sub": "o1"})).unwrap();
        let (header, claims, signature) = claims_of(&token);
        assert_eq!(
            header,
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()})
        );
        assert_eq!(claims["sub"], "o1");
        assert_eq!(signature.len(), 256);
        let jwks = ring.jwks(100);
        assert_eq!(jwks.keys.len(), 1);
        assert_eq!(jwks.keys[0].e, "AQAB");
        assert!(verifies(&jwks.keys[0], &token));
        let (header_part, rest) = token.split_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"o2"}"#);
        let signature_part = rest.rsplit_once('.').unwrap().1;
        let tampered = format!("{header_part}.{forged_claims}.{signature_part}");
        assert!(!verifies(&jwks.keys[0], &tampered));
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7638, section 3.1's example key and thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_ring_survives_its_stored_form_and_refuses_a_wrong_kid() {
        let ring = KeyRing::default()
            .rotated(100, RotationPolicy::default())
            .unwrap();
        let stored = ring.to_secret_string();
        let again = KeyRing::parse(&stored).unwrap();
        assert_eq!(again.jwks(100), ring.jwks(100));
        let forged = stored
            .expose_secret()
            .replace(ring.keys()[0].kid(), "another-kid");
        assert_eq!(
            KeyRing::parse(&SecretString::from(forged)).err(),
            Some(KeyRingError::Key {
                kid: "another-kid".into()
            })
        );
        for bad in ["", "{}", r#"{"keys": [{"kid": "k"}]}"#, "[1]"] {
            assert_eq!(
                KeyRing::parse(&SecretString::from(bad)).err(),
                Some(KeyRingError::Shape),
                "{bad}"
            );
        }
        let empty = KeyRing::parse(&SecretString::from(r#"{"keys": []}"#)).unwrap();
        assert!(empty.signer_at(i64::MAX).is_none());
    }

    /// The rotation timeline: published before it signs, kept after it stops.
    #[test]
    fn a_rotation_publishes_ahead_and_retires_late() {
        let policy = RotationPolicy {
            lead: Duration::from_secs(10),
            retired_kept: Duration::from_secs(100),
        };
        let first = KeyRing::default().rotated(1_000, policy).unwrap();
        let a = first.keys()[0].kid().to_owned();
        assert_eq!(
            first.signer_at(1_000).unwrap().kid(),
            a,
            "the first key signs at once"
        );

        let second = first.rotated(2_000, policy).unwrap();
        let b = second.keys()[1].kid().to_owned();
        assert_eq!(second.keys()[1].signs_from(), 2_010);
        assert_eq!(second.signer_at(2_009).unwrap().kid(), a);
        assert_eq!(second.signer_at(2_010).unwrap().kid(), b);
        let published: Vec<String> = second.jwks(2_000).keys.into_iter().map(|k| k.kid).collect();
        assert_eq!(
            published,
            [a.clone(), b.clone()],
            "b is published before it signs"
        );
        let published: Vec<String> = second.jwks(2_010).keys.into_iter().map(|k| k.kid).collect();
        assert_eq!(published, [b.clone(), a.clone()], "the signer first");

        // A rotation while b waits its turn: c comes after b, a is still within its keep.
        let third = second.rotated(2_005, policy).unwrap();
        assert_eq!(third.keys()[2].signs_from(), 2_020);
        assert_eq!(third.keys().len(), 3);

        // a stopped signing at 2_010: kept until 2_110.
        let kept = third.rotated(2_109, policy).unwrap();
        assert!(kept.keys().iter().any(|key| key.kid() == a));
        let dropped = third.rotated(2_110, policy).unwrap();
        assert!(dropped.keys().iter().all(|key| key.kid() != a));
        assert!(dropped.keys().iter().any(|key| key.kid() == b));
    }

    #[test]
    fn a_full_ring_refuses_to_drop_a_key_that_signs_or_will() {
        let policy = RotationPolicy::default();
        let mut ring = KeyRing::default();
        for at in 0..MAX_RING_KEYS as i64 {
            ring = ring.rotated(at, policy).unwrap();
        }
        assert_eq!(ring.keys().len(), MAX_RING_KEYS);
        let signer = ring.signer_at(10).unwrap().kid().to_owned();
        assert_eq!(
            ring.rotated(10, policy).err(),
            Some(KeyRingError::Full),
            "every key signs or waits its turn"
        );

        // Much later, the old keys' tokens are long dead: they make room.
        let later = ring.keys().last().unwrap().signs_from() + 2 * 86_400;
        let pruned = ring.rotated(later, policy).unwrap();
        assert!(pruned.keys().len() <= MAX_RING_KEYS);
        assert!(pruned.keys().iter().all(|key| key.kid() != signer));
        assert!(pruned.signer_at(later).is_some());
    }

    #[test]
    fn a_key_with_nothing_in_force_signs_at_once_and_the_ring_stays_in_order() {
        let policy = RotationPolicy {
            lead: Duration::from_secs(10),
            retired_kept: Duration::from_secs(3600),
        };
        // A ring whose only key waits (a hand edit): the new key signs now, first.
        let waiting = KeyRing::default()
            .rotated(100, policy)
            .unwrap()
            .rotated(100, policy)
            .unwrap();
        let future_only = KeyRing {
            keys: vec![waiting.keys()[1].clone()],
            based_on: None,
        };
        let rotated = future_only.rotated(100, policy).unwrap();
        let order: Vec<i64> = rotated.keys().iter().map(SigningKey::signs_from).collect();
        assert_eq!(order, [100, 110]);
        assert_eq!(rotated.signer_at(100).unwrap().signs_from(), 100);
    }

    #[test]
    fn a_ring_keeps_its_base_and_refuses_a_key_twice() {
        let ring = KeyRing::default()
            .rotated(100, RotationPolicy::default())
            .unwrap()
            .with_base("v1");
        let again = KeyRing::parse(&ring.to_secret_string()).unwrap();
        assert_eq!(again.based_on(), Some("v1"));
        let text = ring.to_secret_string();
        let stored: serde_json::Value = serde_json::from_str(text.expose_secret()).unwrap();
        let key = stored["keys"][0].clone();
        let doubled = serde_json::json!({"keys": [key.clone(), key]}).to_string();
        assert!(matches!(
            KeyRing::parse(&SecretString::from(doubled)),
            Err(KeyRingError::Duplicate { .. })
        ));
    }
}
