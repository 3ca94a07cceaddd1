//! ID token verification (OpenID Connect Core 1.0 §3.1.3.7): signature against the provider's
//! JWKS with an asymmetric algorithm the provider advertises, then `iss`, `aud` (and `azp`),
//! `exp`/`iat`/`nbf` with 60 s leeway, `sub` and `nonce`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;
use subtle::ConstantTimeEq;

pub(super) const LEEWAY_SECS: u64 = 60;

/// Signature algorithms Portico accepts for ID tokens: asymmetric only. `none` and the HMAC
/// algorithms (whose "key" would be the client secret or, worse, a public key) never are.
pub(super) const ASYMMETRIC: &[(&str, Algorithm)] = &[
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// Why an ID token was refused (logged; users see one generic message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenProblem {
    #[error("the token response has no id_token")]
    Missing,
    #[error("the ID token is not a well-formed signed JWT: {0}")]
    Malformed(String),
    #[error("algorithm {0:?} is not an asymmetric algorithm the provider advertises")]
    Algorithm(String),
    #[error("no key in the provider's JWKS matches kid {0:?}")]
    UnknownKey(Option<String>),
    #[error("the signature does not verify")]
    Signature,
    #[error("wrong issuer")]
    Issuer,
    #[error("the audience does not contain this client")]
    Audience,
    #[error("azp is not this client")]
    AuthorizedParty,
    #[error("expired")]
    Expired,
    #[error("issued in the future or not yet valid")]
    NotYetValid,
    #[error("required claim {0} is missing")]
    MissingClaim(&'static str),
    #[error("the nonce does not match the one sent")]
    Nonce,
}

/// The claims Portico reads. Unknown claims are ignored.
#[derive(Deserialize)]
pub(super) struct IdClaims {
    pub sub: String,
    pub iss: String,
    #[serde(default)]
    pub aud: Audience,
    pub iat: Option<i64>,
    pub nonce: Option<String>,
    pub azp: Option<String>,
    pub email: Option<String>,
    /// Some providers send `"true"` as a string.
    pub email_verified: Option<serde_json::Value>,
    pub name: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(untagged)]
pub(super) enum Audience {
    #[default]
    None,
    One(
        #[expect(
            dead_code,
            reason = "only the number of audiences matters here; jsonwebtoken checks the values"
        )]
        String,
    ),
    Many(Vec<String>),
}

impl Audience {
    fn len(&self) -> usize {
        match self {
            Audience::None => 0,
            Audience::One(_) => 1,
            Audience::Many(list) => list.len(),
        }
    }
}

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// The parts of the header needed to pick a key, read before any key is chosen.
pub(super) struct Parsed {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

/// Reads the JOSE header and checks the algorithm against the allowed list.
pub(super) fn parse_header(token: &str, allowed: &[Algorithm]) -> Result<Parsed, IdTokenProblem> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenProblem::Malformed(
            "not three dot-separated parts".into(),
        ));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| IdTokenProblem::Malformed("header is not base64url".into()))?;
    let header: JoseHeader = serde_json::from_slice(&header)
        .map_err(|e| IdTokenProblem::Malformed(format!("header: {e}")))?;
    if header.crit.is_some() {
        return Err(IdTokenProblem::Malformed(
            "critical header extensions are not supported".into(),
        ));
    }
    let alg = ASYMMETRIC
        .iter()
        .find(|(name, _)| *name == header.alg)
        .map(|(_, alg)| *alg)
        .filter(|alg| allowed.contains(alg))
        .ok_or_else(|| IdTokenProblem::Algorithm(header.alg.clone()))?;
    Ok(Parsed {
        alg,
        kid: header.kid,
    })
}

/// Parses a JWKS document, keeping only public signature keys jsonwebtoken understands
/// (symmetric `oct` keys, encryption keys and unknown key types are skipped, not fatal).
pub(super) fn parse_jwks(document: &serde_json::Value) -> Result<Vec<Jwk>, String> {
    let keys = document
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("the JWKS has no \"keys\" array")?;
    Ok(keys
        .iter()
        .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
        .filter(|jwk| {
            !matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
                && !matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature)
        })
        .collect())
}

/// Whether `jwk` can verify `alg` (key type, curve, and the key's own `alg` if it names one).
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let family_fits = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(ec) => matches!(
            (&ec.curve, alg),
            (EllipticCurve::P256, Algorithm::ES256) | (EllipticCurve::P384, Algorithm::ES384)
        ),
        AlgorithmParameters::OctetKeyPair(okp) => {
            okp.curve == EllipticCurve::Ed25519 && alg == Algorithm::EdDSA
        }
        _ => false,
    };
    let alg_fits = jwk
        .common
        .key_algorithm
        .is_none_or(|key_alg| Algorithm::try_from(key_alg).is_ok_and(|a| a == alg));
    family_fits && alg_fits
}

/// The keys that may have signed a token with this header: the one named by `kid`, or, when
/// the token names none, every key of the right type.
pub(super) fn candidates<'k>(keys: &'k [Jwk], parsed: &Parsed) -> Vec<&'k Jwk> {
    keys.iter()
        .filter(|jwk| match &parsed.kid {
            Some(kid) => jwk.common.key_id.as_deref() == Some(kid.as_str()),
            None => true,
        })
        .filter(|jwk| key_fits(jwk, parsed.alg))
        .collect()
}

/// What the claims must match.
pub(super) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: i64,
}

/// Verifies the signature with one of `keys` (already filtered by [`candidates`]) and every
/// claim Portico relies on.
pub(super) fn verify(
    token: &str,
    parsed: &Parsed,
    keys: &[&Jwk],
    expected: &Expected<'_>,
) -> Result<IdClaims, IdTokenProblem> {
    let mut validation = Validation::new(parsed.alg);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

    let mut outcome = Err(IdTokenProblem::UnknownKey(parsed.kid.clone()));
    for jwk in keys {
        let key = match DecodingKey::from_jwk(jwk) {
            Ok(key) => key,
            Err(e) => {
                outcome = Err(IdTokenProblem::Malformed(format!("unusable JWK: {e}")));
                continue;
            }
        };
        outcome = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| problem(e.kind()));
        // Without a kid several keys may fit: try the next one only on a bad signature.
        if !matches!(outcome, Err(IdTokenProblem::Signature)) {
            break;
        }
    }
    let claims = outcome?;

    if claims.sub.is_empty() {
        return Err(IdTokenProblem::MissingClaim("sub"));
    }
    let iat = claims.iat.ok_or(IdTokenProblem::MissingClaim("iat"))?;
    if iat > expected.now + LEEWAY_SECS as i64 {
        return Err(IdTokenProblem::NotYetValid);
    }
    // jsonwebtoken has checked that `aud` contains the client; with several audiences the
    // authorized party must be named, and whenever it is named it must be this client.
    match claims.azp.as_deref() {
        Some(azp) if azp != expected.client_id => return Err(IdTokenProblem::AuthorizedParty),
        None if claims.aud.len() > 1 => return Err(IdTokenProblem::AuthorizedParty),
        _ => {}
    }
    let nonce = claims.nonce.as_deref().ok_or(IdTokenProblem::Nonce)?;
    if !bool::from(nonce.as_bytes().ct_eq(expected.nonce.as_bytes())) {
        return Err(IdTokenProblem::Nonce);
    }
    Ok(claims)
}

fn problem(kind: &ErrorKind) -> IdTokenProblem {
    match kind {
        ErrorKind::InvalidSignature => IdTokenProblem::Signature,
        ErrorKind::ExpiredSignature => IdTokenProblem::Expired,
        ErrorKind::ImmatureSignature => IdTokenProblem::NotYetValid,
        ErrorKind::InvalidIssuer => IdTokenProblem::Issuer,
        ErrorKind::InvalidAudience => IdTokenProblem::Audience,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            IdTokenProblem::Algorithm("mismatch between token and key".into())
        }
        ErrorKind::MissingRequiredClaim(claim) => {
            IdTokenProblem::MissingClaim(match claim.as_str() {
                "exp" => "exp",
                "iss" => "iss",
                "aud" => "aud",
                _ => "sub",
            })
        }
        // Neither the token nor claim values go into the reason.
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            IdTokenProblem::Malformed("the claims are not the expected JSON".into())
        }
        ErrorKind::Base64(_) => IdTokenProblem::Malformed("not base64url".into()),
        _ => IdTokenProblem::Malformed("the token or its key is unusable".into()),
    }
}

/// `email_verified` as a boolean: `true` or `"true"`; anything else is not verified.
pub(super) fn truthy(value: Option<&serde_json::Value>) -> bool {
    match value {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}
