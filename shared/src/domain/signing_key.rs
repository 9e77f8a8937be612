//! The stack's ES256 signing keys for standard tokens (JWTs): each derived from a secret
//! seed, published as a JWK named by its RFC 7638 thumbprint, signing JWS compact tokens.
//!
//! ES256 (ECDSA P-256, SHA-256) over RS256: every verifier we target accepts it (API
//! Gateway's JWT authorizers, jose, PyJWT, Spring, Go), a token is about 350 bytes shorter,
//! and signing costs tens of microseconds; aws-lc, which rustls already links, does it.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The order of P-256's base point, big-endian: a private scalar is in `1..ORDER`.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// An RFC 5915 `ECPrivateKey` on P-256 up to its 32-byte scalar: version 1, the
/// scalar, then (after it) the named curve prime256v1.
const SEC1_PREFIX: [u8; 7] = [0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20];
const SEC1_CURVE: [u8; 12] = [
    0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
];

/// The shortest seed accepted: 128 bits of a random string's worth, at the least.
pub const MIN_SEED_BYTES: usize = 32;

/// A public key as the JWKS publishes it (RFC 7517/7518): EC P-256, for ES256 signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    /// `EC`.
    pub kty: &'static str,
    /// `P-256`.
    pub crv: &'static str,
    /// The point's x coordinate, base64url.
    pub x: String,
    /// The point's y coordinate, base64url.
    pub y: String,
    /// The key's id: its RFC 7638 thumbprint.
    pub kid: String,
    /// `ES256`.
    pub alg: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    pub usage: &'static str,
}

/// Why a signing key could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The seed is shorter than [`MIN_SEED_BYTES`].
    #[error("a signing key's seed must hold at least {MIN_SEED_BYTES} bytes")]
    ShortSeed,
    /// aws-lc refused the key or failed to sign (never expected).
    #[error("the signing key could not be used")]
    Crypto,
    /// The claims could not be written as JSON (never expected).
    #[error("the claims could not be serialized")]
    Claims,
}

/// One ES256 signing key with its public half.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.jwk.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The key `seed` stands for, the same on every instance: the scalar is SHA-256 of a
    /// label, the seed and a counter, the first such value that is a valid P-256 scalar
    /// (the first almost always: one in 2^32 is not).
    pub fn from_seed(seed: &[u8]) -> Result<Self, SigningError> {
        if seed.len() < MIN_SEED_BYTES {
            return Err(SigningError::ShortSeed);
        }
        let scalar = (0u8..=255)
            .map(|counter| {
                let mut hash = Sha256::new();
                hash.update(b"wxlogin signing key\0");
                hash.update(seed);
                hash.update([counter]);
                <[u8; 32]>::from(hash.finalize())
            })
            .find(|scalar| *scalar != [0; 32] && *scalar < ORDER)
            .ok_or(SigningError::Crypto)?;
        let mut der = Vec::with_capacity(SEC1_PREFIX.len() + 32 + SEC1_CURVE.len());
        der.extend_from_slice(&SEC1_PREFIX);
        der.extend_from_slice(&scalar);
        der.extend_from_slice(&SEC1_CURVE);
        let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|_| SigningError::Crypto)?;
        let jwk = public_jwk(pair.public_key().as_ref()).ok_or(SigningError::Crypto)?;
        Ok(Self { pair, jwk })
    }

    /// The key's id (`kid`), its RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    /// The public key as the JWKS publishes it.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// `claims` as a signed JWT (JWS compact: header, payload, ES256 signature).
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, SigningError> {
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": self.jwk.kid});
        let payload = serde_json::to_vec(claims).map_err(|_| SigningError::Claims)?;
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), token.as_bytes())
            .map_err(|_| SigningError::Crypto)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }
}

/// The JWK of an uncompressed P-256 point (`04 || x || y`).
fn public_jwk(point: &[u8]) -> Option<Jwk> {
    let (&tag, coordinates) = point.split_first()?;
    if tag != 0x04 || coordinates.len() != 64 {
        return None;
    }
    let (x, y) = coordinates.split_at(32);
    let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
    // RFC 7638: the required members, in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    Some(Jwk {
        kty: "EC",
        crv: "P-256",
        x,
        y,
        kid,
        alg: "ES256",
        usage: "sig",
    })
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    use super::*;

    const SEED: &[u8] = b"a stack's generated signing seed, 64 characters of it, not real";

    fn verify(key: &SigningKey, token: &str) -> bool {
        let Some((signed, signature)) = token.rsplit_once('.') else {
            return false;
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let mut point = vec![0x04];
        point.extend(URL_SAFE_NO_PAD.decode(&key.jwk().x).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(&key.jwk().y).unwrap());
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            .verify(signed.as_bytes(), &signature)
            .is_ok()
    }

    #[test]
    fn a_seed_makes_the_same_key_everywhere_and_another_seed_another() {
        let key = SigningKey::from_seed(SEED).unwrap();
        assert_eq!(SigningKey::from_seed(SEED).unwrap().jwk(), key.jwk());
        let other = SigningKey::from_seed(&[b'x'; 40]).unwrap();
        assert_ne!(other.kid(), key.kid());
        assert_eq!(key.kid().len(), 43, "a base64url SHA-256 thumbprint");
        assert_eq!(
            SigningKey::from_seed(&SEED[..MIN_SEED_BYTES - 1]).unwrap_err(),
            SigningError::ShortSeed
        );
    }

    #[test]
    fn a_token_is_an_es256_jws_its_key_verifies_and_nothing_else() {
        let key = SigningKey::from_seed(SEED).unwrap();
        let token = key
            .sign(&serde_json::json!({"sub": "o1", "exp": 2}))
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()})
        );
        assert_eq!(
            URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(),
            64,
            "r || s"
        );
        assert!(verify(&key, &token));
        let other = SigningKey::from_seed(&[b'x'; 40]).unwrap();
        assert!(!verify(&other, &token), "another key's signature");
        let tampered = token.replacen(
            parts[1],
            &URL_SAFE_NO_PAD.encode(br#"{"sub":"o2","exp":2}"#),
            1,
        );
        assert!(!verify(&key, &tampered));
    }

    /// RFC 7638 section 3.1's example is RSA; this pins our EC thumbprint to its recipe on
    /// a known point (RFC 7515 appendix A.3's ES256 key).
    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        let x = URL_SAFE_NO_PAD
            .decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU")
            .unwrap();
        let y = URL_SAFE_NO_PAD
            .decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")
            .unwrap();
        let mut point = vec![0x04];
        point.extend(x);
        point.extend(y);
        let jwk = public_jwk(&point).unwrap();
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert_eq!(
            jwk.kid,
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
        );
        assert_eq!(public_jwk(&point[1..]), None, "not an uncompressed point");
    }
}
