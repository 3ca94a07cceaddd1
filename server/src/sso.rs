//! Optional single sign-on for the portal: the OAuth 2.0 authorization code flow with PKCE,
//! `state` and `nonce` (through the oauth2 crate) against an OpenID provider found by its
//! discovery document, and verification of the ID token it returns.
//!
//! The web layer calls [`SsoClient::discover`] once at start-up, [`SsoClient::start`] on
//! `GET /signin/sso` (redirect to the URL, keep the [`PendingSignIn`] in the server-side session)
//! and [`SsoClient::finish`] on `GET /signin/sso/callback?code=…&state=…`.
//!
//! Outbound HTTP goes only to the configured issuer's discovery document and the token and JWKS
//! endpoints it names, with a 10 s timeout and no redirects followed. Tokens, codes, verifiers
//! and secrets are never logged; [`SsoError`] messages are safe to show to a user and each
//! failure's cause is logged once, at warn level.

mod id_token;
mod outbound;

/// An HTTP client for the portal's own calls to the sandbox ("Try it"): the same TLS setup as
/// single sign-on, no redirects followed, a 10 s timeout.
pub fn outbound_client() -> Result<reqwest::Client, String> {
    outbound::client(false).map_err(|e| e.to_string())
}

pub use id_token::IdTokenProblem;
pub(crate) use outbound::tls_config;

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse as _,
    TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;
use url::Url;

/// How long a started sign-in may take before its callback is refused.
pub const PENDING_TTL: Duration = Duration::from_secs(600);

/// The OpenID client's secret. Printed by neither `Debug` nor `Display`.
#[derive(Clone)]
pub struct OidcClientSecret(String);

impl OidcClientSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OidcClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OidcClientSecret(<redacted>)")
    }
}

/// `PORTICO_OIDC_ISSUER`, `PORTICO_OIDC_CLIENT_ID` and `PORTICO_OIDC_CLIENT_SECRET`.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: OidcClientSecret,
}

/// A user signed in by the provider, from a verified ID token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoIdentity {
    /// The provider's issuer identifier; (`issuer`, `subject`) is the stable key of the user.
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// What the session keeps between [`SsoClient::start`] and [`SsoClient::finish`]. Its `Debug`
/// shows none of the values.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    state: String,
    nonce: String,
    pkce_verifier: String,
    /// Unix seconds.
    created_at: i64,
}

impl PendingSignIn {
    /// True once the sign-in is older than [`PENDING_TTL`] (or claims to come from the future).
    pub fn is_expired(&self) -> bool {
        let age = now() - self.created_at;
        !(-60..=PENDING_TTL.as_secs() as i64).contains(&age)
    }
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Single sign-on failures. `Display` is a sentence for the user; the cause (in the fields) is
/// for the logs and never holds a token, code or secret.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The provider could not be reached, or answered something unusable.
    #[error("Single sign-on is unavailable right now; try again later.")]
    Unavailable { cause: String },
    /// The provider's metadata or this client's registration does not fit (wrong issuer, no
    /// code flow, no usable algorithm, client secret refused, …): an administrator must act.
    #[error("Single sign-on is not set up correctly; please tell the portal's administrators.")]
    Misconfigured { cause: String },
    /// The sign-in is too old, its state does not match, or the provider says the code is no
    /// longer valid.
    #[error("The sign-in was cancelled or expired; try again.")]
    Expired { cause: String },
    /// The provider refused the code exchange for another reason.
    #[error("The identity provider refused the sign-in; try again.")]
    Refused { cause: String },
    /// The ID token failed verification.
    #[error("The identity provider's answer could not be verified, so the sign-in was refused.")]
    InvalidIdToken(IdTokenProblem),
}

impl SsoError {
    /// The cause, for logs.
    pub fn cause(&self) -> String {
        match self {
            SsoError::Unavailable { cause }
            | SsoError::Misconfigured { cause }
            | SsoError::Expired { cause }
            | SsoError::Refused { cause } => cause.clone(),
            SsoError::InvalidIdToken(problem) => format!("ID token refused: {problem}"),
        }
    }
}

/// The token response's one extra field. `Debug` hides the token.
#[derive(Clone, Serialize, Deserialize)]
struct IdTokenField {
    id_token: Option<String>,
}

impl fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdTokenField(<redacted>)")
    }
}

impl ExtraTokenFields for IdTokenField {}

type OidcTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The parts of the discovery document Portico uses (OpenID Connect Discovery 1.0 §3).
#[derive(Deserialize)]
struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks_uri: Url,
    #[serde(default)]
    response_types_supported: Vec<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    code_challenge_methods_supported: Option<Vec<String>>,
    scopes_supported: Option<Vec<String>>,
}

/// A discovered provider, ready to run sign-ins. Cheap to clone.
#[derive(Clone)]
pub struct SsoClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for SsoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoClient")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

struct Inner {
    issuer: String,
    client_id: String,
    oauth: OAuthClient,
    scopes: Vec<Scope>,
    http: reqwest::Client,
    jwks_uri: Url,
    /// Asymmetric algorithms the provider advertises for ID tokens.
    algorithms: Vec<Algorithm>,
    keys: tokio::sync::RwLock<Arc<Vec<Jwk>>>,
    /// Serialises JWKS refetches so a burst of sign-ins after a key rotation fetches once.
    refetch: tokio::sync::Mutex<()>,
}

impl SsoClient {
    /// Fetches and checks the discovery document (its `issuer` must equal the configured
    /// issuer) and the JWKS.
    pub async fn discover(
        settings: &OidcSettings,
        redirect_url: Url,
    ) -> Result<SsoClient, SsoError> {
        Self::discover_inner(settings, redirect_url)
            .await
            .inspect_err(|e| {
                tracing::warn!(issuer = %settings.issuer, cause = %e.cause(), "single sign-on discovery failed");
            })
    }

    async fn discover_inner(
        settings: &OidcSettings,
        redirect_url: Url,
    ) -> Result<SsoClient, SsoError> {
        let misconfigured = |cause: String| SsoError::Misconfigured { cause };
        let https = settings.issuer.scheme() == "https";
        let http = outbound::client(https).map_err(|e| misconfigured(e.to_string()))?;
        let discovery_url = discovery_url(&settings.issuer);
        let document = outbound::get_json(&http, &discovery_url)
            .await
            .map_err(|cause| SsoError::Unavailable { cause })?;
        let metadata: ProviderMetadata = serde_json::from_value(document)
            .map_err(|e| misconfigured(format!("discovery document {discovery_url}: {e}")))?;

        if !same_issuer(&metadata.issuer, &settings.issuer) {
            return Err(misconfigured(format!(
                "the discovery document names issuer {:?}, not the configured {:?}",
                metadata.issuer,
                settings.issuer.as_str()
            )));
        }
        for (what, endpoint) in [
            ("authorization_endpoint", &metadata.authorization_endpoint),
            ("token_endpoint", &metadata.token_endpoint),
            ("jwks_uri", &metadata.jwks_uri),
        ] {
            let scheme_ok = match endpoint.scheme() {
                "https" => true,
                "http" => !https,
                _ => false,
            };
            if !scheme_ok || endpoint.host_str().is_none() {
                return Err(misconfigured(format!(
                    "{what} {endpoint} must be an absolute {} URL",
                    if https { "https" } else { "http(s)" }
                )));
            }
        }
        if !metadata
            .response_types_supported
            .iter()
            .any(|t| t == "code")
        {
            return Err(misconfigured(
                "the provider does not support the authorization code flow (response_type code)"
                    .into(),
            ));
        }
        if let Some(methods) = &metadata.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(misconfigured(
                "the provider does not support PKCE with S256".into(),
            ));
        }
        // RFC 8414 / Discovery: absent means client_secret_basic only.
        let auth_methods = metadata
            .token_endpoint_auth_methods_supported
            .clone()
            .unwrap_or_else(|| vec!["client_secret_basic".into()]);
        let auth_type = if auth_methods.iter().any(|m| m == "client_secret_basic") {
            AuthType::BasicAuth
        } else if auth_methods.iter().any(|m| m == "client_secret_post") {
            AuthType::RequestBody
        } else {
            return Err(misconfigured(format!(
                "the token endpoint supports neither client_secret_basic nor client_secret_post (only {auth_methods:?})"
            )));
        };
        // The field is required; RS256 is what the specification makes the default.
        let advertised = if metadata.id_token_signing_alg_values_supported.is_empty() {
            vec!["RS256".to_owned()]
        } else {
            metadata.id_token_signing_alg_values_supported.clone()
        };
        let algorithms: Vec<Algorithm> = id_token::ASYMMETRIC
            .iter()
            .filter(|(name, _)| advertised.iter().any(|a| a == name))
            .map(|(_, alg)| *alg)
            .collect();
        if algorithms.is_empty() {
            return Err(misconfigured(format!(
                "the provider signs ID tokens only with {advertised:?}; Portico accepts RS*, PS*, ES256, ES384 and EdDSA"
            )));
        }
        let scopes = ["openid", "email", "profile"]
            .into_iter()
            .filter(|scope| {
                *scope == "openid"
                    || metadata
                        .scopes_supported
                        .as_ref()
                        .is_none_or(|supported| supported.iter().any(|s| s == scope))
            })
            .map(|scope| Scope::new(scope.to_owned()))
            .collect();

        let keys = fetch_keys(&http, &metadata.jwks_uri).await?;

        let oauth = oauth2::Client::new(ClientId::new(settings.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                settings.client_secret.expose().to_owned(),
            ))
            .set_auth_uri(AuthUrl::from_url(metadata.authorization_endpoint))
            .set_token_uri(TokenUrl::from_url(metadata.token_endpoint))
            .set_redirect_uri(RedirectUrl::from_url(redirect_url))
            .set_auth_type(auth_type);

        tracing::info!(issuer = %metadata.issuer, keys = keys.len(), "single sign-on provider discovered");
        Ok(SsoClient {
            inner: Arc::new(Inner {
                issuer: metadata.issuer,
                client_id: settings.client_id.clone(),
                oauth,
                scopes,
                http,
                jwks_uri: metadata.jwks_uri,
                algorithms,
                keys: tokio::sync::RwLock::new(Arc::new(keys)),
                refetch: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The provider's issuer identifier, as its discovery document states it.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The URL to send the browser to, and what must be kept in the session until the callback.
    pub fn start(&self) -> (Url, PendingSignIn) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random_len(32).into_secret();
        let nonce = CsrfToken::new_random_len(32).into_secret();
        let (url, _) = self
            .inner
            .oauth
            .authorize_url(|| CsrfToken::new(state.clone()))
            .add_scopes(self.inner.scopes.iter().cloned())
            .add_extra_param("nonce", nonce.clone())
            .set_pkce_challenge(challenge)
            .url();
        let pending = PendingSignIn {
            state,
            nonce,
            pkce_verifier: verifier.into_secret(),
            created_at: now(),
        };
        (url, pending)
    }

    /// Checks the state (constant time) and age of the sign-in, exchanges the code with the PKCE
    /// verifier and verifies the ID token.
    pub async fn finish(
        &self,
        pending: PendingSignIn,
        code: &str,
        state: &str,
    ) -> Result<SsoIdentity, SsoError> {
        self.finish_inner(pending, code, state)
            .await
            .inspect_err(|e| {
                tracing::warn!(issuer = %self.inner.issuer, cause = %e.cause(), "single sign-on refused");
            })
    }

    async fn finish_inner(
        &self,
        pending: PendingSignIn,
        code: &str,
        state: &str,
    ) -> Result<SsoIdentity, SsoError> {
        if !bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())) {
            return Err(SsoError::Expired {
                cause: "the callback's state does not match the session's".into(),
            });
        }
        if pending.is_expired() {
            return Err(SsoError::Expired {
                cause: format!(
                    "the sign-in started more than {} s ago",
                    PENDING_TTL.as_secs()
                ),
            });
        }
        if code.is_empty() || code.len() > 4096 {
            return Err(SsoError::Expired {
                cause: "the callback has no usable code".into(),
            });
        }

        let http = self.inner.http.clone();
        let send = move |request| {
            let http = http.clone();
            async move { outbound::execute(&http, request).await }
        };
        let response = self
            .inner
            .oauth
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&send)
            .await
            .map_err(token_error)?;
        if !matches!(response.token_type(), BasicTokenType::Bearer) {
            return Err(SsoError::Refused {
                cause: "the token response's token_type is not Bearer".into(),
            });
        }
        let token = response
            .extra_fields()
            .id_token
            .as_deref()
            .ok_or(SsoError::InvalidIdToken(IdTokenProblem::Missing))?;
        let claims = self
            .verify_id_token(token, &pending.nonce)
            .await
            .map_err(SsoError::InvalidIdToken)?;
        Ok(SsoIdentity {
            issuer: claims.iss,
            subject: claims.sub,
            email: claims.email.filter(|e| !e.is_empty()),
            email_verified: id_token::truthy(claims.email_verified.as_ref()),
            name: claims.name.filter(|n| !n.is_empty()),
        })
    }

    async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<id_token::IdClaims, IdTokenProblem> {
        let parsed = id_token::parse_header(token, &self.inner.algorithms)?;
        let expected = id_token::Expected {
            issuer: &self.inner.issuer,
            client_id: &self.inner.client_id,
            nonce,
            now: now(),
        };
        let keys = Arc::clone(&*self.inner.keys.read().await);
        let found = id_token::candidates(&keys, &parsed);
        if !found.is_empty() {
            return id_token::verify(token, &parsed, &found, &expected);
        }
        // An unknown key: the provider may have rotated. Refetch once, then decide.
        let keys = self.refetch_keys(&keys).await?;
        let found = id_token::candidates(&keys, &parsed);
        if found.is_empty() {
            return Err(IdTokenProblem::UnknownKey(parsed.kid));
        }
        id_token::verify(token, &parsed, &found, &expected)
    }

    /// Fetches the JWKS again unless another task already did since `seen` was read.
    async fn refetch_keys(&self, seen: &Arc<Vec<Jwk>>) -> Result<Arc<Vec<Jwk>>, IdTokenProblem> {
        let _guard = self.inner.refetch.lock().await;
        let current = Arc::clone(&*self.inner.keys.read().await);
        if !Arc::ptr_eq(&current, seen) {
            return Ok(current);
        }
        match fetch_keys(&self.inner.http, &self.inner.jwks_uri).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *self.inner.keys.write().await = Arc::clone(&keys);
                Ok(keys)
            }
            Err(e) => {
                tracing::warn!(cause = %e.cause(), "refetching the provider's JWKS failed");
                Ok(current)
            }
        }
    }
}

async fn fetch_keys(http: &reqwest::Client, jwks_uri: &Url) -> Result<Vec<Jwk>, SsoError> {
    let document = outbound::get_json(http, jwks_uri)
        .await
        .map_err(|cause| SsoError::Unavailable { cause })?;
    let keys = id_token::parse_jwks(&document).map_err(|cause| SsoError::Misconfigured {
        cause: format!("{jwks_uri}: {cause}"),
    })?;
    if keys.is_empty() {
        return Err(SsoError::Misconfigured {
            cause: format!("{jwks_uri} holds no usable signature key"),
        });
    }
    Ok(keys)
}

fn token_error<E: std::error::Error>(error: RequestTokenError<E, BasicErrorResponse>) -> SsoError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let cause = format!("token endpoint: {response}");
            match response.error() {
                BasicErrorResponseType::InvalidClient
                | BasicErrorResponseType::UnauthorizedClient => SsoError::Misconfigured { cause },
                BasicErrorResponseType::InvalidGrant => SsoError::Expired { cause },
                _ => SsoError::Refused { cause },
            }
        }
        RequestTokenError::Request(e) => SsoError::Unavailable {
            cause: format!("token endpoint: {e}"),
        },
        // The body may hold tokens: never log it, only the parser's message.
        RequestTokenError::Parse(e, _body) => SsoError::Unavailable {
            cause: format!("token endpoint answered unparsable JSON at {}", e.path()),
        },
        RequestTokenError::Other(message) => SsoError::Unavailable {
            cause: format!("token endpoint: {message}"),
        },
    }
}

/// `{issuer}/.well-known/openid-configuration` (Discovery §4: appended to the issuer's path).
fn discovery_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = format!(
        "{}/.well-known/openid-configuration",
        issuer.path().trim_end_matches('/')
    );
    url.set_path(&path);
    url
}

/// The issuer in the discovery document must be the configured one, character for character;
/// the only tolerance is the "/" that URL parsing adds to a bare origin (`https://idp.example`).
fn same_issuer(discovered: &str, configured: &Url) -> bool {
    discovered == configured.as_str()
        || (configured.path() == "/"
            && configured.query().is_none()
            && discovered == configured.as_str().trim_end_matches('/'))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests;
