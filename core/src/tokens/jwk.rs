//! Public keys whose private half someone else holds: an application's client-assertion keys
//! (private_key_jwt), the key of a DPoP proof, a partner identity provider's signing keys.
//!
//! One rule for all of them: only asymmetric algorithms (ES256, RS256, PS256, EdDSA), never
//! `none` or HMAC (a public key must never become an HMAC secret), the key's type must fit the
//! algorithm named in the JWT header, private key material is refused, RSA keys have at least
//! 2048 bits.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The JWS algorithms accepted from others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForeignAlg {
    Es256,
    Rs256,
    Ps256,
    EdDsa,
}

impl ForeignAlg {
    pub const ALL: [ForeignAlg; 4] = [
        ForeignAlg::Es256,
        ForeignAlg::Rs256,
        ForeignAlg::Ps256,
        ForeignAlg::EdDsa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ForeignAlg::Es256 => "ES256",
            ForeignAlg::Rs256 => "RS256",
            ForeignAlg::Ps256 => "PS256",
            ForeignAlg::EdDsa => "EdDSA",
        }
    }

    /// Exact, case-sensitive names (RFC 7518 §3.1).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            ForeignAlg::Es256 => Algorithm::ES256,
            ForeignAlg::Rs256 => Algorithm::RS256,
            ForeignAlg::Ps256 => Algorithm::PS256,
            ForeignAlg::EdDsa => Algorithm::EdDSA,
        }
    }

    fn family(self) -> KeyFamily {
        match self {
            ForeignAlg::Es256 => KeyFamily::P256,
            ForeignAlg::Rs256 | ForeignAlg::Ps256 => KeyFamily::Rsa,
            ForeignAlg::EdDsa => KeyFamily::Ed25519,
        }
    }

    /// The names, for metadata documents (`…_signing_alg_values_supported`).
    pub fn names() -> Vec<&'static str> {
        Self::ALL.into_iter().map(Self::as_str).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyFamily {
    P256,
    Rsa,
    Ed25519,
}

/// Why a key cannot be used. Worded for the person who pasted it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    #[error("the key is not a JSON Web Key, a JWK set or a PEM public key")]
    Unreadable,
    #[error("the key contains private key material: register only the public key")]
    PrivateMaterial,
    #[error("symmetric (oct) keys cannot be used: register an EC P-256, RSA or Ed25519 public key")]
    Symmetric,
    #[error("unsupported key: use EC P-256, RSA (2048 bits or more) or Ed25519")]
    Unsupported,
    #[error("RSA keys need at least 2048 bits")]
    RsaTooShort,
    #[error(
        "the key's \"alg\" ({0}) is not one of ES256, RS256, PS256, EdDSA, or does not fit the key"
    )]
    AlgorithmNotAllowed(String),
    #[error("the key's \"use\" is not \"sig\"")]
    NotForSigning,
    #[error("the key set is empty")]
    Empty,
}

/// A validated public key.
#[derive(Clone)]
pub struct PublicJwk {
    kid: Option<String>,
    /// The `alg` the key was registered with, if it named one: then only that one is accepted.
    alg: Option<ForeignAlg>,
    family: KeyFamily,
    decoding: DecodingKey,
    thumbprint: String,
    public: Value,
}

impl std::fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicJwk")
            .field("kid", &self.kid)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// Members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

impl PublicJwk {
    /// One JWK as JSON.
    pub fn from_json(value: &Value) -> Result<Self, JwkError> {
        let object = value.as_object().ok_or(JwkError::Unreadable)?;
        if object.get("kty").and_then(Value::as_str) == Some("oct") {
            return Err(JwkError::Symmetric);
        }
        if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
            return Err(JwkError::PrivateMaterial);
        }
        if object
            .get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            return Err(JwkError::NotForSigning);
        }
        let jwk: Jwk = serde_json::from_value(value.clone()).map_err(|_| JwkError::Unreadable)?;
        let family = match &jwk.algorithm {
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                KeyFamily::P256
            }
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
                KeyFamily::Ed25519
            }
            AlgorithmParameters::RSA(rsa) => {
                let modulus = URL_SAFE_NO_PAD
                    .decode(rsa.n.trim_end_matches('='))
                    .map_err(|_| JwkError::Unreadable)?;
                let significant = modulus.iter().skip_while(|b| **b == 0).count();
                if significant * 8 < 2048 {
                    return Err(JwkError::RsaTooShort);
                }
                KeyFamily::Rsa
            }
            AlgorithmParameters::OctetKey(_) => return Err(JwkError::Symmetric),
            _ => return Err(JwkError::Unsupported),
        };
        let alg = match object.get("alg") {
            None => None,
            Some(name) => {
                let name = name.as_str().unwrap_or_default();
                let alg = ForeignAlg::parse(name)
                    .filter(|alg| alg.family() == family)
                    .ok_or_else(|| JwkError::AlgorithmNotAllowed(name.to_owned()))?;
                Some(alg)
            }
        };
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| JwkError::Unreadable)?;
        let thumbprint = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| JwkError::Unsupported)?;
        Ok(Self {
            kid: object.get("kid").and_then(Value::as_str).map(str::to_owned),
            alg,
            family,
            decoding,
            thumbprint,
            public: value.clone(),
        })
    }

    /// A PEM `PUBLIC KEY` (SPKI; `RSA PUBLIC KEY` too), turned into a JWK.
    pub fn from_pem(pem: &str) -> Result<Self, JwkError> {
        let bytes = pem.trim().as_bytes();
        if pem.contains("PRIVATE KEY") {
            return Err(JwkError::PrivateMaterial);
        }
        let (decoding, alg) = if let Ok(key) = DecodingKey::from_ec_pem(bytes) {
            (key, Algorithm::ES256)
        } else if let Ok(key) = DecodingKey::from_ed_pem(bytes) {
            (key, Algorithm::EdDSA)
        } else if let Ok(key) = DecodingKey::from_rsa_pem(bytes) {
            (key, Algorithm::RS256)
        } else {
            return Err(JwkError::Unreadable);
        };
        let mut jwk =
            Jwk::from_decoding_key(&decoding, Some(alg)).map_err(|_| JwkError::Unsupported)?;
        // The PEM names the key type, not the algorithm (an RSA key may sign RS256 or PS256).
        jwk.common.key_algorithm = None;
        let value = serde_json::to_value(&jwk).map_err(|_| JwkError::Unreadable)?;
        Self::from_json(&strip_nulls(value))
    }

    /// What a partner pastes: one JWK, a JWK set (`{"keys": [...]}`) or a PEM public key.
    pub fn parse_many(text: &str) -> Result<Vec<Self>, JwkError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return Ok(vec![Self::from_pem(text)?]);
        }
        let value: Value = serde_json::from_str(text).map_err(|_| JwkError::Unreadable)?;
        Self::from_set_or_key(&value)
    }

    /// A JWK set document, or a single JWK.
    pub fn from_set_or_key(value: &Value) -> Result<Vec<Self>, JwkError> {
        match value.get("keys") {
            Some(Value::Array(keys)) if keys.is_empty() => Err(JwkError::Empty),
            Some(Value::Array(keys)) => keys.iter().map(Self::from_json).collect(),
            Some(_) => Err(JwkError::Unreadable),
            None => Ok(vec![Self::from_json(value)?]),
        }
    }

    /// Keys of a fetched JWK set, skipping those this server cannot use (an IdP may publish
    /// encryption or HMAC keys beside its signing keys).
    pub fn usable_from_set(value: &Value) -> Vec<Self> {
        value
            .get("keys")
            .and_then(Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| Self::from_json(k).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// RFC 7638 SHA-256 thumbprint, base64url: the `jkt` of DPoP and a stable key name.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The key as registered (public members only).
    pub fn public_json(&self) -> &Value {
        &self.public
    }

    /// A short label for lists: key type and the start of its thumbprint.
    pub fn label(&self) -> String {
        let kind = match self.family {
            KeyFamily::P256 => "EC P-256",
            KeyFamily::Rsa => "RSA",
            KeyFamily::Ed25519 => "Ed25519",
        };
        let short: String = self.thumbprint.chars().take(12).collect();
        format!("{kind} {short}…")
    }

    /// Whether a JWT signed with `alg` may be checked with this key.
    pub fn allows(&self, alg: ForeignAlg) -> bool {
        alg.family() == self.family && self.alg.is_none_or(|own| own == alg)
    }
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

/// Why a JWT from someone else was refused. Safe to log; the token is never in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForeignJwtError {
    #[error("not a well-formed JWT")]
    Malformed,
    #[error("the signing algorithm is not allowed (ES256, RS256, PS256 or EdDSA)")]
    AlgorithmNotAllowed,
    #[error("no registered key matches the JWT's kid and algorithm")]
    UnknownKey,
    #[error("the signature is invalid")]
    BadSignature,
    #[error("the JWT has expired")]
    Expired,
    #[error("the JWT is not valid yet")]
    NotYetValid,
    #[error("the JWT was issued by someone else")]
    WrongIssuer,
    #[error("the JWT is meant for another audience")]
    WrongAudience,
    #[error("the JWT lacks a required claim or has a malformed one")]
    MissingClaim,
}

/// The protected header of a JWT, read before its signature is checked.
#[derive(Clone, Debug)]
pub struct ForeignHeader {
    pub alg: ForeignAlg,
    pub kid: Option<String>,
    pub typ: Option<String>,
    /// An embedded public key (DPoP proofs carry theirs).
    pub jwk: Option<Value>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    jwk: Option<Value>,
    /// Headers this server does not understand but must (RFC 7515 §4.1.11).
    crit: Option<Value>,
}

/// Reads the header; `none`, HMAC and every other algorithm outside [`ForeignAlg`] are refused
/// here, before any key is looked at.
pub fn read_header(token: &str) -> Result<ForeignHeader, ForeignJwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ForeignJwtError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| ForeignJwtError::Malformed)?;
    let raw: RawHeader = serde_json::from_slice(&bytes).map_err(|_| ForeignJwtError::Malformed)?;
    if raw.crit.is_some() {
        return Err(ForeignJwtError::Malformed);
    }
    let alg = ForeignAlg::parse(&raw.alg).ok_or(ForeignJwtError::AlgorithmNotAllowed)?;
    Ok(ForeignHeader {
        alg,
        kid: raw.kid,
        typ: raw.typ,
        jwk: raw.jwk,
    })
}

/// The key among `keys` that may check a JWT with `header`: the one its `kid` names, or, when
/// it names none, the only key that fits its algorithm.
pub fn select_key<'k>(
    keys: &'k [PublicJwk],
    header: &ForeignHeader,
) -> Result<&'k PublicJwk, ForeignJwtError> {
    let mut fitting = keys.iter().filter(|k| k.allows(header.alg));
    match &header.kid {
        Some(kid) => fitting
            .find(|k| k.kid() == Some(kid.as_str()))
            .ok_or(ForeignJwtError::UnknownKey),
        None => match (fitting.next(), fitting.next()) {
            (Some(only), None) => Ok(only),
            _ => Err(ForeignJwtError::UnknownKey),
        },
    }
}

/// Checks the signature with `key` and the registered claims `validation` asks for, and
/// returns the payload. The caller sets issuer, audience and required claims on `validation`;
/// its algorithm is taken from the header (already allowed by [`read_header`]).
pub fn verify<T: DeserializeOwned>(
    token: &str,
    header: &ForeignHeader,
    key: &PublicJwk,
    mut validation: Validation,
) -> Result<T, ForeignJwtError> {
    if !key.allows(header.alg) {
        return Err(ForeignJwtError::UnknownKey);
    }
    validation.algorithms = vec![header.alg.jwt_algorithm()];
    jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
        .map(|data| data.claims)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => ForeignJwtError::BadSignature,
                ErrorKind::ExpiredSignature => ForeignJwtError::Expired,
                ErrorKind::ImmatureSignature => ForeignJwtError::NotYetValid,
                ErrorKind::InvalidIssuer => ForeignJwtError::WrongIssuer,
                ErrorKind::InvalidAudience => ForeignJwtError::WrongAudience,
                ErrorKind::InvalidAlgorithm => ForeignJwtError::AlgorithmNotAllowed,
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
                    ForeignJwtError::MissingClaim
                }
                _ => ForeignJwtError::Malformed,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    struct TestKey {
        encoding: EncodingKey,
        public: Value,
    }

    fn p256(kid: Option<&str>) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let mut public = json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        if let Some(kid) = kid {
            public["kid"] = json!(kid);
        }
        TestKey {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            public,
        }
    }

    fn sign(key: &TestKey, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &key.encoding).unwrap()
    }

    fn validation() -> Validation {
        let mut v = Validation::new(Algorithm::ES256);
        v.set_audience(&["https://as.example"]);
        v.set_required_spec_claims(&["exp", "aud"]);
        v
    }

    fn claims() -> Value {
        json!({ "aud": "https://as.example", "exp": crate::clock::now() + 60 })
    }

    #[test]
    fn a_signed_jwt_verifies_with_its_key_and_not_another() {
        let key = p256(Some("k1"));
        let other = p256(Some("k1"));
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        let token = sign(&key, &header, &claims());
        let parsed = read_header(&token).unwrap();
        let keys = vec![PublicJwk::from_json(&key.public).unwrap()];
        let chosen = select_key(&keys, &parsed).unwrap();
        let payload: Value = verify(&token, &parsed, chosen, validation()).unwrap();
        assert_eq!(payload["aud"], "https://as.example");
        let impostor = PublicJwk::from_json(&other.public).unwrap();
        assert_eq!(
            verify::<Value>(&token, &parsed, &impostor, validation()).unwrap_err(),
            ForeignJwtError::BadSignature
        );
    }

    #[test]
    fn none_and_hmac_are_refused_before_any_key() {
        for alg in ["none", "HS256", "HS512", "ES384", "es256"] {
            let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg }).to_string());
            let token = format!("{header}.e30.c2ln");
            assert_eq!(
                read_header(&token).unwrap_err(),
                ForeignJwtError::AlgorithmNotAllowed,
                "{alg}"
            );
        }
    }

    #[test]
    fn hmac_signed_with_the_public_key_bytes_is_refused() {
        let key = p256(None);
        let secret = key.public.to_string();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            read_header(&token).unwrap_err(),
            ForeignJwtError::AlgorithmNotAllowed
        );
    }

    #[test]
    fn keys_are_chosen_by_kid_and_algorithm() {
        let a = PublicJwk::from_json(&p256(Some("a")).public).unwrap();
        let b = PublicJwk::from_json(&p256(Some("b")).public).unwrap();
        let keys = vec![a, b];
        let header = |kid: Option<&str>, alg| ForeignHeader {
            alg,
            kid: kid.map(str::to_owned),
            typ: None,
            jwk: None,
        };
        assert_eq!(
            select_key(&keys, &header(Some("b"), ForeignAlg::Es256))
                .unwrap()
                .kid(),
            Some("b")
        );
        assert_eq!(
            select_key(&keys, &header(Some("c"), ForeignAlg::Es256)).unwrap_err(),
            ForeignJwtError::UnknownKey
        );
        // Two candidates and no kid: ambiguous, refused.
        assert!(select_key(&keys, &header(None, ForeignAlg::Es256)).is_err());
        // An EC key never checks an RSA signature.
        assert!(select_key(&keys, &header(Some("a"), ForeignAlg::Rs256)).is_err());
    }

    #[test]
    fn private_symmetric_and_weak_keys_are_refused() {
        let mut private = p256(None).public;
        private["d"] = json!("AAAA");
        assert_eq!(
            PublicJwk::from_json(&private).unwrap_err(),
            JwkError::PrivateMaterial
        );
        assert_eq!(
            PublicJwk::from_json(&json!({ "kty": "oct", "k": "c2VjcmV0" })).unwrap_err(),
            JwkError::Symmetric
        );
        let short_rsa =
            json!({ "kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 128]), "e": "AQAB" });
        assert_eq!(
            PublicJwk::from_json(&short_rsa).unwrap_err(),
            JwkError::RsaTooShort
        );
        let mut wrong_alg = p256(None).public;
        wrong_alg["alg"] = json!("RS256");
        assert!(matches!(
            PublicJwk::from_json(&wrong_alg),
            Err(JwkError::AlgorithmNotAllowed(_))
        ));
        assert_eq!(
            PublicJwk::parse_many("-----BEGIN PRIVATE KEY-----\nMIG\n-----END PRIVATE KEY-----")
                .unwrap_err(),
            JwkError::PrivateMaterial
        );
        assert_eq!(
            PublicJwk::parse_many("{\"keys\":[]}").unwrap_err(),
            JwkError::Empty
        );
        assert_eq!(
            PublicJwk::parse_many("hello").unwrap_err(),
            JwkError::Unreadable
        );
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1's example key and thumbprint.
        let key = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let jwk = PublicJwk::from_json(&key).unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert!(jwk.allows(ForeignAlg::Rs256));
        assert!(!jwk.allows(ForeignAlg::Ps256), "registered for RS256 only");
    }

    #[test]
    fn pem_public_keys_become_jwks() {
        let key = p256(Some("x"));
        let jwk = PublicJwk::from_json(&key.public).unwrap();
        // SPKI DER of the same point, wrapped as PEM.
        let x = URL_SAFE_NO_PAD
            .decode(key.public["x"].as_str().unwrap())
            .unwrap();
        let y = URL_SAFE_NO_PAD
            .decode(key.public["y"].as_str().unwrap())
            .unwrap();
        let mut der = hex_bytes("3059301306072a8648ce3d020106082a8648ce3d030107034200");
        der.push(4);
        der.extend(x);
        der.extend(y);
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        let from_pem = PublicJwk::parse_many(&pem).unwrap();
        assert_eq!(from_pem[0].thumbprint(), jwk.thumbprint());
        assert!(from_pem[0].allows(ForeignAlg::Es256));
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }
}
