//! Downloads from the docs: each version's OpenAPI document, its Postman collection, and the
//! Postman environment for the sandbox (with a placeholder where the secret goes).

use super::PortalState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/downloads/{version}/{file}", get(version_file))
        .route(
            "/downloads/sandbox.postman_environment.json",
            get(environment),
        )
}

fn attachment(name: &str, body: String) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn version_file(
    State(state): State<PortalState>,
    Path((version, file)): Path<(String, String)>,
) -> Response {
    let docs = state.docs.current();
    let found = match file.as_str() {
        "openapi.json" => docs
            .openapi_json(&version)
            .map(|body| attachment(&format!("portico-{version}.openapi.json"), body.to_owned())),
        "postman_collection.json" => docs.postman_collection(&version).map(|body| {
            attachment(
                &format!("portico-{version}.postman_collection.json"),
                body.to_owned(),
            )
        }),
        _ => None,
    };
    found.unwrap_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            "No such download: see /docs for the list.\n",
        )
            .into_response()
    })
}

async fn environment(State(state): State<PortalState>) -> Response {
    attachment(
        "portico-sandbox.postman_environment.json",
        state.docs.current().postman_environment(None),
    )
}
