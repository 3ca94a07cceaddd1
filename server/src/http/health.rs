//! `/healthz` (the process answers) and `/readyz` (it can reach its database and is not
//! shutting down), on both fronts.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use portico_core::Database;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set once, when the process begins to shut down: `/readyz` then answers 503 so that load
/// balancers stop sending new requests while the ones in flight finish. One per process.
static DRAINING: AtomicBool = AtomicBool::new(false);

/// `/readyz` answers 503 `draining` from now on.
pub fn start_draining() {
    DRAINING.store(true, Ordering::Relaxed);
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Database: FromRef<S>,
{
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz<S>(State(state): State<S>) -> Response
where
    Database: FromRef<S>,
{
    let db = Database::from_ref(&state);
    if DRAINING.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining", "reason": "shutting down" })),
        )
            .into_response();
    }
    let reason = match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => {
            return Json(json!({ "status": "ready", "database": db.backend().name() }))
                .into_response();
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            "database unreachable"
        }
        Err(_) => {
            tracing::warn!("readiness check: database did not answer within 2 s");
            "database did not answer within 2 s"
        }
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason, "database": db.backend().name() })),
    )
        .into_response()
}
