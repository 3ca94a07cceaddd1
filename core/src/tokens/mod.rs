//! The token server's core: client authentication, access-token issuance (RFC 9068 JWTs),
//! verification, revocation and introspection. The gateway and the token endpoints share it,
//! so a token is judged by one piece of code everywhere.

pub mod client_assertion;
pub mod dpop;
pub mod federation;
#[cfg(test)]
mod fuzz_tests;
pub mod jwk;
pub mod keys;
pub mod mtls;
pub mod remote_jwks;
pub mod verify;

use crate::apps::applications::{self, AppStatus, Application, StoredSecret};
use crate::authz::scopes::Scopes;
use crate::cache::TtlCache;
use crate::clock::{self, UnixTime};
use crate::orgs::partners::PartnerStatus;
use crate::secret::PlainSecret;
use crate::{CoreResult, Database, ids};
use keys::{KeySealer, KeyState, SigningAlg, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

pub use verify::{VerifiedToken, VerifyError};

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 60;

/// How long a successful client authentication is reused. A suspended application or a revoked
/// secret stops working within this bound on every replica.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(5);

/// Which gateway stage a token is for. Each stage has its own audience, so a sandbox token is
/// refused by the production stage and the other way round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Sandbox,
    Production,
}

#[derive(Clone, Debug)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub ttl_secs: i64,
    pub alg: SigningAlg,
    /// Seconds between `keys rotate` and the new key signing.
    pub rotation_lead_secs: i64,
    /// Capacity and TTL of the verified-token cache.
    pub verify_cache_capacity: usize,
    pub verify_cache_ttl: Duration,
}

impl TokenSettings {
    /// The `aud` of tokens for `stage`: the configured audience for the sandbox, the same with
    /// `/production` appended for the production stage.
    pub fn audience_for(&self, stage: Stage) -> String {
        match stage {
            Stage::Sandbox => self.audience.clone(),
            Stage::Production => format!("{}/production", self.audience),
        }
    }

    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, ttl_secs: i64) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            ttl_secs,
            alg: SigningAlg::Es256,
            rotation_lead_secs: keys::DEFAULT_LEAD_TIME_SECS,
            verify_cache_capacity: 50_000,
            verify_cache_ttl: Duration::from_secs(60),
        }
    }
}

/// Claims of a Portico access token (RFC 9068 §2.2 plus `partner_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    pub partner_id: String,
    /// The key the token is bound to (RFC 7800): a DPoP key (RFC 9449) or a client
    /// certificate (RFC 8705). Absent on bearer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// An access token's `cnf` claim: whoever presents the token must also prove this key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// RFC 9449 §6.1: the JWK SHA-256 thumbprint of the DPoP key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// RFC 8705 §3.1: the SHA-256 thumbprint of the client certificate (DER), base64url.
    #[serde(default, rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

/// A freshly issued token, as the token endpoint returns it.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: Scopes,
    pub jti: String,
}

/// Why a client could not authenticate or get a token. `InvalidClient` deliberately does not
/// say whether the id or the secret was wrong; the log line does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthError {
    #[error("client authentication failed: {0}")]
    InvalidClient(&'static str),
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    /// A client assertion (private_key_jwt) was refused; the reason is safe to show, and
    /// helps the partner fix its assertion.
    #[error("client assertion refused: {0}")]
    InvalidAssertion(&'static str),
    /// The client could not be looked up (the database is unreachable): retry later.
    #[error("the client could not be looked up")]
    Unavailable,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("{0}")]
    InvalidScope(String),
    /// The client may not have a token for this stage (RFC 6749 `unauthorized_client`).
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("no signing key is active")]
    NoSigningKey,
    #[error("signing failed")]
    Signing,
}

/// Refuses a suspended application, or one whose organisation is suspended. Pending
/// organisations use the sandbox; approval matters for production (see `issue_for`).
fn standing(app: &Application) -> Result<(), ClientAuthError> {
    if app.status == AppStatus::Suspended {
        return Err(ClientAuthError::UnauthorizedClient(
            "this application is suspended",
        ));
    }
    if app.partner_status == PartnerStatus::Suspended {
        return Err(ClientAuthError::UnauthorizedClient(
            "this application's partner organisation is suspended",
        ));
    }
    Ok(())
}

/// The keys in use, swapped as a whole when they change.
struct KeySet {
    signer: Option<SigningKey>,
    by_kid: HashMap<String, SigningKey>,
    jwks: Value,
}

impl KeySet {
    fn new(keys: Vec<SigningKey>) -> Self {
        // The newest active key signs (two can exist briefly after a race at first start).
        let signer = keys
            .iter()
            .rev()
            .find(|k| k.state == KeyState::Active)
            .cloned();
        let jwks = json!({ "keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>() });
        let by_kid = keys.into_iter().map(|k| (k.kid.clone(), k)).collect();
        Self {
            signer,
            by_kid,
            jwks,
        }
    }
}

/// What client authentication needs of one application, cached for [`CLIENT_CACHE_TTL`].
struct ClientRecord {
    app: Application,
    secrets: Vec<StoredSecret>,
    keys: crate::apps::client_keys::ClientKeys,
}

type ClientEntry = Arc<ClientRecord>;

pub struct TokenService {
    db: Database,
    settings: TokenSettings,
    sealer: KeySealer,
    keys: RwLock<Arc<KeySet>>,
    /// jti → expiry of revoked tokens that have not expired yet.
    revoked: RwLock<HashMap<String, UnixTime>>,
    revoked_seen_until: Mutex<UnixTime>,
    /// Keyed by the token text itself: hashing it for the map is cheaper than a SHA-256.
    verified: TtlCache<Box<str>, Arc<VerifiedToken>>,
    clients: TtlCache<String, ClientEntry>,
    /// Secret id → last use, written to the database in batches by [`TokenService::refresh`].
    pending_uses: Mutex<HashMap<String, UnixTime>>,
    /// Partners' identity providers and the remote JWK sets (see [`federation`]).
    federation: federation::Federation,
    /// DPoP proofs (RFC 9449), for the token endpoint and every gateway stage.
    dpop: dpop::DpopVerifier,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// Loads the keys (creating the first one on an empty database) and revocations.
    pub async fn start(
        db: Database,
        sealer: KeySealer,
        settings: TokenSettings,
    ) -> CoreResult<Self> {
        keys::ensure_active_key(&db, &sealer, settings.alg).await?;
        let service = Self {
            verified: TtlCache::new(settings.verify_cache_capacity, settings.verify_cache_ttl),
            clients: TtlCache::new(10_000, CLIENT_CACHE_TTL),
            keys: RwLock::new(Arc::new(KeySet::new(Vec::new()))),
            revoked: RwLock::new(HashMap::new()),
            revoked_seen_until: Mutex::new(0),
            pending_uses: Mutex::new(HashMap::new()),
            federation: federation::Federation::new(),
            dpop: dpop::DpopVerifier::from_sealer(&sealer)?,
            db,
            settings,
            sealer,
        };
        service.reload_keys().await?;
        service.reload_revocations().await?;
        service.reload_federation().await?;
        Ok(service)
    }

    /// The master key's sealer (for other secrets kept encrypted, e.g. webhook secrets).
    pub fn sealer(&self) -> &KeySealer {
        &self.sealer
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// The DPoP proof checker (nonces, replay cache) this process shares.
    pub fn dpop(&self) -> &dpop::DpopVerifier {
        &self.dpop
    }

    /// The admin console's "Rotate signing key" (`promote`: make the next key sign now): only
    /// for admins, audited, and this process's keys reloaded at once (others when they hear of it, or
    /// within 5 s).
    pub async fn rotate_keys(
        &self,
        ctx: &crate::identity::ActorContext,
        promote: bool,
    ) -> CoreResult<keys::RotationOutcome> {
        {
            let mut conn = self.db.pool().acquire().await?;
            crate::identity::require_admin(&mut conn, ctx).await?;
        }
        let outcome = keys::rotate(&self.db, &self.sealer, self.settings.alg, promote).await?;
        let (action, kid) = match &outcome {
            keys::RotationOutcome::NextKeyPublished { kid } => ("signing_key.published", kid),
            keys::RotationOutcome::AlreadyPending { kid } => ("signing_key.already_pending", kid),
            keys::RotationOutcome::Promoted { kid } => ("signing_key.promoted", kid),
        };
        let mut conn = self.db.pool().acquire().await?;
        crate::audit::record(
            &mut conn,
            ctx,
            action,
            Some(kid),
            None,
            &serde_json::json!({ "alg": self.settings.alg.as_str() }),
        )
        .await?;
        drop(conn);
        self.reload_keys().await?;
        crate::db::channel::publish(&self.db, &crate::changes::Change::SigningKeys).await;
        Ok(outcome)
    }

    /// Periodic upkeep, run every few seconds: rotation steps, key and revocation reloads (so
    /// changes made by the CLI or another replica arrive), and the batched `last_used_at` writes.
    pub async fn refresh(&self) -> CoreResult<()> {
        keys::advance_rotation(&self.db, clock::now(), self.settings.rotation_lead_secs).await?;
        self.reload_keys().await?;
        self.reload_revocations().await?;
        client_assertion::forget_expired(&self.db).await?;
        self.reload_federation().await?;
        self.flush_secret_uses().await
    }

    pub async fn reload_keys(&self) -> CoreResult<()> {
        let loaded = keys::load_published(&self.db, &self.sealer).await?;
        let set = Arc::new(KeySet::new(loaded));
        let previous = std::mem::replace(
            &mut *self.keys.write().unwrap_or_else(PoisonError::into_inner),
            set.clone(),
        );
        // A key that left the set (retired) must stop verifying at once, cached or not.
        if previous
            .by_kid
            .keys()
            .any(|kid| !set.by_kid.contains_key(kid))
        {
            self.verified.clear();
        }
        Ok(())
    }

    fn key_set(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The JWKS document: every key that can still verify a live token.
    pub fn jwks(&self) -> Value {
        self.key_set().jwks.clone()
    }

    /// The client's record, from the cache or the database. `Ok(None)`: no such client.
    async fn client_record(&self, client_id: &str) -> Result<Option<ClientEntry>, ClientAuthError> {
        if let Some(entry) = self.clients.get(client_id) {
            return Ok(Some(entry));
        }
        let unavailable = |e: crate::CoreError| {
            tracing::error!(error = %e, "client lookup failed");
            ClientAuthError::Unavailable
        };
        let Some((app, secrets)) = applications::load_client(&self.db, client_id)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let keys = crate::apps::client_keys::load_for_token_endpoint(&self.db, &app.id)
            .await
            .map_err(unavailable)?;
        let entry = Arc::new(ClientRecord { app, secrets, keys });
        self.clients.insert(client_id.to_owned(), entry.clone());
        Ok(Some(entry))
    }

    /// Checks client credentials. Secrets are compared in constant time against every live
    /// secret of the client; successful lookups are cached for [`CLIENT_CACHE_TTL`].
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &PlainSecret,
    ) -> Result<Application, ClientAuthError> {
        let Some(entry) = self.client_record(client_id).await? else {
            return Err(ClientAuthError::InvalidClient("unknown client_id"));
        };
        let now = clock::now();
        // Check every secret (no early exit) so timing does not tell which one matched.
        let mut matched: Option<&StoredSecret> = None;
        for stored in &entry.secrets {
            if stored.hash.verify(secret) && stored.expires_at.is_none_or(|t| t > now) {
                matched = Some(stored);
            }
        }
        let Some(stored) = matched else {
            return Err(ClientAuthError::InvalidClient("wrong client secret"));
        };
        // Switching to private_key_jwt revokes every secret; this holds if one ever survives.
        if entry.keys.method == crate::apps::client_keys::ClientAuthMethod::PrivateKeyJwtOnly {
            return Err(ClientAuthError::InvalidClient(
                "this application accepts private_key_jwt only",
            ));
        }
        self.pending_uses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(stored.id.clone(), now);
        standing(&entry.app)?;
        Ok(entry.app.clone())
    }

    /// Forgets cached client credentials (after a suspension or a secret revocation here).
    pub fn forget_client(&self, client_id: &str) {
        self.clients.remove(client_id);
    }

    /// Forgets every cached client (after a change whose applications are not all known here).
    pub fn forget_all_clients(&self) {
        self.clients.clear();
    }

    /// Issues a sandbox access token for `app`. `requested` absent means every approved scope.
    pub fn issue(
        &self,
        app: &Application,
        requested: Option<&Scopes>,
    ) -> Result<IssuedToken, IssueError> {
        self.issue_for(app, requested, Stage::Sandbox)
    }

    /// Issues an access token for `stage`. Production tokens need an approved organisation and
    /// an admin's production grant for the application.
    pub fn issue_for(
        &self,
        app: &Application,
        requested: Option<&Scopes>,
        stage: Stage,
    ) -> Result<IssuedToken, IssueError> {
        self.issue_bound(app, requested, stage, None)
    }

    /// Issues an access token for `stage`, bound to a key when `cnf` is given (a sender-
    /// constrained token: the gateway then demands proof of that key on every call).
    pub fn issue_bound(
        &self,
        app: &Application,
        requested: Option<&Scopes>,
        stage: Stage,
        cnf: Option<Confirmation>,
    ) -> Result<IssuedToken, IssueError> {
        if stage == Stage::Production {
            if app.partner_status != PartnerStatus::Approved {
                return Err(IssueError::NotAllowed(
                    "production tokens need an approved partner organisation",
                ));
            }
            if !app.production_access {
                return Err(IssueError::NotAllowed(
                    "this application has no production access; an administrator grants it",
                ));
            }
        }
        let scope = match requested {
            None => app.scopes.clone(),
            Some(requested) if requested.is_subset(&app.scopes) => requested.clone(),
            Some(requested) => {
                let missing: Vec<&str> = requested.missing_from(&app.scopes).collect();
                return Err(IssueError::InvalidScope(format!(
                    "scope not approved for this application: {}",
                    missing.join(" ")
                )));
            }
        };
        let keys = self.key_set();
        let signer = keys.signer.as_ref().ok_or(IssueError::NoSigningKey)?;
        let encoding = signer.encoding.as_ref().ok_or(IssueError::NoSigningKey)?;
        let now = clock::now();
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: app.client_id.clone(),
            aud: self.settings.audience_for(stage),
            exp: now + self.settings.ttl_secs,
            iat: now,
            nbf: now,
            jti: ids::new_id("tok"),
            client_id: app.client_id.clone(),
            scope: scope.to_string(),
            partner_id: app.partner_id.clone(),
            cnf,
        };
        let mut header = jsonwebtoken::Header::new(signer.alg.jwt_algorithm());
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(signer.kid.clone());
        let access_token = jsonwebtoken::encode(&header, &claims, encoding).map_err(|e| {
            tracing::error!(error = %e, kid = %signer.kid, "token signing failed");
            IssueError::Signing
        })?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.settings.ttl_secs,
            scope,
            jti: claims.jti,
        })
    }

    /// Revokes a token (RFC 7009) if it is one of ours, still valid, and belongs to `client`.
    /// Anything else is silently ignored, as the RFC asks. Returns whether a token was revoked.
    pub async fn revoke(&self, client: &Application, token: &str) -> CoreResult<bool> {
        let Ok(verified) = self.verify(token) else {
            return Ok(false);
        };
        if verified.claims.client_id != client.client_id {
            return Ok(false);
        }
        let claims = &verified.claims;
        let now = clock::now();
        sqlx::query(
            "INSERT INTO revoked_tokens (jti, client_id, revoked_at, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(&claims.jti)
        .bind(&claims.client_id)
        .bind(now)
        .bind(claims.exp)
        .execute(self.db.pool())
        .await?;
        self.note_revoked(claims.jti.clone(), claims.exp);
        crate::db::channel::publish(
            &self.db,
            &crate::changes::Change::TokenRevoked {
                jti: claims.jti.clone(),
                expires_at: claims.exp,
            },
        )
        .await;
        Ok(true)
    }

    /// Refuses the token `jti` from now on (a revocation made here or announced by another
    /// process); forgotten once it has expired anyway.
    pub fn note_revoked(&self, jti: String, expires_at: UnixTime) {
        self.revoked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(jti, expires_at);
    }

    pub(crate) fn is_revoked(&self, jti: &str) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(jti)
    }

    /// Picks up revocations made by other processes since the last look, and forgets expired ones.
    async fn reload_revocations(&self) -> CoreResult<()> {
        let since = *self
            .revoked_seen_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = clock::now();
        // Re-read a little overlap: a row committed late with an earlier timestamp is not missed.
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT jti, expires_at, revoked_at FROM revoked_tokens WHERE revoked_at >= $1 AND expires_at > $2")
                .bind(since - 5)
                .bind(now)
                .fetch_all(self.db.pool())
                .await?;
        let newest = rows.iter().map(|r| r.2).max().unwrap_or(since);
        {
            let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
            revoked.retain(|_, exp| *exp + i64::try_from(LEEWAY_SECS).unwrap_or(60) > now);
            for (jti, exp, _) in rows {
                revoked.insert(jti, exp);
            }
        }
        *self
            .revoked_seen_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = newest.max(since);
        Ok(())
    }

    /// Writes the coalesced `last_used_at` stamps; called by `refresh` and at shutdown.
    pub async fn flush_secret_uses(&self) -> CoreResult<()> {
        let uses: Vec<(String, UnixTime)> = {
            let mut pending = self
                .pending_uses
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            pending.drain().collect()
        };
        applications::record_last_use(&self.db, applications::Credential::ClientSecret, &uses).await
    }

    /// RFC 7662 introspection for `client`: only its own tokens are described; everything
    /// else is `{"active": false}`.
    pub fn introspect(&self, client: &Application, token: &str) -> Value {
        match self.verify(token) {
            Ok(verified) if verified.claims.client_id == client.client_id => {
                let c = &verified.claims;
                let bound = c.cnf.as_ref().is_some_and(|cnf| cnf.jkt.is_some());
                let mut described = json!({
                    "active": true,
                    "scope": c.scope,
                    "client_id": c.client_id,
                    "token_type": if bound { "DPoP" } else { "Bearer" },
                    "exp": c.exp,
                    "iat": c.iat,
                    "nbf": c.nbf,
                    "sub": c.sub,
                    "aud": c.aud,
                    "iss": c.iss,
                    "jti": c.jti,
                    "partner_id": c.partner_id,
                });
                // RFC 7662 §2.2 / RFC 9449 §6.2: the key the token is bound to.
                if let Some(cnf) = &c.cnf {
                    described["cnf"] = json!(cnf);
                }
                described
            }
            _ => json!({ "active": false }),
        }
    }

    /// Supported signing algorithms and scopes, for RFC 8414 metadata.
    pub fn published_algorithms(&self) -> Vec<&'static str> {
        let keys = self.key_set();
        let mut algs: HashSet<&'static str> =
            keys.by_kid.values().map(|k| k.alg.as_str()).collect();
        algs.insert(self.settings.alg.as_str());
        let mut algs: Vec<_> = algs.into_iter().collect();
        algs.sort_unstable();
        algs
    }

    pub(crate) fn verify_cache(&self) -> &TtlCache<Box<str>, Arc<VerifiedToken>> {
        &self.verified
    }
}

#[cfg(any(test, feature = "test-support"))]
impl TokenService {
    /// Signs any header and claims with the active key: attack tests build tokens that are
    /// validly signed yet wrong in one respect. Not compiled into the product.
    pub fn sign_raw_for_tests(&self, header: &jsonwebtoken::Header, claims: &Value) -> String {
        let keys = self.key_set();
        let signer = keys.signer.as_ref().expect("an active key");
        let mut header = header.clone();
        header.kid.get_or_insert_with(|| signer.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            signer.encoding.as_ref().expect("signing half"),
        )
        .expect("sign")
    }

    /// The kid that signs right now.
    pub fn active_kid_for_tests(&self) -> String {
        self.key_set()
            .signer
            .as_ref()
            .expect("an active key")
            .kid
            .clone()
    }
}
