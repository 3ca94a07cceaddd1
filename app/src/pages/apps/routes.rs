//! Where the applications pages' forms post: each axum route pattern, declared once for the
//! page's `<form action>` (filled with [`route`](crate::pages::route)) and the server's handler
//! (`server/src/portal/actions/apps.rs`).

/// Register an application.
pub const REGISTER: &str = "/apps";
/// Add a client secret.
pub const SECRETS: &str = "/apps/{id}/secrets";
/// Make a client secret the primary one.
pub const SECRET_PRIMARY: &str = "/apps/{id}/secrets/{secret_id}/primary";
/// Revoke a client secret.
pub const SECRET_REVOKE: &str = "/apps/{id}/secrets/{secret_id}/revoke";
/// Add an API key.
pub const API_KEYS: &str = "/apps/{id}/api-keys";
/// Make an API key the primary one.
pub const API_KEY_PRIMARY: &str = "/apps/{id}/api-keys/{key_id}/primary";
/// Revoke an API key.
pub const API_KEY_REVOKE: &str = "/apps/{id}/api-keys/{key_id}/revoke";
/// Register private_key_jwt public keys.
pub const CLIENT_KEYS: &str = "/apps/{id}/client-keys";
/// Remove a registered public key.
pub const CLIENT_KEY_REMOVE: &str = "/apps/{id}/client-keys/{key_id}/remove";
/// Set or clear the JWKS URL.
pub const JWKS_URI: &str = "/apps/{id}/jwks-uri";
/// Choose how the application authenticates at the token endpoint.
pub const CLIENT_AUTH: &str = "/apps/{id}/client-auth";
/// Register (or remove) mutual-TLS client authentication and certificate-bound tokens.
pub const MTLS: &str = "/apps/{id}/mtls";
/// Require (or stop requiring) DPoP-bound tokens.
pub const DPOP: &str = "/apps/{id}/dpop";
/// Request scopes.
pub const SCOPE_REQUESTS: &str = "/apps/{id}/scope-requests";
/// Withdraw a pending scope request.
pub const SCOPE_REQUEST_WITHDRAW: &str = "/apps/{id}/scope-requests/{request_id}/withdraw";
/// Save the application's settings.
pub const SETTINGS: &str = "/apps/{id}/settings";
/// Suspend the application.
pub const SUSPEND: &str = "/apps/{id}/suspend";
/// Reactivate the application.
pub const REACTIVATE: &str = "/apps/{id}/reactivate";
/// Delete the application.
pub const DELETE: &str = "/apps/{id}/delete";
