//! Downloads from the docs: each version's OpenAPI document, its Postman collection, the
//! Postman environment for the sandbox (with a placeholder where the secret goes), and the
//! SDK packages generated from the models (`/sdk/{language}/{version}/{file}`): this portal
//! is its partners' package source, `npm install` and `pip install` take these URLs.

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
        .route("/sdk/{language}/{version}/{file}", get(sdk_file))
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

/// One SDK file by name; `latest.tgz` (npm) and `latest.whl` / `latest.tar.gz` (Python)
/// redirect to the current file of that kind; `index.json` lists the files with their SHA-256;
/// `quickstart.mts` / `quickstart.py` is the quick start the SDK page shows.
async fn sdk_file(
    State(state): State<PortalState>,
    Path((language, version, file)): Path<(String, String, String)>,
) -> Response {
    let docs = state.docs.current();
    let package = portico_sdk::Language::from_slug(&language)
        .and_then(|language| docs.sdk(&version)?.package(language));
    let Some(package) = package else {
        return (
            StatusCode::NOT_FOUND,
            "No such SDK: see /docs/sdks for the languages and versions.\n",
        )
            .into_response();
    };
    if file == "index.json" {
        let files: Vec<serde_json::Value> = package
            .artifacts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "name": a.file_name,
                    "url": portico_sdk::portal_file_url(&state.portal_url, package.language, &version, &a.file_name),
                    "sha256": a.sha256,
                    "size": a.bytes.len(),
                })
            })
            .collect();
        let index = serde_json::json!({
            "package": package.name,
            "version": package.version,
            "api_version": version,
            "files": files,
        });
        return (
            [(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            )],
            axum::Json(index),
        )
            .into_response();
    }
    if file == package.language.quick_start_file() {
        return (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ),
            ],
            package.quick_start.clone(),
        )
            .into_response();
    }
    if let Some(kind) = file.strip_prefix("latest") {
        // A redirect, not the bytes: pip reads the wheel's name (its tags) from the URL, so
        // the file must be fetched under its own name; npm follows the redirect.
        return match package
            .artifacts
            .iter()
            .find(|a| a.file_name.ends_with(kind))
        {
            Some(artifact) => (
                StatusCode::FOUND,
                [
                    (
                        header::LOCATION,
                        HeaderValue::from_str(
                            &package.language.file_path(&version, &artifact.file_name),
                        )
                        .unwrap_or_else(|_| HeaderValue::from_static("/docs/sdks")),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                ],
            )
                .into_response(),
            None => (StatusCode::NOT_FOUND, "No such SDK file: see /docs/sdks.\n").into_response(),
        };
    }
    let Some(artifact) = package.artifact(&file) else {
        return (StatusCode::NOT_FOUND, "No such SDK file: see /docs/sdks.\n").into_response();
    };
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", artifact.file_name))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let etag = HeaderValue::from_str(&format!("\"{}\"", artifact.sha256))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(artifact.media_type),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::ETAG, etag),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        artifact.bytes.clone(),
    )
        .into_response()
}
