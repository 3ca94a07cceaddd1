//! The admin's forms for the status page (`/admin/incidents`): open an incident or announce
//! maintenance, post an update, resolve (or complete) it. Admins only; the core checks again and
//! writes the audit record in the same transaction as the change. A refused form comes back
//! with the message and what was typed.

use crate::portal::PortalState;
use crate::portal::extract::Fields;
use crate::portal::extract::{Admin, CsrfFields};
use crate::portal::session::{done, keep_draft, refused};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use portico_app::pages::admin::routes;
use portico_core::status::{self, Impact, IncidentKind, NewIncident, UpdateStatus};
use portico_core::{CoreError, CoreResult};
use tower_sessions::Session;

const INCIDENTS: &str = "/admin/incidents";

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route(routes::INCIDENTS, post(create))
        .route(routes::INCIDENT_UPDATES, post(update))
        .route(routes::INCIDENT_RESOLVE, post(resolve))
}

/// An optional `datetime-local` value (UTC).
fn time_field(label: &str, text: &str) -> CoreResult<Option<i64>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    status::parse_utc_minute(text).map(Some).ok_or_else(|| {
        CoreError::Invalid(format!(
            "{label}: {text:?} is not a date and time such as 2026-12-24T22:00 (UTC)."
        ))
    })
}

fn new_incident(fields: &Fields) -> CoreResult<NewIncident> {
    let kind = match fields.get("kind") {
        "" => IncidentKind::Incident,
        other => IncidentKind::parse(other)?,
    };
    let impact = match fields.get("impact") {
        "" => Impact::None,
        other => Impact::parse(other)?,
    };
    let status = match fields.get("status") {
        "" => kind.statuses()[0],
        other => UpdateStatus::parse(other)?,
    };
    Ok(NewIncident {
        kind,
        title: fields.get("title").to_owned(),
        impact,
        components: fields.all("components").map(str::to_owned).collect(),
        status,
        message: fields.get("message").to_owned(),
        starts_at: time_field("Maintenance start", fields.get("starts_at"))?,
        ends_at: time_field("Maintenance end", fields.get("ends_at"))?,
    })
}

async fn create(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    CsrfFields(fields): CsrfFields,
) -> Response {
    let result = async {
        let new = new_incident(&fields)?;
        let known = status::known_components(&state.db, portico_core::clock::now_ms()).await?;
        status::create_incident(&state.db, &admin.actor, new, &known).await
    }
    .await;
    match result {
        Ok(incident) => {
            let what = match incident.kind {
                IncidentKind::Incident => "Incident",
                IncidentKind::Maintenance => "Maintenance",
            };
            done(
                &session,
                format!("{what} {:?} is on the status page.", incident.title),
                &format!("{INCIDENTS}/{}", incident.id),
            )
            .await
        }
        Err(e) => {
            keep_draft(&session, INCIDENTS, fields.as_pairs()).await;
            refused(&session, e, INCIDENTS).await
        }
    }
}

async fn update(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfFields(fields): CsrfFields,
) -> Response {
    let back = format!("{INCIDENTS}/{id}");
    let result = async {
        let status = UpdateStatus::parse(fields.get("status"))
            .map_err(|_| CoreError::Invalid("Choose the update's status.".into()))?;
        status::post_update(&state.db, &admin.actor, &id, status, fields.get("message")).await
    }
    .await;
    match result {
        Ok(incident) => {
            done(
                &session,
                format!("Update posted: {}.", incident.status.label()),
                &back,
            )
            .await
        }
        Err(e @ CoreError::NotFound { .. }) => refused(&session, e, INCIDENTS).await,
        Err(e) => {
            keep_draft(&session, &back, fields.as_pairs()).await;
            refused(&session, e, &back).await
        }
    }
}

async fn resolve(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfFields(fields): CsrfFields,
) -> Response {
    let back = format!("{INCIDENTS}/{id}");
    let result = async {
        let incident = status::get_incident(&state.db, &id)
            .await?
            .ok_or(CoreError::NotFound { what: "incident" })?;
        let final_status = incident.kind.final_status();
        let message = match fields.get("message").trim() {
            "" => match incident.kind {
                IncidentKind::Incident => "This incident has been resolved.",
                IncidentKind::Maintenance => "The maintenance is complete.",
            },
            text => text,
        };
        status::post_update(&state.db, &admin.actor, &id, final_status, message).await
    }
    .await;
    match result {
        Ok(incident) => {
            done(
                &session,
                format!(
                    "{:?} is {}.",
                    incident.title,
                    incident.status.label().to_lowercase()
                ),
                &back,
            )
            .await
        }
        Err(e @ CoreError::NotFound { .. }) => refused(&session, e, INCIDENTS).await,
        Err(e) => refused(&session, e, &back).await,
    }
}
