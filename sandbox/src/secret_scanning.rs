//! `POST /oauth2/secret-scanning/reports`: where secret scanning partners report Portico
//! secrets they found in public, in the shape of GitHub's secret scanning partner program.
//!
//! The body is a JSON array of `{"token", "type", "url", "source"}`, signed with the
//! partner's ECDSA P-256 key: `Portico-Scanning-Key-Identifier` names the key (configured in
//! `PORTICO_SECRET_SCANNING_KEYS`) and `Portico-Scanning-Signature` carries the base64 DER
//! signature over the raw body. The answer is a JSON array of `{"token_hash", "token_type",
//! "label"}`. This handler only checks the signature and the shape; [`leaks`] does the rest.

use crate::SandboxState;
use crate::error::{ErrorKind, GatewayError};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portico_core::apps::leaks::{self, LeakReport, SignatureCheck};
use portico_core::request_id::RequestId;
use portico_core::secret::PlainSecret;
use serde::Deserialize;
use serde_json::json;

pub const REPORTS_PATH: &str = "/oauth2/secret-scanning/reports";
pub const KEY_ID_HEADER: &str = "portico-scanning-key-identifier";
pub const SIGNATURE_HEADER: &str = "portico-scanning-signature";

/// Largest report body read (a full batch of [`leaks::MAX_REPORTS`] fits comfortably).
pub const MAX_BODY_BYTES: usize = 512 * 1024;

pub fn routes() -> Router<SandboxState> {
    Router::new().route(REPORTS_PATH, post(reports))
}

#[derive(Deserialize)]
struct ReportedToken {
    token: String,
    #[serde(rename = "type", default)]
    token_type: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    source: String,
}

async fn reports(
    State(state): State<SandboxState>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = request_id.map(|r| r.0);
    match handle(&state, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.with_request_id(request_id).into_response(),
    }
}

async fn handle(
    state: &SandboxState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let unauthorized = |message: &str| GatewayError::new(ErrorKind::Unauthorized, message);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let (Some(key_id), Some(signature)) = (header(KEY_ID_HEADER), header(SIGNATURE_HEADER)) else {
        return Err(unauthorized(
            "Sign the report: send Portico-Scanning-Key-Identifier and Portico-Scanning-Signature (base64 DER ECDSA P-256 over the raw body).",
        ));
    };
    let signature = STANDARD
        .decode(signature)
        .map_err(|_| unauthorized("Portico-Scanning-Signature is not base64."))?;
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            GatewayError::new(
                ErrorKind::PayloadTooLarge,
                format!("A report body is at most {MAX_BODY_BYTES} bytes; send smaller batches."),
            )
        })?;
    match state.secret_scanning.verify(key_id, &body, &signature) {
        SignatureCheck::Verified => {}
        SignatureCheck::UnknownKey => {
            return Err(unauthorized("Unknown Portico-Scanning-Key-Identifier."));
        }
        SignatureCheck::BadSignature => {
            return Err(unauthorized(
                "The signature does not match the body for this key.",
            ));
        }
    }
    let reported: Vec<ReportedToken> = serde_json::from_slice(&body).map_err(|e| {
        GatewayError::new(
            ErrorKind::Validation,
            format!("Expected a JSON array of {{\"token\", \"type\", \"url\", \"source\"}}: {e}"),
        )
    })?;
    if reported.len() > leaks::MAX_REPORTS {
        return Err(GatewayError::new(
            ErrorKind::PayloadTooLarge,
            format!("At most {} tokens per report.", leaks::MAX_REPORTS),
        ));
    }
    let reports: Vec<LeakReport> = reported
        .into_iter()
        .map(|r| LeakReport {
            token: PlainSecret::from_presented(r.token),
            reported_type: r.token_type,
            url: r.url,
            source: r.source,
        })
        .collect();
    let outcomes = leaks::report_leaks(&state.db, key_id, &reports)
        .await
        .map_err(|e| {
            if e.is_unavailable() {
                GatewayError::new(
                    ErrorKind::ServiceUnavailable,
                    "The report could not be handled now; send it again.",
                )
            } else {
                tracing::error!(error = %e, "secret scanning report failed");
                GatewayError::new(ErrorKind::Internal, "Internal error.")
            }
        })?;
    tracing::info!(
        key_id,
        reported = reports.len(),
        true_positives = outcomes
            .iter()
            .filter(|o| o.label == leaks::LeakLabel::TruePositive)
            .count(),
        "secret scanning report"
    );
    let answer: Vec<_> = outcomes
        .iter()
        .map(|o| {
            json!({
                "token_hash": o.token_hash,
                "token_type": o.token_type,
                "label": o.label.as_str(),
            })
        })
        .collect();
    Ok(Json(answer).into_response())
}
