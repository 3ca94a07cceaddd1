//! The sandbox front: the gateway engine that serves the API models on synthetic data.
//!
//! This crate owns the gateway's routes and its Smithy-shaped errors; the server crate adds
//! the cross-cutting layers (request ids, logs, metrics, health checks) around [`router`].

pub mod error;

use axum::Router;
use axum::extract::FromRef;
use error::GatewayError;
use portico_core::Database;
use portico_core::request_id::RequestId;

/// What the sandbox's handlers share.
#[derive(Clone, Debug)]
pub struct SandboxState {
    pub db: Database,
}

impl FromRef<SandboxState> for Database {
    fn from_ref(state: &SandboxState) -> Database {
        state.db.clone()
    }
}

/// The sandbox's routes. Anything not routed is a `NotFoundException`.
pub fn router() -> Router<SandboxState> {
    Router::new().fallback(not_found)
}

async fn not_found(request_id: Option<axum::Extension<RequestId>>) -> GatewayError {
    GatewayError::not_found("No API operation matches this method and path.")
        .with_request_id(request_id.map(|r| r.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn unknown_paths_are_smithy_not_found_errors() {
        let db = portico_core::testing::TestDatabase::sqlite().await;
        let app = router().with_state(SandboxState { db: db.db.clone() });
        let request_id = RequestId::from_caller("req-123").unwrap();
        let mut request = Request::get("/v1/nothing-here")
            .body(Body::empty())
            .unwrap();
        request.extensions_mut().insert(request_id);
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "__type": "NotFoundException",
                "message": "No API operation matches this method and path.",
                "requestId": "req-123"
            })
        );
    }
}
