//! The `portico` binary's library: configuration, wiring of the two fronts, and the CLI.
//! Kept as a library so integration tests drive the same routers the binary serves.

pub mod changes;
pub mod cli;
pub mod config;
pub mod content;
pub mod docs;
pub mod fronts;
pub mod http;
pub mod lifecycle;
pub mod master_key;
pub mod portal;
pub mod probe;
pub mod serve;
pub mod sso;
pub mod telemetry;
pub mod tls;
pub mod webhooks;

use portico_core::apps::applications::{Application, IssuedCredentials};

/// New credentials as the CLI prints them, once: `{"client_id", "client_secret", "api_key", "partner_id"}`.
pub fn credentials_json(app: &Application, credentials: &IssuedCredentials) -> String {
    serde_json::json!({
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret.expose(),
        "api_key": credentials.api_key.expose(),
        "partner_id": app.partner_id,
    })
    .to_string()
}
