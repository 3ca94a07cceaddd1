//! DPoP (RFC 9449): proof-of-possession of a client key on token requests and API calls.
//!
//! A proof is a JWT the client signs with its own key pair for one HTTP request; its header
//! carries the public key. The token endpoint binds the access token to that key's RFC 7638
//! thumbprint (`cnf.jkt`); the gateway then accepts the token only with a fresh proof by the
//! same key for the very request (method and URL), naming the token (`ath`). A stolen token is
//! useless without the private key.
//!
//! What is checked (RFC 9449 §4.3), in this order: one `DPoP` header → a JWT with `typ`
//! `dpop+jwt` and an allowed asymmetric `alg` (never `none` or HMAC, see [`super::jwk`]) →
//! an embedded public `jwk` (private keys refused) → the signature → `htm` = the request method
//! → `htu` = the request URL (normalised, query and fragment ignored) → `iat` within
//! [`IAT_WINDOW_SECS`] → the server `nonce` when one is demanded (or present) → `ath` on
//! resource requests → `jti` never seen within the window.
//!
//! **Nonces** are stateless: an HMAC of a time slot ([`NONCE_SLOT_SECS`]) under a key derived
//! from the master key, so every replica accepts every other replica's nonce; the current and
//! the previous slot are accepted. **Replays**: seen `jti`s are remembered in this process for
//! the whole `iat` window. A replica does not see another replica's `jti`s: where nonces are
//! demanded (always at the token endpoint, at the gateway for applications that require DPoP),
//! a replay on another replica is bounded by the nonce's lifetime as well.

use super::jwk::{self, ForeignJwtError, PublicJwk};
use crate::cache::FastHash;
use crate::clock::{self, UnixTime};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use subtle::ConstantTimeEq;

/// The `typ` header of DPoP proofs (RFC 9449 §4.2).
pub const PROOF_TYP: &str = "dpop+jwt";

/// A proof's `iat` may be this many seconds in the past or the future (clock skew included).
/// Proofs are single-use and made just before each request, so a minute is generous.
pub const IAT_WINDOW_SECS: i64 = 60;

/// Nonces change every this many seconds; the current and the previous one are accepted, so a
/// nonce lives between 5 and 10 minutes.
pub const NONCE_SLOT_SECS: i64 = 300;

/// Largest `DPoP` header read (an RSA-4096 key plus claims fits easily).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Most `jti`s remembered at once (a little over 8,000 proofs a second for the whole window).
/// When full of unexpired entries, new proofs are refused (fail closed) rather than forgetting.
pub const REPLAY_CAPACITY: usize = 1_000_000;

/// The master-key derivation label of the nonce key.
const NONCE_KEY_LABEL: &str = "portico dpop nonce v1";

/// Why a proof was refused. Safe for the caller and the log (never the proof or a token).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    /// RFC 9449 `invalid_dpop_proof`.
    #[error("{0}")]
    InvalidProof(&'static str),
    /// The token does not fit the scheme it came with (RFC 9449 §7.1, §7.2): `invalid_token`.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// RFC 9449 `use_dpop_nonce`: retry with the nonce of the `DPoP-Nonce` header.
    #[error("a DPoP nonce is required: retry with the nonce from the DPoP-Nonce header")]
    UseNonce,
    /// The replay cache is full of live entries: the proof cannot be checked for reuse now.
    #[error("too many DPoP proofs right now; retry in a few seconds")]
    Busy,
}

impl DpopError {
    /// The RFC 9449 error code.
    pub fn code(&self) -> &'static str {
        match self {
            DpopError::InvalidProof(_) => "invalid_dpop_proof",
            DpopError::InvalidToken(_) => "invalid_token",
            DpopError::UseNonce => "use_dpop_nonce",
            DpopError::Busy => "temporarily_unavailable",
        }
    }
}

/// Whether the proof must carry a server nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoncePolicy {
    /// Missing nonce → [`DpopError::UseNonce`].
    Required,
    /// A nonce is checked when present (a stale one is refused with `use_dpop_nonce`).
    IfPresent,
}

/// How fresh the proof's nonce was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceState {
    Absent,
    Current,
    /// The previous slot's: still accepted, but the client should switch to the current one.
    Previous,
}

/// The request a proof must match.
#[derive(Clone, Copy, Debug)]
pub struct ProofTarget<'a> {
    /// The HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The absolute URL the server is reached at (its configured public URL plus the path).
    pub url: &'a str,
    /// The access token sent with the request (resource requests); `None` at the token endpoint.
    pub access_token: Option<&'a str>,
    pub nonce: NoncePolicy,
}

/// A proof that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 SHA-256 thumbprint of the proof's key: the `cnf.jkt` a token is bound to.
    pub jkt: String,
    pub nonce: NonceState,
}

/// Checks proofs; one per process, shared by the token endpoint and every gateway stage (they
/// share the replay cache).
pub struct DpopVerifier {
    nonce_key: [u8; 32],
    replay: Mutex<ReplayCache>,
}

impl std::fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DpopVerifier")
    }
}

struct ReplayCache {
    /// First 16 bytes of SHA-256(jkt, jti) → until when the entry matters.
    seen: HashMap<[u8; 16], UnixTime, FastHash>,
    capacity: usize,
    next_purge: UnixTime,
}

impl ReplayCache {
    /// Records `key`; `Ok(false)` when it was already there (a replay).
    fn insert(&mut self, key: [u8; 16], until: UnixTime, now: UnixTime) -> Result<bool, DpopError> {
        if now >= self.next_purge || self.seen.len() >= self.capacity {
            self.seen.retain(|_, expiry| *expiry >= now);
            self.next_purge = now + 10;
        }
        if let Some(expiry) = self.seen.get(&key)
            && *expiry >= now
        {
            return Ok(false);
        }
        if self.seen.len() >= self.capacity {
            return Err(DpopError::Busy);
        }
        self.seen.insert(key, until);
        Ok(true)
    }
}

impl DpopVerifier {
    /// `nonce_key`: 32 bytes every replica shares (see [`DpopVerifier::from_sealer`]).
    pub fn new(nonce_key: [u8; 32]) -> Self {
        Self::with_capacity(nonce_key, REPLAY_CAPACITY)
    }

    fn with_capacity(nonce_key: [u8; 32], capacity: usize) -> Self {
        Self {
            nonce_key,
            replay: Mutex::new(ReplayCache {
                seen: HashMap::with_hasher(FastHash::default()),
                capacity,
                next_purge: 0,
            }),
        }
    }

    /// The nonce key derived from the master key: replicas sharing it accept each other's nonces.
    pub fn from_sealer(sealer: &super::keys::KeySealer) -> crate::CoreResult<Self> {
        Ok(Self::new(sealer.derive_secret(NONCE_KEY_LABEL)?))
    }

    /// The nonce to hand out now (`DPoP-Nonce` header).
    pub fn current_nonce(&self) -> String {
        self.nonce_for_slot(clock::now().div_euclid(NONCE_SLOT_SECS))
    }

    fn nonce_for_slot(&self, slot: i64) -> String {
        // The key is 32 bytes: HMAC accepts any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.nonce_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"dpop-nonce");
        mac.update(&slot.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..18])
    }

    fn nonce_state(&self, presented: &str, now: UnixTime) -> Option<NonceState> {
        let slot = now.div_euclid(NONCE_SLOT_SECS);
        let matches = |slot: i64| {
            bool::from(
                self.nonce_for_slot(slot)
                    .as_bytes()
                    .ct_eq(presented.as_bytes()),
            )
        };
        if matches(slot) {
            Some(NonceState::Current)
        } else if matches(slot - 1) {
            Some(NonceState::Previous)
        } else {
            None
        }
    }

    /// Checks the `DPoP` header values of a request against `target` (RFC 9449 §4.3).
    pub fn verify<'h>(
        &self,
        headers: impl IntoIterator<Item = &'h [u8]>,
        target: &ProofTarget<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        let mut values = headers.into_iter();
        let proof = match (values.next(), values.next()) {
            (None, _) => return Err(DpopError::InvalidProof("no DPoP proof was sent")),
            (Some(_), Some(_)) => {
                return Err(DpopError::InvalidProof(
                    "more than one DPoP header was sent",
                ));
            }
            (Some(one), None) => one,
        };
        if proof.len() > MAX_PROOF_BYTES {
            return Err(DpopError::InvalidProof("the DPoP proof is too large"));
        }
        let proof = std::str::from_utf8(proof)
            .map_err(|_| DpopError::InvalidProof("the DPoP proof is not a JWT"))?
            .trim();
        self.verify_proof(proof, target, clock::now())
    }

    fn verify_proof(
        &self,
        proof: &str,
        target: &ProofTarget<'_>,
        now: UnixTime,
    ) -> Result<VerifiedProof, DpopError> {
        let header = jwk::read_header(proof).map_err(|e| match e {
            ForeignJwtError::AlgorithmNotAllowed => DpopError::InvalidProof(
                "the DPoP proof's alg is not allowed (ES256, RS256, PS256 or EdDSA)",
            ),
            _ => DpopError::InvalidProof("the DPoP proof is not a well-formed JWT"),
        })?;
        if header.typ.as_deref() != Some(PROOF_TYP) {
            return Err(DpopError::InvalidProof(
                "the DPoP proof's typ must be dpop+jwt",
            ));
        }
        let Some(jwk_value) = &header.jwk else {
            return Err(DpopError::InvalidProof(
                "the DPoP proof carries no public key (jwk header)",
            ));
        };
        let key = PublicJwk::from_json(jwk_value).map_err(|_| {
            DpopError::InvalidProof(
                "the DPoP proof's jwk is not an acceptable public key (EC P-256, RSA 2048+ or Ed25519, no private parts)",
            )
        })?;
        let mut validation = jsonwebtoken::Validation::new(header.alg.jwt_algorithm());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let claims: Value = jwk::verify(proof, &header, &key, validation).map_err(|e| match e {
            ForeignJwtError::BadSignature => {
                DpopError::InvalidProof("the DPoP proof's signature is invalid")
            }
            ForeignJwtError::UnknownKey | ForeignJwtError::AlgorithmNotAllowed => {
                DpopError::InvalidProof("the DPoP proof's alg does not fit its jwk")
            }
            _ => DpopError::InvalidProof("the DPoP proof's claims are malformed"),
        })?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let (Some(jti), Some(htm), Some(htu)) = (text("jti"), text("htm"), text("htu")) else {
            return Err(DpopError::InvalidProof(
                "the DPoP proof lacks jti, htm or htu",
            ));
        };
        if jti.is_empty() || jti.len() > 256 {
            return Err(DpopError::InvalidProof(
                "the DPoP proof's jti is empty or too long",
            ));
        }
        // RFC 7519 NumericDate: seconds, possibly fractional.
        let Some(iat) = claims.get("iat").and_then(Value::as_f64) else {
            return Err(DpopError::InvalidProof("the DPoP proof lacks iat"));
        };
        if htm != target.method {
            return Err(DpopError::InvalidProof(
                "the DPoP proof's htm does not match the request method",
            ));
        }
        let same_url = match (normalize_htu(htu), normalize_htu(target.url)) {
            (Some(presented), Some(expected)) => presented == expected,
            _ => false,
        };
        if !same_url {
            return Err(DpopError::InvalidProof(
                "the DPoP proof's htu does not match the request URL",
            ));
        }
        #[expect(
            clippy::cast_precision_loss,
            reason = "unix seconds are far below 2^53"
        )]
        let age = now as f64 - iat;
        #[expect(clippy::cast_precision_loss, reason = "a small constant")]
        let window = IAT_WINDOW_SECS as f64;
        if !age.is_finite() || age.abs() > window {
            return Err(DpopError::InvalidProof(
                "the DPoP proof's iat is outside the accepted window (60 s): make a new proof for each request",
            ));
        }
        let nonce = match (claims.get("nonce"), target.nonce) {
            (None, NoncePolicy::Required) => return Err(DpopError::UseNonce),
            (None, NoncePolicy::IfPresent) => NonceState::Absent,
            (Some(Value::String(nonce)), _) => {
                self.nonce_state(nonce, now).ok_or(DpopError::UseNonce)?
            }
            (Some(_), _) => {
                return Err(DpopError::InvalidProof(
                    "the DPoP proof's nonce is not a string",
                ));
            }
        };
        match (target.access_token, text("ath")) {
            (Some(token), Some(ath)) => {
                let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
                if !bool::from(expected.as_bytes().ct_eq(ath.as_bytes())) {
                    return Err(DpopError::InvalidProof(
                        "the DPoP proof's ath does not match the access token",
                    ));
                }
            }
            (Some(_), None) => {
                return Err(DpopError::InvalidProof(
                    "the DPoP proof lacks ath (the access token's hash)",
                ));
            }
            (None, _) => {}
        }
        let jkt = key.thumbprint().to_owned();
        let replay_key: [u8; 16] = {
            let digest = Sha256::new()
                .chain_update(jkt.as_bytes())
                .chain_update([0])
                .chain_update(jti.as_bytes())
                .finalize();
            let mut key = [0u8; 16];
            key.copy_from_slice(&digest[..16]);
            key
        };
        // Remembered until the proof could no longer pass the iat check anyway.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "iat is within a minute of now here"
        )]
        let until = iat.ceil() as i64 + IAT_WINDOW_SECS + 1;
        let fresh = self
            .replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(replay_key, until, now)?;
        if !fresh {
            return Err(DpopError::InvalidProof(
                "this DPoP proof was already used (jti replayed)",
            ));
        }
        Ok(VerifiedProof { jkt, nonce })
    }
}

/// The resource server's check (RFC 9449 §7), for a verified access token presented under
/// the `DPoP` scheme (`dpop_scheme`) or bound to a key (`bound_jkt`, its `cnf.jkt`). Bearer
/// tokens sent as `Bearer` never come here. A bound token needs the `DPoP` scheme and a valid
/// proof by the very key it is bound to; the `DPoP` scheme needs a bound token.
pub fn check_presentation<'h>(
    verifier: &DpopVerifier,
    bound_jkt: Option<&str>,
    dpop_scheme: bool,
    proofs: impl IntoIterator<Item = &'h [u8]>,
    target: &ProofTarget<'_>,
) -> Result<Option<VerifiedProof>, DpopError> {
    let jkt = match (bound_jkt, dpop_scheme) {
        (None, false) => return Ok(None),
        (None, true) => {
            return Err(DpopError::InvalidToken(
                "this access token is not DPoP-bound: send it with the Bearer scheme",
            ));
        }
        (Some(_), false) => {
            return Err(DpopError::InvalidToken(
                "this access token is DPoP-bound: send it as `Authorization: DPoP <token>` with a DPoP proof",
            ));
        }
        (Some(jkt), true) => jkt,
    };
    let proof = verifier.verify(proofs, target)?;
    if !bool::from(proof.jkt.as_bytes().ct_eq(jkt.as_bytes())) {
        return Err(DpopError::InvalidProof(
            "the DPoP proof is signed by another key than the one the access token is bound to",
        ));
    }
    Ok(Some(proof))
}

/// The application's own rule, once its settings are known: an application that requires
/// DPoP has its unbound tokens refused and its proofs must carry a server nonce.
pub fn check_application_rule(
    dpop_required: bool,
    proof: Option<&VerifiedProof>,
) -> Result<(), DpopError> {
    match (dpop_required, proof) {
        (false, _) => Ok(()),
        (true, None) => Err(DpopError::InvalidToken(
            "this application requires DPoP-bound tokens: request a new token with a DPoP proof",
        )),
        (true, Some(proof)) if proof.nonce == NonceState::Absent => Err(DpopError::UseNonce),
        (true, Some(_)) => Ok(()),
    }
}

/// `htu` as compared (RFC 9449 §4.3 point 9, RFC 3986 §6.2.2 and §6.2.3): scheme and host in
/// lower case, the scheme's default port dropped, an empty path as `/`, percent-encodings in
/// upper case with unreserved characters decoded, query and fragment removed. `None` for
/// anything that is not an absolute http(s) URL.
pub fn normalize_htu(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    // The port follows the last ':' outside an IPv6 literal's brackets.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], &authority[i + 1..]),
        _ => (authority, ""),
    };
    if host.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = format!("{scheme}://{}", host.to_ascii_lowercase());
    if !port.is_empty() && port != default_port {
        out.push(':');
        out.push_str(port);
    }
    normalize_path(path, &mut out)?;
    Some(out)
}

fn normalize_path(path: &str, out: &mut String) -> Option<()> {
    // URLs on the wire are ASCII (anything else is percent-encoded).
    if !path.is_ascii() {
        return None;
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            out.push(char::from(bytes[i]));
            i += 1;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests;
