//! Incidents and scheduled maintenance posted by admins, with their updates.

use crate::audit;
use crate::clock::UnixTime;
use crate::identity;
use crate::identity::ActorContext;
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------------
// Incidents and maintenance
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentKind {
    Incident,
    Maintenance,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Incident => "incident",
            IncidentKind::Maintenance => "maintenance",
        }
    }

    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "incident" => Ok(IncidentKind::Incident),
            "maintenance" => Ok(IncidentKind::Maintenance),
            other => Err(CoreError::Invalid(format!(
                "unknown kind {other:?}: choose incident or scheduled maintenance"
            ))),
        }
    }

    /// The statuses an update of this kind may have, in their usual order.
    pub fn statuses(self) -> &'static [UpdateStatus] {
        match self {
            IncidentKind::Incident => &[
                UpdateStatus::Investigating,
                UpdateStatus::Identified,
                UpdateStatus::Monitoring,
                UpdateStatus::Resolved,
            ],
            IncidentKind::Maintenance => &[
                UpdateStatus::Scheduled,
                UpdateStatus::InProgress,
                UpdateStatus::Completed,
            ],
        }
    }

    /// The status that closes it.
    pub fn final_status(self) -> UpdateStatus {
        match self {
            IncidentKind::Incident => UpdateStatus::Resolved,
            IncidentKind::Maintenance => UpdateStatus::Completed,
        }
    }
}

/// How bad an incident is; also the overall indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
}

impl Impact {
    pub const ALL: [Impact; 4] = [Impact::None, Impact::Minor, Impact::Major, Impact::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "none" => Ok(Impact::None),
            "minor" => Ok(Impact::Minor),
            "major" => Ok(Impact::Major),
            "critical" => Ok(Impact::Critical),
            other => Err(CoreError::Invalid(format!(
                "unknown impact {other:?}: choose none, minor, major or critical"
            ))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Scheduled,
    InProgress,
    Completed,
}

impl UpdateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Investigating => "investigating",
            UpdateStatus::Identified => "identified",
            UpdateStatus::Monitoring => "monitoring",
            UpdateStatus::Resolved => "resolved",
            UpdateStatus::Scheduled => "scheduled",
            UpdateStatus::InProgress => "in_progress",
            UpdateStatus::Completed => "completed",
        }
    }

    /// For people: `Investigating`, `In progress`.
    pub fn label(self) -> &'static str {
        match self {
            UpdateStatus::Investigating => "Investigating",
            UpdateStatus::Identified => "Identified",
            UpdateStatus::Monitoring => "Monitoring",
            UpdateStatus::Resolved => "Resolved",
            UpdateStatus::Scheduled => "Scheduled",
            UpdateStatus::InProgress => "In progress",
            UpdateStatus::Completed => "Completed",
        }
    }

    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "investigating" => Ok(UpdateStatus::Investigating),
            "identified" => Ok(UpdateStatus::Identified),
            "monitoring" => Ok(UpdateStatus::Monitoring),
            "resolved" => Ok(UpdateStatus::Resolved),
            "scheduled" => Ok(UpdateStatus::Scheduled),
            "in_progress" => Ok(UpdateStatus::InProgress),
            "completed" => Ok(UpdateStatus::Completed),
            other => Err(CoreError::Invalid(format!("unknown status {other:?}"))),
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, UpdateStatus::Resolved | UpdateStatus::Completed)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentUpdate {
    pub id: String,
    pub status: UpdateStatus,
    pub message: String,
    pub created_at: UnixTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub id: String,
    pub kind: IncidentKind,
    pub title: String,
    pub impact: Impact,
    /// The latest update's status.
    pub status: UpdateStatus,
    pub components: Vec<String>,
    /// The maintenance window.
    pub starts_at: Option<UnixTime>,
    pub ends_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub resolved_at: Option<UnixTime>,
    /// Newest first.
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// Whether it affects the platform at `now`: an open incident, or an open maintenance that
    /// is in progress or inside its window.
    pub fn is_active(&self, now: UnixTime) -> bool {
        if !self.is_open() {
            return false;
        }
        match self.kind {
            IncidentKind::Incident => true,
            IncidentKind::Maintenance => {
                self.status == UpdateStatus::InProgress
                    || (self.starts_at.is_some_and(|s| s <= now)
                        && self.ends_at.is_none_or(|e| now < e))
            }
        }
    }

    /// Maintenance announced for later.
    pub fn is_upcoming(&self, now: UnixTime) -> bool {
        self.kind == IncidentKind::Maintenance
            && self.is_open()
            && !self.is_active(now)
            && self.starts_at.is_some_and(|s| s > now)
    }

    pub fn affects(&self, component: &str) -> bool {
        self.components.iter().any(|c| c == component)
    }
}

/// What an admin fills in to open an incident or announce maintenance.
#[derive(Clone, Debug)]
pub struct NewIncident {
    pub kind: IncidentKind,
    pub title: String,
    pub impact: Impact,
    pub components: Vec<String>,
    /// The first update.
    pub status: UpdateStatus,
    pub message: String,
    pub starts_at: Option<UnixTime>,
    pub ends_at: Option<UnixTime>,
}

const MAX_TITLE: usize = 200;
const MAX_MESSAGE: usize = 5000;

fn check_text(label: &str, text: &str, max: usize) -> CoreResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CoreError::Invalid(format!("{label} is required.")));
    }
    if text.chars().count() > max {
        return Err(CoreError::Invalid(format!(
            "{label} is too long (at most {max} characters)."
        )));
    }
    Ok(text.to_owned())
}

fn check_status(kind: IncidentKind, status: UpdateStatus) -> CoreResult<()> {
    if kind.statuses().contains(&status) {
        Ok(())
    } else {
        let allowed: Vec<&str> = kind.statuses().iter().map(|s| s.label()).collect();
        Err(CoreError::Invalid(format!(
            "{} is not a status of {}: choose {}.",
            status.label(),
            match kind {
                IncidentKind::Incident => "an incident",
                IncidentKind::Maintenance => "maintenance",
            },
            allowed.join(", ")
        )))
    }
}

/// Opens an incident (or announces maintenance) with its first update. Admins only; audited.
/// `known_components` are the components the status page shows; affected ones must be among
/// them.
pub async fn create_incident(
    db: &Database,
    ctx: &ActorContext,
    new: NewIncident,
    known_components: &[String],
) -> CoreResult<Incident> {
    let title = check_text("A title", &new.title, MAX_TITLE)?;
    let message = check_text("A message", &new.message, MAX_MESSAGE)?;
    check_status(new.kind, new.status)?;
    let components: BTreeSet<String> = new.components.iter().map(|c| c.trim().to_owned()).collect();
    if let Some(unknown) = components
        .iter()
        .find(|c| !known_components.iter().any(|k| k == *c))
    {
        return Err(CoreError::Invalid(format!(
            "{unknown:?} is not a component of the status page."
        )));
    }
    let (starts_at, ends_at) = match new.kind {
        IncidentKind::Incident => (None, None),
        IncidentKind::Maintenance => match (new.starts_at, new.ends_at) {
            (Some(start), Some(end)) if end > start => (Some(start), Some(end)),
            (Some(_), Some(_)) => {
                return Err(CoreError::Invalid(
                    "The maintenance window must end after it starts.".into(),
                ));
            }
            _ => {
                return Err(CoreError::Invalid(
                    "Scheduled maintenance needs a start and an end time (UTC).".into(),
                ));
            }
        },
    };
    let mut tx = audit::Write::begin(db, ctx).await?;
    let admin = identity::require_admin(&mut tx, ctx).await?;
    let now = crate::clock::now();
    let id = ids::new_id("inc");
    let resolved_at = new.status.is_final().then_some(now);
    sqlx::query(
        "INSERT INTO status_incidents (id, kind, title, impact, status, starts_at, ends_at, created_at, updated_at, resolved_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)",
    )
    .bind(&id)
    .bind(new.kind.as_str())
    .bind(&title)
    .bind(new.impact.as_str())
    .bind(new.status.as_str())
    .bind(starts_at)
    .bind(ends_at)
    .bind(now)
    .bind(resolved_at)
    .bind(&admin.user.id)
    .execute(&mut *tx)
    .await?;
    for component in &components {
        sqlx::query(
            "INSERT INTO status_incident_components (incident_id, component) VALUES ($1, $2)",
        )
        .bind(&id)
        .bind(component)
        .execute(&mut *tx)
        .await?;
    }
    insert_update(&mut tx, &id, new.status, &message, now, &admin.user.id).await?;
    tx.record(
        match new.kind {
            IncidentKind::Incident => "status.incident.create",
            IncidentKind::Maintenance => "status.maintenance.create",
        },
        Some(&id),
        None,
        &json!({
            "title": title,
            "impact": new.impact.as_str(),
            "status": new.status.as_str(),
            "components": components,
            "starts_at": starts_at,
            "ends_at": ends_at,
        }),
    )
    .await?;
    let incident = load_incident(&mut tx, &id)
        .await?
        .ok_or(CoreError::NotFound { what: "incident" })?;
    tx.commit().await?;
    Ok(incident)
}

async fn insert_update(
    conn: &mut AnyConnection,
    incident_id: &str,
    status: UpdateStatus,
    message: &str,
    now: UnixTime,
    by: &str,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO status_incident_updates (id, incident_id, status, message, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ids::new_id("upd"))
    .bind(incident_id)
    .bind(status.as_str())
    .bind(message)
    .bind(now)
    .bind(by)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Posts an update; a final status (resolved, completed) closes the incident. Admins only;
/// audited. A closed incident takes no more updates.
pub async fn post_update(
    db: &Database,
    ctx: &ActorContext,
    incident_id: &str,
    status: UpdateStatus,
    message: &str,
) -> CoreResult<Incident> {
    let message = check_text("A message", message, MAX_MESSAGE)?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let admin = identity::require_admin(&mut tx, ctx).await?;
    let incident = load_incident(&mut tx, incident_id)
        .await?
        .ok_or(CoreError::NotFound { what: "incident" })?;
    if !incident.is_open() {
        return Err(CoreError::Conflict(format!(
            "{:?} is already {}; it takes no more updates.",
            incident.title,
            incident.status.label().to_lowercase()
        )));
    }
    check_status(incident.kind, status)?;
    let now = crate::clock::now();
    insert_update(&mut tx, incident_id, status, &message, now, &admin.user.id).await?;
    sqlx::query(
        "UPDATE status_incidents SET status = $1, updated_at = $2, resolved_at = $3 WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(now)
    .bind(status.is_final().then_some(now))
    .bind(incident_id)
    .execute(&mut *tx)
    .await?;
    let action = match (incident.kind, status.is_final()) {
        (IncidentKind::Incident, true) => "status.incident.resolve",
        (IncidentKind::Incident, false) => "status.incident.update",
        (IncidentKind::Maintenance, true) => "status.maintenance.complete",
        (IncidentKind::Maintenance, false) => "status.maintenance.update",
    };
    tx.record(
        action,
        Some(incident_id),
        None,
        &json!({ "title": incident.title, "status": status.as_str() }),
    )
    .await?;
    let incident = load_incident(&mut tx, incident_id)
        .await?
        .ok_or(CoreError::NotFound { what: "incident" })?;
    tx.commit().await?;
    Ok(incident)
}

#[derive(FromRow)]
struct IncidentRow {
    id: String,
    kind: String,
    title: String,
    impact: String,
    status: String,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    resolved_at: Option<i64>,
}

impl IncidentRow {
    fn into_incident(self) -> CoreResult<Incident> {
        Ok(Incident {
            kind: IncidentKind::parse(&self.kind)?,
            impact: Impact::parse(&self.impact)?,
            status: UpdateStatus::parse(&self.status)?,
            id: self.id,
            title: self.title,
            components: Vec::new(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            resolved_at: self.resolved_at,
            updates: Vec::new(),
        })
    }
}

const INCIDENT_SELECT: &str = "SELECT id, kind, title, impact, status, starts_at, ends_at, created_at, updated_at, resolved_at FROM status_incidents";

/// Fills in components and updates of `incidents`.
async fn complete(conn: &mut AnyConnection, incidents: &mut [Incident]) -> CoreResult<()> {
    for incident in incidents.iter_mut() {
        incident.components = sqlx::query_scalar(
            "SELECT component FROM status_incident_components WHERE incident_id = $1 ORDER BY component",
        )
        .bind(&incident.id)
        .fetch_all(&mut *conn)
        .await?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT id, status, message, created_at FROM status_incident_updates \
             WHERE incident_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(&incident.id)
        .fetch_all(&mut *conn)
        .await?;
        incident.updates = rows
            .into_iter()
            .map(|(id, status, message, created_at)| {
                Ok(IncidentUpdate {
                    id,
                    status: UpdateStatus::parse(&status)?,
                    message,
                    created_at,
                })
            })
            .collect::<CoreResult<_>>()?;
    }
    Ok(())
}

async fn load_incident(conn: &mut AnyConnection, id: &str) -> CoreResult<Option<Incident>> {
    let Some(row) = sqlx::query_as::<_, IncidentRow>(&format!("{INCIDENT_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut incidents = [row.into_incident()?];
    complete(conn, &mut incidents).await?;
    let [incident] = incidents;
    Ok(Some(incident))
}

pub async fn get_incident(db: &Database, id: &str) -> CoreResult<Option<Incident>> {
    let mut conn = db.pool().acquire().await?;
    load_incident(&mut conn, id).await
}

/// Incidents and maintenance to show: every open one, and every one created or closed since
/// `since`, newest first.
pub async fn list_incidents(db: &Database, since: UnixTime) -> CoreResult<Vec<Incident>> {
    let mut conn = db.pool().acquire().await?;
    let mut incidents = sqlx::query_as::<_, IncidentRow>(&format!(
        "{INCIDENT_SELECT} WHERE resolved_at IS NULL OR created_at >= $1 OR resolved_at >= $1 \
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(since)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(IncidentRow::into_incident)
    .collect::<CoreResult<Vec<_>>>()?;
    complete(&mut conn, &mut incidents).await?;
    Ok(incidents)
}
