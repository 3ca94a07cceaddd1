//! The token server's HTTP face on the sandbox front: RFC 6749 §4.4 token endpoint, RFC 7009
//! revocation, RFC 7662 introspection, the JWKS and RFC 8414 metadata.

use crate::SandboxState;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portico_core::apps::applications::Application;
use portico_core::authz::scopes::Scopes;
use portico_core::secret::PlainSecret;
use portico_core::tokens::client_assertion::CLIENT_ASSERTION_TYPE;
use portico_core::tokens::federation::JWT_BEARER_GRANT;
use portico_core::tokens::jwk::ForeignAlg;
use portico_core::tokens::mtls::{self, ClientCertificate};
use portico_core::tokens::{
    ClientAuthError, Confirmation, IssueError, Stage, keys::JWKS_MAX_AGE_SECS,
};
use serde_json::json;
use std::collections::HashMap;

pub fn routes() -> Router<SandboxState> {
    Router::new()
        .route("/oauth2/token", post(token))
        .route("/oauth2/revoke", post(revoke))
        .route("/oauth2/introspect", post(introspect))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/oauth-authorization-server", get(metadata))
}

/// An RFC 6749 §5.2 error response.
#[derive(Debug)]
pub struct OAuthError {
    code: &'static str,
    description: String,
    /// RFC 9449 §8: a fresh server nonce for the client's next proof.
    dpop_nonce: Option<HeaderValue>,
}

impl OAuthError {
    pub(crate) fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            dpop_nonce: None,
        }
    }

    /// A refused DPoP proof (`invalid_dpop_proof`, `use_dpop_nonce`), with a fresh nonce.
    fn dpop(error: &portico_core::tokens::dpop::DpopError, state: &SandboxState) -> Self {
        Self {
            dpop_nonce: crate::dpop::nonce_header(&state.tokens),
            ..Self::new(error.code(), error.to_string())
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    fn invalid_client() -> Self {
        Self::new("invalid_client", "client authentication failed")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            // RFC 6749 §4.1.2.1's code for a server that cannot answer now.
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = Json(json!({ "error": self.code, "error_description": self.description }));
        let mut response = no_store((status, body).into_response());
        if let Some(nonce) = self.dpop_nonce {
            response
                .headers_mut()
                .insert(&crate::dpop::DPOP_NONCE, nonce);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="portico", charset="UTF-8""#),
            );
        }
        response
    }
}

/// RFC 6749 §5.1: token responses and their errors are never cached.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Form parameters; a repeated parameter is an error (RFC 6749 §3.1, §3.2).
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let mut params = HashMap::new();
        for (key, value) in form_urlencoded::parse(body) {
            if params
                .insert(key.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {key:?} is repeated"
                )));
            }
        }
        Ok(Self(params))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// How a request authenticates its client: a secret, or a signed assertion (private_key_jwt).
enum PresentedClient<'f> {
    Secret {
        client_id: String,
        secret: PlainSecret,
        method: &'static str,
    },
    Assertion {
        client_id: Option<&'f str>,
        assertion: &'f str,
    },
}

/// The request's one client authentication method: `client_secret_basic`,
/// `client_secret_post` or `private_key_jwt` (RFC 7523 §2.2).
fn presented_client<'f>(
    headers: &HeaderMap,
    form: &'f Form,
) -> Result<PresentedClient<'f>, OAuthError> {
    let assertion_type = form.get("client_assertion_type");
    let assertion = form.get("client_assertion");
    if assertion_type.is_none() && assertion.is_none() {
        let (client_id, secret, method) = client_credentials(headers, form)?;
        return Ok(PresentedClient::Secret {
            client_id,
            secret,
            method,
        });
    }
    if headers.contains_key(header::AUTHORIZATION) || form.get("client_secret").is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method: a client assertion or a client secret, not both",
        ));
    }
    if assertion_type != Some(CLIENT_ASSERTION_TYPE) {
        return Err(OAuthError::invalid_request(format!(
            "client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
        )));
    }
    let assertion = assertion
        .filter(|a| !a.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?;
    Ok(PresentedClient::Assertion {
        client_id: form.get("client_id"),
        assertion,
    })
}

/// Client credentials from `client_secret_basic` or `client_secret_post`, never both.
fn client_credentials(
    headers: &HeaderMap,
    form: &Form,
) -> Result<(String, PlainSecret, &'static str), OAuthError> {
    let in_body = form.get("client_secret").is_some();
    match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            if in_body {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method: HTTP Basic or client_secret in the body, not both",
                ));
            }
            let value = value.to_str().map_err(|_| OAuthError::invalid_client())?;
            let (scheme, encoded) = value
                .split_once(' ')
                .ok_or_else(OAuthError::invalid_client)?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::invalid_client());
            }
            let decoded = STANDARD
                .decode(encoded.trim())
                .map_err(|_| OAuthError::invalid_client())?;
            let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(OAuthError::invalid_client)?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
            let id = form_decode(id);
            if form.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            Ok((
                id,
                PlainSecret::from_presented(form_decode(secret)),
                "client_secret_basic",
            ))
        }
        None => match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => Ok((
                id.to_owned(),
                PlainSecret::from_presented(secret),
                "client_secret_post",
            )),
            _ => Err(OAuthError::invalid_client()),
        },
    }
}

fn form_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Authenticates the request's client. `endpoint` is the path being called: an assertion's
/// `aud` may be the issuer, the token endpoint or this endpoint's URL.
pub(crate) async fn authenticate(
    state: &SandboxState,
    headers: &HeaderMap,
    form: &Form,
    endpoint: &str,
) -> Result<Application, OAuthError> {
    let (result, client_id, method) = match presented_client(headers, form)? {
        PresentedClient::Secret {
            client_id,
            secret,
            method,
        } => {
            let result = state.tokens.authenticate_client(&client_id, &secret).await;
            (result, Some(client_id), method)
        }
        PresentedClient::Assertion {
            client_id,
            assertion,
        } => {
            let base = &state.public_url;
            let audiences = [
                state.tokens.settings().issuer.clone(),
                format!("{base}/oauth2/token"),
                format!("{base}{endpoint}"),
            ];
            let result = state
                .tokens
                .authenticate_assertion(client_id, assertion, &audiences)
                .await;
            let named = result.as_ref().ok().map(|app| app.client_id.clone());
            (
                result,
                named.or(client_id.map(str::to_owned)),
                "private_key_jwt",
            )
        }
    };
    result.map_err(|e| {
        // The reason is logged; the client id is not secret, the presented secret never appears.
        let client_id = client_id.as_deref().unwrap_or("-");
        tracing::warn!(%client_id, method, reason = %e, "client authentication refused");
        match e {
            ClientAuthError::InvalidClient(_) => OAuthError::invalid_client(),
            ClientAuthError::InvalidAssertion(why) => OAuthError::new(
                "invalid_client",
                format!("client authentication failed: {why}"),
            ),
            ClientAuthError::UnauthorizedClient(why) => OAuthError::new("unauthorized_client", why),
            ClientAuthError::Unavailable => OAuthError::new(
                "temporarily_unavailable",
                "the token server cannot reach its database; retry in a few seconds",
            ),
        }
    })
}

async fn token(
    State(state): State<SandboxState>,
    certificate: Option<axum::Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let certificate = certificate.map(|c| c.0);
    token_response(&state, &headers, &body, certificate.as_ref())
        .await
        .map_or_else(IntoResponse::into_response, no_store)
}

async fn token_response(
    state: &SandboxState,
    headers: &HeaderMap,
    body: &[u8],
    certificate: Option<&ClientCertificate>,
) -> Result<Response, OAuthError> {
    let form = Form::parse(headers, body)?;
    // RFC 7523: a partner identity provider's assertion; client authentication optional.
    if form.get("grant_type") == Some(JWT_BEARER_GRANT) {
        return crate::federation::exchange(state, headers, &form).await;
    }
    let (app, cnf) = if certificate_authentication(headers, &form) {
        authenticate_by_certificate(state, &form, certificate).await?
    } else {
        let app = authenticate(state, headers, &form, "/oauth2/token").await?;
        let cnf = certificate_binding(state, &app, certificate).await?;
        (app, cnf)
    };
    match form.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!(
                    "grant_type {other:?} is not supported; use client_credentials or {JWT_BEARER_GRANT}"
                ),
            ));
        }
    }
    let requested = match form.get("scope").filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(text) => {
            Some(Scopes::parse(text).map_err(|e| OAuthError::new("invalid_scope", e.to_string()))?)
        }
    };
    let stage = requested_stage(state, &form)?;
    let token_url = format!("{}/oauth2/token", state.public_url);
    let dpop = crate::dpop::token_binding(&state.tokens, headers, &token_url, app.dpop_required)
        .map_err(|e| {
            tracing::warn!(client_id = %app.client_id, reason = %e, "DPoP proof refused");
            OAuthError::dpop(&e, state)
        })?;
    let token_type = if dpop.is_some() { "DPoP" } else { "Bearer" };
    // Bound to the DPoP key, the client certificate, or both (each is checked at the gateway).
    let cnf = match (cnf, dpop) {
        (Some(certificate), Some(key)) => Some(Confirmation {
            jkt: key.jkt,
            x5t_s256: certificate.x5t_s256,
        }),
        (certificate, key) => certificate.or(key),
    };
    let issued = state
        .tokens
        .issue_bound(&app, requested.as_ref(), stage, cnf)
        .map_err(|e| match e {
            IssueError::InvalidScope(why) => {
                tracing::warn!(client_id = %app.client_id, reason = %why, "token refused");
                OAuthError::new("invalid_scope", why)
            }
            IssueError::NotAllowed(why) => {
                tracing::warn!(client_id = %app.client_id, reason = %why, "token refused");
                OAuthError::new("unauthorized_client", why)
            }
            IssueError::NoSigningKey | IssueError::Signing => {
                tracing::error!(error = %e, "cannot issue tokens");
                OAuthError::new(
                    "temporarily_unavailable",
                    "tokens cannot be issued right now",
                )
            }
        })?;
    tracing::info!(client_id = %app.client_id, partner_id = %app.partner_id, jti = %issued.jti, scope = %issued.scope, "token issued");
    Ok(Json(json!({
        "access_token": issued.access_token,
        "token_type": token_type,
        "expires_in": issued.expires_in,
        "scope": issued.scope.to_string(),
    }))
    .into_response())
}

/// The stage a token is for, from `audience` (or the RFC 8707 `resource` indicator): absent or
/// the sandbox audience → sandbox; the production audience → production; anything else is
/// `invalid_target`.
pub(crate) fn requested_stage(state: &SandboxState, form: &Form) -> Result<Stage, OAuthError> {
    let wanted = form
        .get("audience")
        .or_else(|| form.get("resource"))
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Some(wanted) = wanted else {
        return Ok(Stage::Sandbox);
    };
    let settings = state.tokens.settings();
    [Stage::Sandbox, Stage::Production]
        .into_iter()
        .find(|stage| settings.audience_for(*stage) == wanted)
        .ok_or_else(|| {
            OAuthError::new(
                "invalid_target",
                format!(
                    "unknown audience {wanted:?}; use {:?} (sandbox) or {:?} (production)",
                    settings.audience_for(Stage::Sandbox),
                    settings.audience_for(Stage::Production)
                ),
            )
        })
}

async fn revoke(State(state): State<SandboxState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let form = Form::parse(&headers, &body)?;
        let app = authenticate(&state, &headers, &form, "/oauth2/revoke").await?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        match state.tokens.revoke(&app, token).await {
            Ok(revoked) => {
                tracing::info!(client_id = %app.client_id, revoked, "revocation request");
            }
            Err(e) => {
                tracing::error!(error = %e, "revocation failed");
                return Err(OAuthError::new(
                    "temporarily_unavailable",
                    "revocation failed; try again",
                ));
            }
        }
        // RFC 7009 §2.2: 200 whether or not the token was valid.
        Ok(StatusCode::OK.into_response())
    }
    .await;
    result.map_or_else(IntoResponse::into_response, no_store)
}

async fn introspect(
    State(state): State<SandboxState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let form = Form::parse(&headers, &body)?;
        let app = authenticate(&state, &headers, &form, "/oauth2/introspect").await?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        Ok::<_, OAuthError>(Json(state.tokens.introspect(&app, token)).into_response())
    }
    .await;
    result.map_or_else(IntoResponse::into_response, no_store)
}

async fn jwks(State(state): State<SandboxState>) -> Response {
    let cache = format!("public, max-age={JWKS_MAX_AGE_SECS}");
    let mut response = Json(state.tokens.jwks()).into_response();
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

async fn metadata(State(state): State<SandboxState>) -> Response {
    let base = &state.public_url;
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    let mut token_auth_methods = auth_methods.to_vec();
    if state.client_certificates {
        token_auth_methods.extend([mtls::TLS_CLIENT_AUTH, mtls::SELF_SIGNED_TLS_CLIENT_AUTH]);
    }
    let mut document = json!({
        "issuer": state.tokens.settings().issuer,
        "token_endpoint": format!("{base}/oauth2/token"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "introspection_endpoint": format!("{base}/oauth2/introspect"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials", JWT_BEARER_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": token_auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        // private_key_jwt assertions (RFC 8414 §2): asymmetric algorithms only.
        "token_endpoint_auth_signing_alg_values_supported": ForeignAlg::names(),
        "revocation_endpoint_auth_signing_alg_values_supported": ForeignAlg::names(),
        "introspection_endpoint_auth_signing_alg_values_supported": ForeignAlg::names(),
        // The scopes the served models declare, and Portico's own.
        "scopes_supported": state.gateway.catalog.scopes().names().collect::<Vec<_>>(),
        "access_token_signing_alg_values_supported": state.tokens.published_algorithms(),
        "dpop_signing_alg_values_supported": ForeignAlg::names(),
    });
    // RFC 8705 §3.3. Mutual TLS runs on this same listener, so no `mtls_endpoint_aliases` (§5).
    if state.client_certificates {
        document["tls_client_certificate_bound_access_tokens"] = json!(true);
    }
    Json(document).into_response()
}

/// RFC 8705 §2: the request names its client and carries no other credentials, so the
/// connection's certificate authenticates it.
fn certificate_authentication(headers: &HeaderMap, form: &Form) -> bool {
    !headers.contains_key(header::AUTHORIZATION)
        && form.get("client_secret").is_none()
        && form.get("client_assertion").is_none()
        && form.get("client_id").is_some()
}

async fn authenticate_by_certificate(
    state: &SandboxState,
    form: &Form,
    certificate: Option<&ClientCertificate>,
) -> Result<
    (
        portico_core::apps::applications::Application,
        Option<Confirmation>,
    ),
    OAuthError,
> {
    let client_id = form.get("client_id").unwrap_or_default();
    match mtls::authenticate(&state.db, client_id, certificate).await {
        Ok((app, cnf)) => Ok((app, Some(cnf))),
        Err(e) => {
            tracing::warn!(%client_id, method = "mutual TLS", reason = %e, "client authentication refused");
            Err(match e {
                ClientAuthError::InvalidClient(_) | ClientAuthError::InvalidAssertion(_) => {
                    OAuthError::invalid_client()
                }
                ClientAuthError::UnauthorizedClient(why) => {
                    OAuthError::new("unauthorized_client", why)
                }
                ClientAuthError::Unavailable => OAuthError::new(
                    "temporarily_unavailable",
                    "the token server cannot reach its database; retry in a few seconds",
                ),
            })
        }
    }
}

/// RFC 8705 §3: a secret-authenticated client presenting a certificate gets a token bound to
/// it when its application asked for bound tokens.
async fn certificate_binding(
    state: &SandboxState,
    app: &portico_core::apps::applications::Application,
    certificate: Option<&ClientCertificate>,
) -> Result<Option<Confirmation>, OAuthError> {
    mtls::binding_for(&state.db, app, certificate)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "mutual-TLS settings lookup failed");
            OAuthError::new(
                "temporarily_unavailable",
                "the token server cannot reach its database; retry in a few seconds",
            )
        })
}
