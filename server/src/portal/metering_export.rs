//! `GET /admin/metering/{month}.csv` and `.json`: the month's metering export for admins (calls
//! by partner, operation, stage and status class), the same as `portico usage export`.

use super::PortalState;
use super::session::SignedIn;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portico_app::server::{During, user_message};
use portico_core::CoreError;
use portico_core::traffic::hourly_usage::{self, Month};

pub fn routes() -> Router<PortalState> {
    Router::new().route("/admin/metering/{file}", get(export))
}

async fn export(
    State(state): State<PortalState>,
    signed_in: SignedIn,
    Path(file): Path<String>,
) -> Response {
    let (month, json) = match (file.strip_suffix(".csv"), file.strip_suffix(".json")) {
        (Some(month), _) => (month, false),
        (_, Some(month)) => (month, true),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                "No such export: use YYYY-MM.csv or YYYY-MM.json.",
            )
                .into_response();
        }
    };
    let Ok(month) = Month::parse(month) else {
        return (StatusCode::NOT_FOUND, "No such month: use YYYY-MM.").into_response();
    };
    let rows = match hourly_usage::metering_as(
        &state.db,
        &signed_in.actor,
        month,
        None,
        portico_core::clock::now_ms(),
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            let status = match e {
                CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let message = user_message(&e, During::PageRead);
            return (status, message).into_response();
        }
    };
    let (body, content_type, extension) = if json {
        (
            hourly_usage::metering_json(month, &rows).to_string(),
            "application/json; charset=utf-8",
            "json",
        )
    } else {
        (
            hourly_usage::metering_csv(month, &rows),
            "text/csv; charset=utf-8",
            "csv",
        )
    };
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"portico-metering-{month}.{extension}\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
