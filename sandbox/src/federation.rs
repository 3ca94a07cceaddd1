//! The token endpoint's RFC 7523 §2.1 grant: a partner identity provider's JWT
//! (`assertion`) exchanged for a Portico access token of the application it maps to. The
//! checks live in [`portico_core::tokens::federation`]; this maps the form and the errors.

use crate::SandboxState;
use crate::oauth::{Form, OAuthError, authenticate, requested_stage};
use axum::Json;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use portico_core::authz::scopes::Scopes;
use portico_core::tokens::IssueError;
use portico_core::tokens::federation::FederationError;
use serde_json::json;

/// Whether the request carries client credentials (then they must be valid, and the
/// assertion must map to that client).
fn presents_client_credentials(headers: &HeaderMap, form: &Form) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || form.get("client_secret").is_some()
        || form.get("client_assertion").is_some()
}

pub(crate) async fn exchange(
    state: &SandboxState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, OAuthError> {
    let assertion = form
        .get("assertion")
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            OAuthError::invalid_request("assertion is required for the jwt-bearer grant")
        })?;
    let client = if presents_client_credentials(headers, form) {
        Some(authenticate(state, headers, form, "/oauth2/token").await?)
    } else {
        None
    };
    let requested = match form.get("scope").filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(text) => {
            Some(Scopes::parse(text).map_err(|e| OAuthError::new("invalid_scope", e.to_string()))?)
        }
    };
    let stage = requested_stage(state, form)?;
    // A client_id sent only to identify (no credentials) must name the same application.
    let client_id = client
        .as_ref()
        .map(|c| c.client_id.as_str())
        .or_else(|| form.get("client_id"));
    let (app, issued) = state
        .tokens
        .exchange_assertion(assertion, client_id, requested.as_ref(), stage)
        .await
        .map_err(|e| {
            tracing::warn!(reason = %e, "identity provider assertion refused");
            match e {
                FederationError::InvalidGrant(why) => OAuthError::new("invalid_grant", why),
                FederationError::UnauthorizedClient(why) => {
                    OAuthError::new("unauthorized_client", why)
                }
                FederationError::Unavailable(why) => {
                    OAuthError::new("temporarily_unavailable", why)
                }
                FederationError::Issue(IssueError::InvalidScope(why)) => {
                    OAuthError::new("invalid_scope", why)
                }
                FederationError::Issue(IssueError::NotAllowed(why)) => {
                    OAuthError::new("unauthorized_client", why)
                }
                FederationError::Issue(IssueError::NoSigningKey | IssueError::Signing) => {
                    OAuthError::new(
                        "temporarily_unavailable",
                        "tokens cannot be issued right now",
                    )
                }
            }
        })?;
    tracing::info!(client_id = %app.client_id, partner_id = %app.partner_id, jti = %issued.jti, scope = %issued.scope, grant = "jwt-bearer", "token issued");
    Ok(Json(json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope.to_string(),
    }))
    .into_response())
}
