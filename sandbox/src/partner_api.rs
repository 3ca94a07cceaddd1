//! The partner's own API on the sandbox front (not part of the API models): today
//! `GET /partner/v1/request-log`, the organisation's request log for its own systems.
//!
//! The caller presents an access token of one of its applications carrying the `logs:read`
//! scope; the token's partner decides whose rows are read, so no parameter can reach another
//! partner's log. Same filters as the portal's log page, newest first, keyset cursor.

use crate::SandboxState;
use crate::error::{ErrorKind, FieldErrorBody as FieldError, GatewayError};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use portico_core::clock;
use portico_core::enforce::PresentedCredentials;
use portico_core::request_id::RequestId;
use portico_core::traffic::partner_log::{self, DecisionFilter, LogCursor, LogQuery, StatusClass};
use serde::Deserialize;
use serde_json::json;

/// The scope a token needs to read its organisation's request log.
pub const LOGS_READ: &str = portico_core::authz::scopes::LOGS_READ;

/// Rows per call unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 50;

pub fn routes() -> Router<SandboxState> {
    Router::new().route("/partner/v1/request-log", get(request_log))
}

/// The query string, all text: every value is checked below with a field error.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LogParams {
    from: String,
    to: String,
    status: String,
    operation: String,
    version: String,
    decision: String,
    request_id: String,
    client_id: String,
    cursor: String,
    limit: String,
}

fn field(path: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        path: format!("query.{path}"),
        message: message.into(),
    }
}

/// RFC 3339 → unix ms.
fn instant(path: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let parsed = clock::parse_rfc3339_ms(text);
    if parsed.is_none() {
        errors.push(field(
            path,
            "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z",
        ));
    }
    parsed
}

fn parse(params: &LogParams) -> Result<(LogQuery, Option<String>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut query = LogQuery {
        from_ms: instant("from", params.from.trim(), &mut errors),
        to_ms: instant("to", params.to.trim(), &mut errors),
        limit: DEFAULT_LIMIT,
        ..LogQuery::default()
    };
    match StatusClass::parse(&params.status) {
        Ok(status) => query.status = status,
        Err(e) => errors.push(field("status", e.to_string())),
    }
    match DecisionFilter::parse(&params.decision) {
        Ok(decision) => query.decision = decision,
        Err(e) => errors.push(field("decision", e.to_string())),
    }
    let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    query.action = text(&params.operation);
    query.version = text(&params.version);
    query.request_id = text(&params.request_id);
    if !params.cursor.trim().is_empty() {
        match LogCursor::decode(&params.cursor) {
            Ok(cursor) => query.after = Some(cursor),
            Err(e) => errors.push(field("cursor", e.to_string())),
        }
    }
    if !params.limit.trim().is_empty() {
        match params.limit.trim().parse::<u32>() {
            Ok(n) if (1..=partner_log::MAX_PAGE).contains(&n) => query.limit = n,
            _ => errors.push(field(
                "limit",
                format!("must be a whole number from 1 to {}", partner_log::MAX_PAGE),
            )),
        }
    }
    if errors.is_empty() {
        Ok((query, text(&params.client_id)))
    } else {
        Err(errors)
    }
}

async fn request_log(
    State(state): State<SandboxState>,
    headers: HeaderMap,
    request_id: Option<Extension<RequestId>>,
    params: Result<Query<LogParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let request_id = request_id.map(|Extension(id)| id);
    let fail = |error: GatewayError| error.with_request_id(request_id.clone()).into_response();
    let credentials = PresentedCredentials {
        authorization: headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        oidc_access_token: None,
    };
    let token = match state.gateway.enforcer.authenticate(credentials) {
        Ok(token) => token,
        Err(denial) => return GatewayError::from_denial(&denial, request_id.clone()),
    };
    if !token.scopes.contains(LOGS_READ) {
        return fail(GatewayError::new(
            ErrorKind::Forbidden,
            format!(
                "The access token lacks the scope {LOGS_READ}: request it for the application in the portal, then get a new token."
            ),
        ));
    }
    let Ok(Query(params)) = params else {
        return fail(GatewayError::new(
            ErrorKind::Validation,
            "The query string is not valid.",
        ));
    };
    let (query, client_id) = match parse(&params) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let message = format!(
                "{} {}.",
                errors[0].path,
                errors[0].message.trim_end_matches('.')
            );
            return fail(
                GatewayError::new(ErrorKind::Validation, message).with_field_errors(errors),
            );
        }
    };
    let page = match partner_log::partner_page(
        &state.db,
        &token.claims.partner_id,
        client_id.as_deref(),
        &query,
    )
    .await
    {
        Ok(page) => page,
        Err(e) => {
            tracing::error!(error = %e, "reading the request log failed");
            return fail(GatewayError::new(
                ErrorKind::ServiceUnavailable,
                "The request log cannot be read right now; retry shortly.",
            ));
        }
    };
    let data: Vec<serde_json::Value> = page
        .entries
        .iter()
        .map(|e| {
            json!({
                "request_id": e.request_id,
                "occurred_at": clock::format_rfc3339_ms(e.occurred_at_ms),
                "client_id": e.client_id,
                "method": e.method,
                "route": e.route,
                "operation": e.action,
                "version": e.version,
                "status": e.status,
                "decision": e.decision_label(),
                "reason": e.reason,
                "latency_ms": e.latency_us as f64 / 1000.0,
            })
        })
        .collect();
    Json(json!({
        "data": data,
        "next_cursor": page.next.map(|c| c.encode()),
    }))
    .into_response()
}
