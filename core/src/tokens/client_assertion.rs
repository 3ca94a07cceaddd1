//! private_key_jwt client authentication (RFC 7523 §2.2 / §3, as profiled by OIDC Core §9):
//! the client signs a short-lived JWT with its own private key; Portico holds only the public
//! key, so there is no stored secret to steal.
//!
//! Checks, in order: header (ES256/RS256/PS256/EdDSA only, never `none` or HMAC) → the client
//! named by `sub` (= `iss`, and = `client_id` when the request also sends one) → a registered
//! key for the header's `kid` and `alg` (else one published at the client's JWKS URL, fetched
//! through the server's SSRF-guarded client and cached) → signature → `aud` is this server (its issuer or the
//! endpoint's URL) → `exp` present, not past, at most [`MAX_LIFETIME_SECS`] ahead (and after
//! `iat`) → `jti` never seen before (a shared table, so a replica cannot be used to replay) →
//! the application's standing.

use super::jwk::{self, ForeignJwtError};
use super::remote_jwks::RemoteJwksError;
use super::{ClientAuthError, LEEWAY_SECS, TokenService, standing};
use crate::apps::applications::Application;
use crate::clock;
use crate::{CoreResult, Database};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use serde::Deserialize;

/// The only `client_assertion_type` (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: its `exp` at most this far past now and past its `iat`.
/// One hour, as Okta allows and as Authlib signs by default; a used assertion is worthless
/// anyway (its `jti` is refused the second time), so the bound only limits how long one that
/// was never sent stays usable. openid-client and most libraries sign for a minute or less.
pub const MAX_LIFETIME_SECS: i64 = 3600;

/// The longest `jti` accepted (they are stored until the assertion expires).
const MAX_JTI_LEN: usize = 256;

#[derive(Deserialize)]
/// The claims read after the signature; `iss`, `sub` and `aud` are checked by the validation.
struct AssertionClaims {
    jti: Option<String>,
    exp: i64,
    iat: Option<i64>,
}

/// `sub` read before the signature is checked: only used to find whose keys to check it with.
fn unverified_subject(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Subject {
        sub: Option<String>,
    }
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Subject>(&bytes).ok()?.sub
}

fn refused(error: ForeignJwtError) -> ClientAuthError {
    ClientAuthError::InvalidAssertion(match error {
        ForeignJwtError::Malformed => "the assertion is not a well-formed JWT",
        ForeignJwtError::AlgorithmNotAllowed => {
            "the assertion's alg must be ES256, RS256, PS256 or EdDSA"
        }
        ForeignJwtError::UnknownKey => {
            "no key registered for this client matches the assertion's kid and alg"
        }
        ForeignJwtError::BadSignature => "the assertion's signature is invalid",
        ForeignJwtError::Expired => "the assertion has expired",
        ForeignJwtError::NotYetValid => "the assertion is not valid yet",
        ForeignJwtError::WrongIssuer => "the assertion's iss must be the client_id",
        ForeignJwtError::WrongAudience => {
            "the assertion's aud must be this server's issuer or token endpoint URL"
        }
        ForeignJwtError::MissingClaim => {
            "the assertion needs iss, sub (both the client_id), aud, exp and jti"
        }
    })
}

impl TokenService {
    /// Authenticates a client by its assertion. `claimed_client_id` is the request's
    /// `client_id` parameter, if it sent one; `audiences` are the values `aud` may hold.
    pub async fn authenticate_assertion(
        &self,
        claimed_client_id: Option<&str>,
        assertion: &str,
        audiences: &[String],
    ) -> Result<Application, ClientAuthError> {
        let header = jwk::read_header(assertion).map_err(refused)?;
        let client_id =
            unverified_subject(assertion).ok_or(refused(ForeignJwtError::MissingClaim))?;
        if claimed_client_id.is_some_and(|claimed| claimed != client_id) {
            return Err(ClientAuthError::InvalidAssertion(
                "client_id differs from the assertion's sub",
            ));
        }
        let Some(entry) = self.client_record(&client_id).await? else {
            return Err(ClientAuthError::InvalidClient("unknown client_id"));
        };
        let key = match jwk::select_key(&entry.keys.keys, &header) {
            Ok(key) => key.clone(),
            Err(ForeignJwtError::UnknownKey) if entry.keys.jwks_uri.is_some() => {
                self.key_from_jwks_uri(entry.keys.jwks_uri.as_deref(), &header)
                    .await?
            }
            Err(e) => return Err(refused(e)),
        };
        let key = &key;
        let mut validation = Validation::new(header.alg.jwt_algorithm());
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&client_id]);
        validation.set_audience(audiences);
        validation.sub = Some(client_id.clone());
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        let claims: AssertionClaims =
            jwk::verify(assertion, &header, key, validation).map_err(refused)?;
        let now = clock::now();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(60);
        let lives_too_long = claims.exp > now.saturating_add(MAX_LIFETIME_SECS + leeway)
            || claims
                .iat
                .is_some_and(|iat| claims.exp.saturating_sub(iat) > MAX_LIFETIME_SECS);
        if lives_too_long {
            return Err(ClientAuthError::InvalidAssertion(
                "the assertion may live at most 3600 seconds (exp too far ahead)",
            ));
        }
        let jti = claims
            .jti
            .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LEN)
            .ok_or(refused(ForeignJwtError::MissingClaim))?;
        let first_use = record_use(
            &self.db,
            &client_id,
            &jti,
            claims.exp.saturating_add(leeway),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "recording a client assertion failed");
            ClientAuthError::Unavailable
        })?;
        if !first_use {
            return Err(ClientAuthError::InvalidAssertion(
                "this assertion was already used (jti replayed): make a new one per request",
            ));
        }
        standing(&entry.app)?;
        Ok(entry.app.clone())
    }
}

impl TokenService {
    /// The key for `header` at the client's JWKS URL (cached; an unknown kid refreshes the set
    /// at most once per refresh interval, so assertions naming random kids cannot make us
    /// hammer the client's server).
    async fn key_from_jwks_uri(
        &self,
        jwks_uri: Option<&str>,
        header: &jwk::ForeignHeader,
    ) -> Result<jwk::PublicJwk, ClientAuthError> {
        let (Some(uri), Some(remote)) = (jwks_uri, self.remote_jwks()) else {
            return Err(refused(ForeignJwtError::UnknownKey));
        };
        remote.key_for(uri, header).await.map_err(|e| match e {
            RemoteJwksError::UnknownKey => refused(ForeignJwtError::UnknownKey),
            RemoteJwksError::Unavailable(why) => {
                tracing::warn!(jwks_uri = %uri, reason = %why, "client JWKS unavailable");
                ClientAuthError::InvalidAssertion(
                    "the keys at this client's JWKS URL cannot be fetched right now",
                )
            }
        })
    }
}

/// Records `(client_id, jti)`; `false` if it was already there (a replay).
async fn record_use(
    db: &Database,
    client_id: &str,
    jti: &str,
    expires_at: i64,
) -> CoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO used_client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (client_id, jti) DO NOTHING",
    )
    .bind(client_id)
    .bind(jti)
    .bind(expires_at)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Drops the records of assertions that have expired (they can no longer be replayed).
pub(crate) async fn forget_expired(db: &Database) -> CoreResult<()> {
    sqlx::query("DELETE FROM used_client_assertions WHERE expires_at < $1")
        .bind(clock::now())
        .execute(db.pool())
        .await?;
    Ok(())
}
