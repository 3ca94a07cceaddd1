//! The sandbox front: the gateway engine that serves the API models on synthetic data.
//!
//! This crate owns the gateway's routes and its Smithy-shaped errors; the server crate adds
//! the cross-cutting layers (request ids, logs, metrics, health checks) around [`router`].

pub mod client_ip;
pub mod dpop;
pub mod error;
mod federation;
pub mod gateway;
pub mod limits;
pub mod model;
pub mod oauth;
pub mod partner_api;
pub mod proxy;
pub mod request_log_writer;
pub mod secret_scanning;
pub mod synthetic;
pub mod validate;

use axum::Router;
use axum::extract::FromRef;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use error::GatewayError;
use gateway::Gateway;
use portico_core::Database;
use portico_core::request_id::RequestId;
use portico_core::tokens::TokenService;
use std::sync::Arc;

/// Route label of requests no API operation matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The route template a gateway response answered (e.g. `/v2/commercial/orders/{orderId}`),
/// left in the response's extensions so metrics label API calls by operation, not by URL.
#[derive(Clone, Debug)]
pub struct RouteLabel(pub Arc<str>);

/// What the sandbox's handlers share.
#[derive(Clone, Debug)]
pub struct SandboxState {
    pub db: Database,
    pub tokens: Arc<TokenService>,
    /// The API pipeline every `/{version}/…` call goes through.
    pub gateway: Arc<Gateway>,
    /// The sandbox's public base URL (for metadata documents).
    pub public_url: Arc<str>,
    /// Client certificates can reach the token endpoint (mutual TLS, RFC 8705).
    pub client_certificates: bool,
    /// Keys of the secret scanning partners whose leak reports are believed.
    pub secret_scanning: Arc<portico_core::apps::leaks::ScanningKeys>,
}

impl FromRef<SandboxState> for Arc<Gateway> {
    fn from_ref(state: &SandboxState) -> Arc<Gateway> {
        state.gateway.clone()
    }
}

impl FromRef<SandboxState> for Database {
    fn from_ref(state: &SandboxState) -> Database {
        state.db.clone()
    }
}

/// The sandbox's routes. Anything not routed is a `NotFoundException`.
pub fn router() -> Router<SandboxState> {
    Router::new()
        .merge(oauth::routes())
        .merge(partner_api::routes())
        .merge(secret_scanning::routes())
        .route("/openapi/{file}", get(openapi))
        .fallback(api)
}

/// The production stage: the same pipeline, no token server (tokens come from the sandbox
/// front's token server, verified with the same keys).
pub fn production_router(gateway: Arc<Gateway>) -> Router {
    Router::new().fallback(gateway::handle).with_state(gateway)
}

/// Every other path is an API call (or a Smithy-shaped 404). Only the gateway is taken from
/// the state: this runs on every API call.
async fn api(gateway: State<Arc<Gateway>>, request: Request) -> Response {
    gateway::handle(gateway, request).await
}

/// `GET /openapi/{version}.json`: the model as loaded, with this deployment's server URL.
async fn openapi(
    State(state): State<SandboxState>,
    Path(file): Path<String>,
    request_id: Option<axum::Extension<RequestId>>,
) -> Response {
    let document = file.strip_suffix(".json").and_then(|version| {
        state
            .gateway
            .catalog
            .openapi_json(version, &state.public_url)
    });
    match document {
        Some(document) => axum::Json(document).into_response(),
        None => GatewayError::not_found(format!("No API model {file:?}; try /openapi/v2.json."))
            .with_request_id(request_id.map(|r| r.0))
            .into_response(),
    }
}
