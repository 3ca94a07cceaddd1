//! Access-token verification, step by step, each failure with its own reason.
//!
//! Order: shape → header `typ` → `alg` allowed for the key named by `kid` (never `none`, never
//! HMAC: a public key can never become an HMAC secret) → an `exp` already past (read before the
//! signature, which costs 20–160 µs: a client that keeps sending an expired token must not cost
//! a signature check per request; such a token is refused either way) → signature → `iss`,
//! `aud`, `exp`, `nbf` (60 s leeway) → revocation. Verified tokens are cached (keyed by their text) for a bounded time;
//! a cache hit still re-checks expiry and revocation.

use super::{ACCESS_TOKEN_TYP, AccessClaims, LEEWAY_SECS, TokenService};
use crate::authz::scopes::Scopes;
use crate::clock;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use jsonwebtoken::errors::ErrorKind;
use serde::Deserialize;
use std::sync::Arc;

/// A token that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    pub claims: AccessClaims,
    pub scopes: Scopes,
    pub kid: String,
    /// The Cedar principal the token stands for, built once with the verified token (which is
    /// cached) rather than on every request it authorizes.
    pub principal: crate::authz::Principal,
    /// The caller's names for request-log records, shared by every request of the token.
    pub labels: CallerLabels,
}

/// Shared copies of a token's client id, partner id and `scope` claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerLabels {
    pub client_id: Arc<str>,
    pub partner_id: Arc<str>,
    pub scope: Arc<str>,
}

/// The verification step that failed. Safe to show to the caller and to log (no token text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token type is not at+jwt")]
    WrongType,
    #[error("the signing algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("the token names no signing key")]
    MissingKeyId,
    #[error("the signing key is unknown or retired")]
    UnknownKey,
    #[error("the signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the token lacks a required claim")]
    MissingClaim,
    #[error("the token has been revoked")]
    Revoked,
    /// RFC 8705 §3: the token is bound to a client certificate the connection did not present.
    #[error("the token is bound to a client certificate and this connection presented none")]
    CertificateMissing,
    #[error("the token is bound to another client certificate than the one presented")]
    CertificateMismatch,
    /// An identity provider's token whose keys cannot be fetched (nor served stale any more).
    #[error("the identity provider's signing keys are unavailable")]
    KeysUnavailable,
    /// An identity provider's token whose workload claim maps to no application.
    #[error("the token's workload is not mapped to an application")]
    UnmappedWorkload,
}

impl VerifyError {
    /// Short machine-readable name of the failed step, for logs and the portal's explanations.
    pub fn step(self) -> &'static str {
        match self {
            VerifyError::Malformed => "format",
            VerifyError::WrongType => "typ",
            VerifyError::AlgorithmNotAllowed => "alg",
            VerifyError::MissingKeyId | VerifyError::UnknownKey | VerifyError::KeysUnavailable => {
                "kid"
            }
            VerifyError::UnmappedWorkload => "claims",
            VerifyError::BadSignature => "signature",
            VerifyError::Expired => "exp",
            VerifyError::NotYetValid => "nbf",
            VerifyError::WrongIssuer => "iss",
            VerifyError::WrongAudience => "aud",
            VerifyError::MissingClaim => "claims",
            VerifyError::Revoked => "revocation",
            VerifyError::CertificateMissing | VerifyError::CertificateMismatch => "certificate",
        }
    }
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

/// The payload's `exp`, unverified: only ever used to refuse a token early.
fn unverified_exp(token: &str) -> Option<i64> {
    #[derive(Deserialize)]
    struct Expiry {
        exp: Option<i64>,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Expiry>(&bytes).ok()?.exp
}

fn parse_header(token: &str) -> Result<RawHeader, VerifyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)
}

/// RFC 9068 §4: `at+jwt`, with or without the `application/` prefix, case-insensitive.
fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|t| {
        let t = t.strip_prefix("application/").unwrap_or(t);
        t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
    })
}

impl TokenService {
    /// Verifies an access token (see the module docs for the order of checks).
    pub fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, VerifyError> {
        let now = clock::now();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(60);
        if let Some(hit) = self.verify_cache().get(token) {
            if hit.claims.exp.saturating_add(leeway) < now {
                return Err(VerifyError::Expired);
            }
            if self.is_revoked(&hit.claims.jti) {
                return Err(VerifyError::Revoked);
            }
            return Ok(hit);
        }
        let verified = Arc::new(self.verify_uncached(token)?);
        self.verify_cache()
            .insert(Box::from(token), verified.clone());
        Ok(verified)
    }

    /// Every check, no cache (benchmarks and the cache-miss path).
    pub fn verify_uncached(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let header = parse_header(token)?;
        if !is_access_token_type(header.typ.as_deref()) {
            return Err(VerifyError::WrongType);
        }
        // `none` and HMAC are never acceptable, whatever the key.
        if header.alg.eq_ignore_ascii_case("none") || header.alg.starts_with("HS") {
            return Err(VerifyError::AlgorithmNotAllowed);
        }
        let kid = header.kid.ok_or(VerifyError::MissingKeyId)?;
        let keys = self.key_set();
        let key = keys.by_kid.get(&kid).ok_or(VerifyError::UnknownKey)?;
        if header.alg != key.alg.as_str() {
            return Err(VerifyError::AlgorithmNotAllowed);
        }
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(60);
        // Saturating: `exp` is unverified attacker input here (i64::MAX overflowed, issue 17).
        if unverified_exp(token).is_some_and(|exp| exp.saturating_add(leeway) < clock::now()) {
            return Err(VerifyError::Expired);
        }

        let settings = self.settings();
        let mut validation = Validation::new(key.alg.jwt_algorithm());
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&settings.issuer]);
        // Either stage's audience; the enforcer checks it is the one of its own stage.
        validation.set_audience(&[
            settings.audience_for(super::Stage::Sandbox),
            settings.audience_for(super::Stage::Production),
        ]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => VerifyError::BadSignature,
                ErrorKind::ExpiredSignature => VerifyError::Expired,
                ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
                ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
                ErrorKind::InvalidAudience => VerifyError::WrongAudience,
                ErrorKind::MissingRequiredClaim(_) => VerifyError::MissingClaim,
                ErrorKind::InvalidAlgorithm => VerifyError::AlgorithmNotAllowed,
                ErrorKind::Json(_) => VerifyError::MissingClaim,
                _ => VerifyError::Malformed,
            })?;
        let claims = data.claims;
        if claims.sub != claims.client_id {
            return Err(VerifyError::MissingClaim);
        }
        if self.is_revoked(&claims.jti) {
            return Err(VerifyError::Revoked);
        }
        let scopes = Scopes::parse(&claims.scope).map_err(|_| VerifyError::MissingClaim)?;
        let principal = crate::authz::Principal::Application {
            client_id: claims.client_id.clone(),
            partner_id: claims.partner_id.clone(),
            // Sorted and without duplicates (a set), as the decision cache keys them.
            scopes: scopes.iter().map(str::to_owned).collect(),
        };
        let labels = CallerLabels {
            client_id: Arc::from(claims.client_id.as_str()),
            partner_id: Arc::from(claims.partner_id.as_str()),
            scope: Arc::from(claims.scope.as_str()),
        };
        Ok(VerifiedToken {
            claims,
            scopes,
            kid,
            principal,
            labels,
        })
    }
}

impl TokenService {
    /// Whose token this is, when it was refused for a reason that comes after its signature
    /// (expired, not yet valid, another issuer or audience, revoked) and its signature checks
    /// out with one of this installation's keys: so the refusal goes to that partner's request
    /// log. `None` for anything else: a token whose signature fails names nobody, so nobody can
    /// put calls into another partner's log. Only on the refusal path.
    pub fn signed_caller(&self, token: &str, refused: VerifyError) -> Option<CallerLabels> {
        if !matches!(
            refused,
            VerifyError::Expired
                | VerifyError::NotYetValid
                | VerifyError::WrongIssuer
                | VerifyError::WrongAudience
                | VerifyError::Revoked
        ) {
            return None;
        }
        let header = parse_header(token).ok()?;
        if !is_access_token_type(header.typ.as_deref()) {
            return None;
        }
        let keys = self.key_set();
        let key = keys.by_kid.get(header.kid.as_deref()?)?;
        if header.alg != key.alg.as_str() {
            return None;
        }
        let mut validation = Validation::new(key.alg.jwt_algorithm());
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
            .ok()?
            .claims;
        Some(CallerLabels {
            client_id: Arc::from(claims.client_id.as_str()),
            partner_id: Arc::from(claims.partner_id.as_str()),
            scope: Arc::from(claims.scope.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_types() {
        assert!(is_access_token_type(Some("at+jwt")));
        assert!(is_access_token_type(Some("application/AT+JWT")));
        assert!(!is_access_token_type(Some("JWT")));
        assert!(!is_access_token_type(None));
    }

    #[test]
    fn headers_must_have_three_parts_and_json() {
        assert!(matches!(parse_header("a.b"), Err(VerifyError::Malformed)));
        assert!(matches!(
            parse_header("a.b.c.d"),
            Err(VerifyError::Malformed)
        ));
        assert!(matches!(
            parse_header("!!!.b.c"),
            Err(VerifyError::Malformed)
        ));
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        assert_eq!(
            parse_header(&format!("{header}.e30."))
                .map(|h| h.alg)
                .ok()
                .as_deref(),
            Some("none")
        );
    }
}
