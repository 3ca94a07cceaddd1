//! JWTs from a partner's own identity provider (see [`crate::orgs::federation`] for the
//! registry): exchanged for a Portico token at the token endpoint (RFC 7523 §2.1 `jwt-bearer`),
//! or accepted directly by the gateway when the organisation turned that on.
//!
//! Both paths check the same things: the header's algorithm (ES256, RS256, PS256, EdDSA only:
//! never `none` or HMAC), `iss` = an approved IdP's issuer, the signature with a key of that
//! IdP's published JWK set ([`super::remote_jwks`]), `aud` = the registered audience, `exp`
//! (required) and `nbf` with the usual 60 s leeway, and the workload claim mapped to one of the
//! organisation's applications. The exchange also bounds the assertion's lifetime
//! ([`MAX_ASSERTION_LIFETIME_SECS`]): an assertion is meant to be used at once.
//!
//! The registry is cached in memory (reloaded on [`crate::changes::Change::Federation`] and
//! `Change::Applications`, and at every upkeep), so the gateway's fallback reads no database.
//! The gateway tries this only for a token its own verifier refused for not being one of
//! Portico's (unknown kid, other `typ`, …), and only while some approved IdP has direct
//! acceptance on: Portico's own tokens cost exactly what they did.

use super::jwk::{self, ForeignJwtError};
use super::remote_jwks::{RemoteJwks, RemoteJwksError};
use super::verify::{CallerLabels, VerifiedToken, VerifyError};
use super::{AccessClaims, IssueError, IssuedToken, LEEWAY_SECS, Stage, TokenService};
use crate::apps::applications::{self, AppStatus, Application};
use crate::authz::scopes::Scopes;
use crate::cache::TtlCache;
use crate::clock;
use crate::orgs::federation::{self as registry, TrustedIdp};
use crate::orgs::partners::PartnerStatus;
use crate::{CoreResult, Database};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// RFC 7523 `grant_type` of the exchange.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An assertion may live at most this long (`exp` − `iat`, or `exp` − now without `iat`).
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

/// Why an exchange was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    /// RFC 7523 §3.1 `invalid_grant`: the assertion is not acceptable; the text says why.
    #[error("{0}")]
    InvalidGrant(String),
    /// The mapped application or its organisation is suspended (`unauthorized_client`).
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    /// The IdP's keys (or the database) cannot be had now: retry later.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// One approved IdP with its mapped applications, as cached.
#[derive(Debug, PartialEq, Eq)]
struct Trusted {
    idp: TrustedIdp,
    /// Workload claim value → application.
    apps: HashMap<String, Application>,
}

/// The token server's federation state: the approved IdPs, the key sets, verified tokens.
pub struct Federation {
    by_issuer: RwLock<Arc<HashMap<String, Arc<Trusted>>>>,
    /// Some approved IdP has direct acceptance on (the gateway's fallback is off otherwise).
    any_direct: AtomicBool,
    remote_jwks: RwLock<Option<Arc<RemoteJwks>>>,
    verified: TtlCache<Box<str>, Arc<VerifiedToken>>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Federation")
    }
}

impl Federation {
    pub(super) fn new() -> Self {
        Self {
            by_issuer: RwLock::new(Arc::new(HashMap::new())),
            any_direct: AtomicBool::new(false),
            remote_jwks: RwLock::new(None),
            verified: TtlCache::new(10_000, Duration::from_secs(60)),
        }
    }

    /// Reloads the approved IdPs and their applications.
    pub(super) async fn reload(&self, db: &Database) -> CoreResult<()> {
        let trusted = registry::load_trusted(db).await?;
        let mut by_issuer = HashMap::with_capacity(trusted.len());
        let mut any_direct = false;
        for idp in trusted {
            let mut apps = HashMap::with_capacity(idp.mappings.len());
            for (value, client_id) in &idp.mappings {
                if let Some(app) = applications::find_by_client_id(db, client_id).await? {
                    apps.insert(value.clone(), app);
                }
            }
            any_direct |= idp.direct_access;
            by_issuer.insert(idp.issuer.clone(), Arc::new(Trusted { idp, apps }));
        }
        let loaded = Arc::new(by_issuer);
        let previous = std::mem::replace(
            &mut *self
                .by_issuer
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            loaded.clone(),
        );
        self.any_direct.store(any_direct, Ordering::Relaxed);
        // A mapping, scope or trust that changed must stop verifying at once; a periodic
        // reload that finds nothing new keeps the verified tokens.
        if previous != loaded {
            self.verified.clear();
        }
        Ok(())
    }

    fn trusted(&self, issuer: &str) -> Option<Arc<Trusted>> {
        self.by_issuer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(issuer)
            .cloned()
    }
}

/// The payload's `iss`, unverified: only used to pick the IdP whose keys then decide.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("iss")?.as_str().map(str::to_owned)
}

fn validation(idp: &TrustedIdp) -> Validation {
    // The algorithm is set by `jwk::verify` from the (already allowed) header.
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[&idp.issuer]);
    validation.set_audience(&[&idp.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation
}

fn foreign_reason(e: ForeignJwtError) -> &'static str {
    match e {
        ForeignJwtError::Malformed => "the assertion is not a well-formed JWT",
        ForeignJwtError::AlgorithmNotAllowed => {
            "the assertion's signing algorithm is not allowed (ES256, RS256, PS256 or EdDSA)"
        }
        ForeignJwtError::UnknownKey => {
            "no key of the identity provider's published key set matches the assertion's kid and algorithm"
        }
        ForeignJwtError::BadSignature => "the assertion's signature is invalid",
        ForeignJwtError::Expired => "the assertion has expired",
        ForeignJwtError::NotYetValid => "the assertion is not valid yet (nbf)",
        ForeignJwtError::WrongIssuer => "the assertion's issuer does not match",
        ForeignJwtError::WrongAudience => {
            "the assertion's aud is not the audience registered for this identity provider"
        }
        ForeignJwtError::MissingClaim => {
            "the assertion lacks a required claim (iss, aud, exp) or has a malformed one"
        }
    }
}

fn verify_error(e: ForeignJwtError) -> VerifyError {
    match e {
        ForeignJwtError::Malformed => VerifyError::Malformed,
        ForeignJwtError::AlgorithmNotAllowed => VerifyError::AlgorithmNotAllowed,
        ForeignJwtError::UnknownKey => VerifyError::UnknownKey,
        ForeignJwtError::BadSignature => VerifyError::BadSignature,
        ForeignJwtError::Expired => VerifyError::Expired,
        ForeignJwtError::NotYetValid => VerifyError::NotYetValid,
        ForeignJwtError::WrongIssuer => VerifyError::WrongIssuer,
        ForeignJwtError::WrongAudience => VerifyError::WrongAudience,
        ForeignJwtError::MissingClaim => VerifyError::MissingClaim,
    }
}

/// The workload claim's value: a string (or a number, as text).
fn workload_value(claims: &Value, claim: &str) -> Option<String> {
    match claims.get(claim)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl TokenService {
    /// The fetcher-backed cache of remote JWK sets, once the server has installed it (shared
    /// by federation and by clients' `jwks_uri` keys).
    pub fn remote_jwks(&self) -> Option<Arc<RemoteJwks>> {
        self.federation
            .remote_jwks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Installs (or replaces) the remote JWK set cache; the server does this at start-up.
    pub fn set_remote_jwks(&self, jwks: Arc<RemoteJwks>) {
        *self
            .federation
            .remote_jwks
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(jwks);
        self.federation.verified.clear();
    }

    /// Reloads the approved identity providers (after a `Federation` or `Applications` change).
    pub async fn reload_federation(&self) -> CoreResult<()> {
        self.federation.reload(&self.db).await
    }

    async fn idp_key(
        &self,
        idp: &TrustedIdp,
        header: &jwk::ForeignHeader,
    ) -> Result<jwk::PublicJwk, RemoteJwksError> {
        let Some(jwks) = self.remote_jwks() else {
            return Err(RemoteJwksError::Unavailable(
                "this server has no outbound client for key sets".into(),
            ));
        };
        jwks.key_for(&idp.jwks_url, header).await
    }

    /// RFC 7523 §2.1: exchanges a JWT from an approved identity provider for an access token
    /// of the application its workload claim maps to. `client_id`, when the request also
    /// authenticated (or named) a client, must be that application's.
    pub async fn exchange_assertion(
        &self,
        assertion: &str,
        client_id: Option<&str>,
        requested: Option<&Scopes>,
        stage: Stage,
    ) -> Result<(Application, IssuedToken), FederationError> {
        let invalid = |why: &str| FederationError::InvalidGrant(why.to_owned());
        let header = jwk::read_header(assertion).map_err(|e| invalid(foreign_reason(e)))?;
        let issuer = unverified_issuer(assertion)
            .ok_or_else(|| invalid("the assertion has no iss claim"))?;
        let trusted = self.federation.trusted(&issuer).ok_or_else(|| {
            invalid("the assertion's issuer is not an approved identity provider")
        })?;
        let idp = &trusted.idp;
        let key = self.idp_key(idp, &header).await.map_err(|e| match e {
            RemoteJwksError::UnknownKey => invalid(foreign_reason(ForeignJwtError::UnknownKey)),
            RemoteJwksError::Unavailable(why) => {
                tracing::warn!(issuer = %idp.issuer, reason = %why, "identity provider keys unavailable");
                FederationError::Unavailable(
                    "the identity provider's signing keys are unavailable; retry later".into(),
                )
            }
        })?;
        let claims: Value = jwk::verify(assertion, &header, &key, validation(idp))
            .map_err(|e| invalid(foreign_reason(e)))?;
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        let lifetime = match claims.get("iat").and_then(Value::as_i64) {
            Some(iat) => exp.saturating_sub(iat),
            None => exp.saturating_sub(clock::now()),
        };
        if lifetime > MAX_ASSERTION_LIFETIME_SECS {
            return Err(invalid(
                "the assertion lives too long: exp must be at most 1 hour after iat",
            ));
        }
        let claim = idp.workload_claim.as_str();
        let value = workload_value(&claims, claim).ok_or_else(|| {
            FederationError::InvalidGrant(format!(
                "the assertion has no {claim:?} claim (the workload claim)"
            ))
        })?;
        let Some(mapped) = trusted.apps.get(&value) else {
            return Err(FederationError::InvalidGrant(format!(
                "{claim} {value:?} is not mapped to an application of the identity provider's organisation"
            )));
        };
        // Read fresh: a suspension or a scope change counts at once.
        let app = applications::find_by_client_id(&self.db, &mapped.client_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "application lookup failed");
                FederationError::Unavailable("the token server cannot reach its database".into())
            })?
            .ok_or_else(|| invalid("the mapped application no longer exists"))?;
        if client_id.is_some_and(|id| id != app.client_id) {
            return Err(invalid(
                "the assertion stands for another application than the authenticated client",
            ));
        }
        if app.status == AppStatus::Suspended {
            return Err(FederationError::UnauthorizedClient(
                "this application is suspended",
            ));
        }
        if app.partner_status == PartnerStatus::Suspended {
            return Err(FederationError::UnauthorizedClient(
                "this application's partner organisation is suspended",
            ));
        }
        let issued = self.issue_bound(&app, requested, stage, None)?;
        tracing::info!(issuer = %idp.issuer, workload = %value, client_id = %app.client_id, "identity provider assertion exchanged");
        Ok((app, issued))
    }

    /// Whether the gateway should try `token` as an identity provider's after Portico's own
    /// verifier refused it for `refused`: only when some approved IdP has direct acceptance on
    /// and the refusal says the token is not one of Portico's.
    pub fn may_be_federated(&self, refused: VerifyError) -> bool {
        self.federation.any_direct.load(Ordering::Relaxed)
            && matches!(
                refused,
                VerifyError::WrongType
                    | VerifyError::MissingKeyId
                    | VerifyError::UnknownKey
                    | VerifyError::AlgorithmNotAllowed
                    | VerifyError::WrongIssuer
            )
    }

    /// Direct acceptance: `token` verified as a JWT of an approved identity provider whose
    /// organisation turned direct acceptance on, for `stage`. `None` when its issuer is no such
    /// IdP (the caller keeps its own refusal). The scopes are the application's approved ones,
    /// narrowed to the token's `scope` claim when it has one.
    pub async fn verify_federated(
        &self,
        token: &str,
        stage: Stage,
    ) -> Option<Result<Arc<VerifiedToken>, VerifyError>> {
        let now = clock::now();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(60);
        if let Some(hit) = self.federation.verified.get(token) {
            if hit.claims.exp.saturating_add(leeway) < now {
                return Some(Err(VerifyError::Expired));
            }
            return Some(Ok(hit));
        }
        let trusted = self.federation.trusted(&unverified_issuer(token)?)?;
        if !trusted.idp.direct_access {
            return None;
        }
        let verified = self.verify_direct(token, &trusted, stage).await;
        if let Ok(verified) = &verified {
            self.federation
                .verified
                .insert(Box::from(token), verified.clone());
        }
        Some(verified)
    }

    async fn verify_direct(
        &self,
        token: &str,
        trusted: &Trusted,
        stage: Stage,
    ) -> Result<Arc<VerifiedToken>, VerifyError> {
        let idp = &trusted.idp;
        let header = jwk::read_header(token).map_err(verify_error)?;
        let key = self
            .idp_key(idp, &header)
            .await
            .map_err(|e| match e {
                RemoteJwksError::UnknownKey => VerifyError::UnknownKey,
                RemoteJwksError::Unavailable(why) => {
                    tracing::warn!(issuer = %idp.issuer, reason = %why, "identity provider keys unavailable");
                    VerifyError::KeysUnavailable
                }
            })?;
        let claims: Value =
            jwk::verify(token, &header, &key, validation(idp)).map_err(verify_error)?;
        let value =
            workload_value(&claims, &idp.workload_claim).ok_or(VerifyError::UnmappedWorkload)?;
        let app = trusted
            .apps
            .get(&value)
            .ok_or(VerifyError::UnmappedWorkload)?;
        if stage == Stage::Production
            && (app.partner_status != PartnerStatus::Approved || !app.production_access)
        {
            return Err(VerifyError::WrongAudience);
        }
        let scopes = match claims.get("scope").and_then(Value::as_str) {
            None => app.scopes.clone(),
            Some(granted) => {
                let granted: Vec<&str> = granted.split_whitespace().collect();
                let kept: Vec<&str> = app.scopes.iter().filter(|s| granted.contains(s)).collect();
                Scopes::parse(&kept.join(" ")).map_err(|_| VerifyError::MissingClaim)?
            }
        };
        let now = clock::now();
        let claim_time = |name: &str| claims.get(name).and_then(Value::as_i64);
        let scope = scopes.to_string();
        let claims = AccessClaims {
            iss: idp.issuer.clone(),
            sub: app.client_id.clone(),
            aud: self.settings.audience_for(stage),
            exp: claim_time("exp").unwrap_or(now),
            iat: claim_time("iat").unwrap_or(now),
            nbf: claim_time("nbf").unwrap_or(now),
            jti: claims
                .get("jti")
                .and_then(Value::as_str)
                .map_or_else(|| format!("idp:{}", idp.id), |jti| format!("idp:{jti}")),
            client_id: app.client_id.clone(),
            scope: scope.clone(),
            partner_id: app.partner_id.clone(),
            cnf: None,
        };
        let principal = crate::authz::Principal::Application {
            client_id: app.client_id.clone(),
            partner_id: app.partner_id.clone(),
            scopes: scopes.iter().map(str::to_owned).collect(),
        };
        let labels = CallerLabels {
            client_id: Arc::from(app.client_id.as_str()),
            partner_id: Arc::from(app.partner_id.as_str()),
            scope: Arc::from(scope.as_str()),
        };
        Ok(Arc::new(VerifiedToken {
            claims,
            scopes,
            kid: key.kid().unwrap_or_else(|| key.thumbprint()).to_owned(),
            principal,
            labels,
        }))
    }
}
