//! Token signing keys: generation, sealing at rest, JWK publication and rotation.
//!
//! Life of a key: `next` (published in the JWKS, not signing) → `active` (signing) → `retiring`
//! (published, not signing, until every token it signed has expired) → `retired`.

use crate::clock::{self, UnixTime};
use crate::{CoreError, CoreResult, Database, ids};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};
use sqlx::FromRow;
use std::fmt;

/// The longest a token can live (`PORTICO_TOKEN_TTL` max) plus the verification leeway: a
/// retiring key stays published this long, whatever the TTL was when it signed.
pub const RETIRE_AFTER_SECS: i64 = 3600 + 60;

/// Default time between `keys rotate` and the new key starting to sign: longer than the JWKS
/// `max-age`, so every verifier has fetched the new key before it sees a token signed by it.
pub const DEFAULT_LEAD_TIME_SECS: i64 = 600;

/// How long verifiers may cache the JWKS (its `Cache-Control: max-age`).
pub const JWKS_MAX_AGE_SECS: i64 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlg {
    Es256,
    Rs256,
    EdDsa,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::Rs256 => "RS256",
            SigningAlg::EdDsa => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(SigningAlg::Es256),
            "RS256" => Some(SigningAlg::Rs256),
            "EdDSA" => Some(SigningAlg::EdDsa),
            _ => None,
        }
    }

    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            SigningAlg::Es256 => Algorithm::ES256,
            SigningAlg::Rs256 => Algorithm::RS256,
            SigningAlg::EdDsa => Algorithm::EdDSA,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Active,
    Retiring,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
            KeyState::Retired => "retired",
        }
    }

    fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "next" => Ok(KeyState::Next),
            "active" => Ok(KeyState::Active),
            "retiring" => Ok(KeyState::Retiring),
            "retired" => Ok(KeyState::Retired),
            other => Err(CoreError::Invalid(format!("unknown key state {other:?}"))),
        }
    }
}

/// Encrypts private keys before they are stored (AES-256-GCM, random nonce per key).
pub struct KeySealer {
    key: LessSafeKey,
    /// HKDF pseudo-random key from the same material, for [`KeySealer::derive_secret`].
    derive: aws_lc_rs::hkdf::Prk,
}

impl fmt::Debug for KeySealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySealer(<redacted>)")
    }
}

impl KeySealer {
    /// From 32 bytes of key material (`PORTICO_MASTER_KEY`, base64).
    pub fn from_base64(encoded: &str) -> CoreResult<Self> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| CoreError::Invalid("the master key is not valid base64".into()))?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> CoreResult<Self> {
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CoreError::Invalid("the master key must be exactly 32 bytes".into()))?;
        let derive =
            aws_lc_rs::hkdf::Salt::new(aws_lc_rs::hkdf::HKDF_SHA256, b"portico derived secrets")
                .extract(bytes);
        Ok(Self {
            key: LessSafeKey::new(key),
            derive,
        })
    }

    /// 32 bytes derived from the master key for `label` (HKDF-SHA-256, the label as `info`):
    /// every process given the same master key derives the same bytes, and nothing about the
    /// master key can be learnt from them. Used for secrets the platform holds for itself
    /// (the status probe's client secret), so they never need to be stored.
    pub fn derive_secret(&self, label: &str) -> CoreResult<[u8; 32]> {
        let mut out = [0u8; 32];
        let info = [label.as_bytes()];
        self.derive
            .expand(&info, aws_lc_rs::hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out))
            .map_err(|_| {
                CoreError::Invalid("deriving a secret from the master key failed".into())
            })?;
        Ok(out)
    }

    /// Encrypts a secret the platform must be able to read back (a webhook signing secret),
    /// bound to `context` (the owning object's id: a sealed value copied to another row does
    /// not open there).
    pub fn seal_secret(&self, plaintext: &[u8], context: &str) -> CoreResult<String> {
        self.seal(plaintext, context)
    }

    /// Opens what [`KeySealer::seal_secret`] sealed for the same `context`.
    pub fn open_secret(&self, sealed: &str, context: &str) -> CoreResult<Vec<u8>> {
        self.unseal(sealed, context)
    }

    /// A fresh random master key, base64-encoded.
    pub fn generate_base64() -> String {
        let mut bytes = [0u8; 32];
        crate::secret::fill_random(&mut bytes);
        STANDARD.encode(bytes)
    }

    fn seal(&self, plaintext: &[u8], kid: &str) -> CoreResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CoreError::Invalid("no randomness for the key nonce".into()))?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| CoreError::Invalid("sealing the signing key failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(STANDARD.encode(out))
    }

    fn unseal(&self, sealed: &str, kid: &str) -> CoreResult<Vec<u8>> {
        let wrong_key = || {
            CoreError::Invalid(format!(
                "cannot decrypt signing key {kid}: the master key (PORTICO_MASTER_KEY or its key file) is not the one it was sealed with"
            ))
        };
        let bytes = STANDARD.decode(sealed).map_err(|_| wrong_key())?;
        if bytes.len() < NONCE_LEN {
            return Err(wrong_key());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong_key())?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
            .map_err(|_| wrong_key())?;
        Ok(plaintext.to_vec())
    }
}

/// A key ready for use: the signing half (only for keys that may sign) and the verifying half.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub public_jwk: Value,
    pub created_at: UnixTime,
    pub retiring_at: Option<UnixTime>,
    pub(crate) encoding: Option<EncodingKey>,
    pub(crate) decoding: DecodingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Newly generated key material: private key DER (the form jsonwebtoken signs with) + JWK.
struct Generated {
    private_der: Vec<u8>,
    public_jwk: Value,
}

fn generate(alg: SigningAlg, kid: &str) -> CoreResult<Generated> {
    let failed = |what: &str| CoreError::Invalid(format!("generating a {what} key failed"));
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    match alg {
        SigningAlg::Es256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map_err(|_| failed("P-256"))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|_| failed("P-256"))?;
            // Uncompressed point: 0x04 || X (32 bytes) || Y (32 bytes).
            let point = pair.public_key().as_ref();
            if point.len() != 65 {
                return Err(failed("P-256"));
            }
            Ok(Generated {
                private_der: pkcs8.as_ref().to_vec(),
                public_jwk: json!({
                    "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]),
                    "kid": kid, "use": "sig", "alg": "ES256"
                }),
            })
        }
        SigningAlg::EdDsa => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| failed("Ed25519"))?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| failed("Ed25519"))?;
            Ok(Generated {
                private_der: pkcs8.as_ref().to_vec(),
                public_jwk: json!({
                    "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()),
                    "kid": kid, "use": "sig", "alg": "EdDSA"
                }),
            })
        }
        SigningAlg::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| failed("RSA"))?;
            let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| failed("RSA"))?;
            let public = pair.public_key();
            let n = public.modulus().big_endian_without_leading_zero().to_vec();
            let e = public.exponent().big_endian_without_leading_zero().to_vec();
            Ok(Generated {
                // jsonwebtoken wants the RFC 8017 RSAPrivateKey inside the PKCS#8 wrapper.
                private_der: pkcs8_inner_key(pkcs8.as_ref())
                    .ok_or_else(|| failed("RSA"))?
                    .to_vec(),
                public_jwk: json!({
                    "kty": "RSA", "n": b64(&n), "e": b64(&e),
                    "kid": kid, "use": "sig", "alg": "RS256"
                }),
            })
        }
    }
}

/// The `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo`
/// (SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING privateKey, … }).
fn pkcs8_inner_key(der: &[u8]) -> Option<&[u8]> {
    fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }
    let (0x30, body, _) = element(der)? else {
        return None;
    };
    let (0x02, _, body) = element(body)? else {
        return None;
    };
    let (0x30, _, body) = element(body)? else {
        return None;
    };
    let (0x04, key, _) = element(body)? else {
        return None;
    };
    Some(key)
}

fn decoding_key(jwk: &Value) -> CoreResult<DecodingKey> {
    let field = |name: &str| jwk[name].as_str().unwrap_or_default();
    let result = match field("kty") {
        "EC" => DecodingKey::from_ec_components(field("x"), field("y")),
        "OKP" => DecodingKey::from_ed_components(field("x")),
        "RSA" => DecodingKey::from_rsa_components(field("n"), field("e")),
        other => {
            return Err(CoreError::Invalid(format!(
                "unsupported key type {other:?}"
            )));
        }
    };
    result.map_err(|e| CoreError::Invalid(format!("unusable public key: {e}")))
}

fn encoding_key(alg: SigningAlg, der: &[u8]) -> EncodingKey {
    match alg {
        SigningAlg::Es256 => EncodingKey::from_ec_der(der),
        SigningAlg::Rs256 => EncodingKey::from_rsa_der(der),
        SigningAlg::EdDsa => EncodingKey::from_ed_der(der),
    }
}

#[derive(FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    state: String,
    public_jwk: String,
    private_key_sealed: String,
    created_at: i64,
    retiring_at: Option<i64>,
}

/// Every key that is not retired, ready for signing (active) and verifying (all).
pub async fn load_published(db: &Database, sealer: &KeySealer) -> CoreResult<Vec<SigningKey>> {
    let rows = sqlx::query_as::<_, KeyRow>(
        "SELECT kid, alg, state, public_jwk, private_key_sealed, created_at, retiring_at \
         FROM signing_keys WHERE state <> 'retired' ORDER BY created_at, kid",
    )
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|row| {
            let alg = SigningAlg::parse(&row.alg).ok_or_else(|| {
                CoreError::Invalid(format!("key {} has unknown alg {}", row.kid, row.alg))
            })?;
            let state = KeyState::parse(&row.state)?;
            let public_jwk: Value = serde_json::from_str(&row.public_jwk).map_err(|e| {
                CoreError::Invalid(format!("key {} has a corrupt JWK: {e}", row.kid))
            })?;
            // Only the signing key's private half is decrypted and kept in memory.
            let encoding = if state == KeyState::Active {
                Some(encoding_key(
                    alg,
                    &sealer.unseal(&row.private_key_sealed, &row.kid)?,
                ))
            } else {
                None
            };
            Ok(SigningKey {
                decoding: decoding_key(&public_jwk)?,
                kid: row.kid,
                alg,
                state,
                public_jwk,
                created_at: row.created_at,
                retiring_at: row.retiring_at,
                encoding,
            })
        })
        .collect()
}

async fn insert_key(
    db: &Database,
    sealer: &KeySealer,
    alg: SigningAlg,
    state: KeyState,
) -> CoreResult<String> {
    let kid = ids::new_id("key");
    let generated = generate(alg, &kid)?;
    let sealed = sealer.seal(&generated.private_der, &kid)?;
    let now = clock::now();
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, state, public_jwk, private_key_sealed, created_at, activated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&kid)
    .bind(alg.as_str())
    .bind(state.as_str())
    .bind(generated.public_jwk.to_string())
    .bind(sealed)
    .bind(now)
    .bind((state == KeyState::Active).then_some(now))
    .execute(db.pool())
    .await?;
    Ok(kid)
}

/// First start: make sure one key signs. Safe to race: a second active key would only mean
/// two valid signers, and the next maintenance pass retires all but the newest.
pub async fn ensure_active_key(
    db: &Database,
    sealer: &KeySealer,
    alg: SigningAlg,
) -> CoreResult<()> {
    let active: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE state = 'active'")
            .fetch_one(db.pool())
            .await?;
    if active == 0 {
        let kid = insert_key(db, sealer, alg, KeyState::Active).await?;
        tracing::info!(%kid, alg = alg.as_str(), "created the first signing key");
    }
    Ok(())
}

/// A signing key as the admin console lists it (no key material).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub created_at: UnixTime,
    pub activated_at: Option<UnixTime>,
    pub retiring_at: Option<UnixTime>,
    pub retired_at: Option<UnixTime>,
}

/// Every signing key, newest first, with its state and dates.
pub async fn list(db: &Database) -> CoreResult<Vec<KeyInfo>> {
    Ok(sqlx::query_as(
        "SELECT kid, alg, state, created_at, activated_at, retiring_at, retired_at \
         FROM signing_keys ORDER BY created_at DESC, kid DESC",
    )
    .fetch_all(db.pool())
    .await?)
}

/// What a rotation step did, for the CLI and the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// A new key was published; it starts signing after the lead time (or on promote).
    NextKeyPublished { kid: String },
    /// A next key already waits; nothing new was created.
    AlreadyPending { kid: String },
    /// The next key now signs; the previous one is retiring.
    Promoted { kid: String },
}

/// `portico keys rotate`: publish a next key, or with `promote` make the pending next key sign now.
pub async fn rotate(
    db: &Database,
    sealer: &KeySealer,
    alg: SigningAlg,
    promote: bool,
) -> CoreResult<RotationOutcome> {
    let pending: Option<String> = sqlx::query_scalar(
        "SELECT kid FROM signing_keys WHERE state = 'next' ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    match (pending, promote) {
        (Some(kid), true) => {
            promote_key(db, &kid, clock::now()).await?;
            Ok(RotationOutcome::Promoted { kid })
        }
        (Some(kid), false) => Ok(RotationOutcome::AlreadyPending { kid }),
        (None, true) => {
            let kid = insert_key(db, sealer, alg, KeyState::Next).await?;
            promote_key(db, &kid, clock::now()).await?;
            Ok(RotationOutcome::Promoted { kid })
        }
        (None, false) => {
            let kid = insert_key(db, sealer, alg, KeyState::Next).await?;
            Ok(RotationOutcome::NextKeyPublished { kid })
        }
    }
}

async fn promote_key(db: &Database, kid: &str, now: UnixTime) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE signing_keys SET state = 'retiring', retiring_at = $1 WHERE state = 'active'",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE signing_keys SET state = 'active', activated_at = $1 WHERE kid = $2")
        .bind(now)
        .bind(kid)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(%kid, "signing key promoted; the previous key is retiring");
    Ok(())
}

/// Time-driven steps of the rotation, run periodically by the server (`now` is a parameter so
/// tests can move the clock): promote a next key older than `lead_time_secs`; retire keys that
/// have been retiring for longer than any token lives.
pub async fn advance_rotation(
    db: &Database,
    now: UnixTime,
    lead_time_secs: i64,
) -> CoreResult<bool> {
    let due: Option<String> = sqlx::query_scalar(
        "SELECT kid FROM signing_keys WHERE state = 'next' AND created_at <= $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(now - lead_time_secs)
    .fetch_optional(db.pool())
    .await?;
    let mut changed = false;
    if let Some(kid) = due {
        promote_key(db, &kid, now).await?;
        changed = true;
    }
    let retired = sqlx::query(
        "UPDATE signing_keys SET state = 'retired', retired_at = $1 WHERE state = 'retiring' AND retiring_at <= $2",
    )
    .bind(now)
    .bind(now - RETIRE_AFTER_SECS)
    .execute(db.pool())
    .await?;
    Ok(changed || retired.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_binds_the_kid() {
        let sealer = KeySealer::from_base64(&KeySealer::generate_base64()).unwrap();
        let sealed = sealer.seal(b"private", "key_1").unwrap();
        assert!(!sealed.contains("private"));
        assert_eq!(sealer.unseal(&sealed, "key_1").unwrap(), b"private");
        assert!(
            sealer.unseal(&sealed, "key_2").is_err(),
            "a sealed key moved to another kid"
        );
        let other = KeySealer::from_base64(&KeySealer::generate_base64()).unwrap();
        assert!(other.unseal(&sealed, "key_1").is_err());
    }

    #[test]
    fn derived_secrets_depend_on_the_key_and_the_label_only() {
        let encoded = KeySealer::generate_base64();
        let a = KeySealer::from_base64(&encoded).unwrap();
        let b = KeySealer::from_base64(&encoded).unwrap();
        let other = KeySealer::from_base64(&KeySealer::generate_base64()).unwrap();
        let label = "status probe";
        assert_eq!(
            a.derive_secret(label).unwrap(),
            b.derive_secret(label).unwrap()
        );
        assert_ne!(
            a.derive_secret(label).unwrap(),
            a.derive_secret("other").unwrap()
        );
        assert_ne!(
            a.derive_secret(label).unwrap(),
            other.derive_secret(label).unwrap()
        );
        let raw = STANDARD.decode(encoded).unwrap();
        assert_ne!(a.derive_secret(label).unwrap().as_slice(), raw.as_slice());
    }

    #[test]
    fn master_keys_must_be_32_bytes_of_base64() {
        assert!(KeySealer::from_base64("not base64!").is_err());
        assert!(KeySealer::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        assert!(KeySealer::from_base64(&STANDARD.encode([0u8; 32])).is_ok());
    }

    #[test]
    fn every_algorithm_generates_a_signing_and_verifying_pair() {
        for alg in [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa] {
            let generated = generate(alg, "kid-1").unwrap();
            assert_eq!(generated.public_jwk["alg"], alg.as_str());
            assert_eq!(generated.public_jwk["use"], "sig");
            assert!(
                generated.public_jwk.get("d").is_none(),
                "no private part in the JWK"
            );
            let encoding = encoding_key(alg, &generated.private_der);
            let decoding = decoding_key(&generated.public_jwk).unwrap();
            let header = jsonwebtoken::Header::new(alg.jwt_algorithm());
            let token = jsonwebtoken::encode(
                &header,
                &json!({"sub": "x", "exp": 4_000_000_000u64}),
                &encoding,
            )
            .unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg.jwt_algorithm());
            validation.validate_aud = false;
            jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
        }
    }
}
