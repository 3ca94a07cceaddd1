//! The sandbox front: the gateway engine that serves the API models on synthetic data.
//!
//! This crate owns the gateway's routes and its Smithy-shaped errors; the server crate adds
//! the cross-cutting layers (request ids, logs, metrics, health checks) around [`router`].

pub mod audit;
pub mod error;
pub mod oauth;

use axum::Router;
use axum::extract::FromRef;
use error::GatewayError;
use portico_core::Database;
use portico_core::enforce::Enforcer;
use portico_core::request_id::RequestId;
use portico_core::tokens::TokenService;
use std::sync::Arc;

/// What the sandbox's handlers share.
#[derive(Clone, Debug)]
pub struct SandboxState {
    pub db: Database,
    pub tokens: Arc<TokenService>,
    /// Token verification + Cedar policies: the gate every API call passes.
    pub enforcer: Arc<Enforcer>,
    /// The sandbox's public base URL (for metadata documents).
    pub public_url: String,
}

impl FromRef<SandboxState> for Database {
    fn from_ref(state: &SandboxState) -> Database {
        state.db.clone()
    }
}

/// The sandbox's routes. Anything not routed is a `NotFoundException`.
pub fn router() -> Router<SandboxState> {
    Router::new().merge(oauth::routes()).fallback(not_found)
}

async fn not_found(request_id: Option<axum::Extension<RequestId>>) -> GatewayError {
    GatewayError::not_found("No API operation matches this method and path.")
        .with_request_id(request_id.map(|r| r.0))
}
