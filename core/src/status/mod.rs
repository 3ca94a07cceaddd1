//! The status page's data: synthetic probe results (raw, kept a week, and a daily rollup per
//! component kept 90 days), incidents and scheduled maintenance posted by admins, and what
//! they add up to: each component's displayed state and the overall indicator.
//!
//! Probe times are unix milliseconds; incident times are unix seconds like the rest of the core.

use crate::audit;
use crate::clock::UnixTime;
use crate::identity;
use crate::identity::ActorContext;
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};
use std::collections::{BTreeMap, BTreeSet};

/// The portal's own check (database reachable).
pub const PORTAL_COMPONENT: &str = "Developer portal";
/// The OAuth 2.0 token endpoint (on the sandbox front).
pub const TOKEN_COMPONENT: &str = "Token endpoint";

/// Raw probe results are kept this long.
pub const RAW_RETENTION_MS: i64 = 7 * DAY_MS;
/// The daily rollup (and the bars) cover this many days.
pub const UPTIME_DAYS: i64 = 90;
/// Rows deleted per statement when purging, so a purge never holds a long lock.
pub const PURGE_BATCH: i64 = 1000;
/// Incidents shown in the history.
pub const HISTORY_DAYS: i64 = 90;
/// A probe result older than this no longer says anything about now.
pub const DEFAULT_STALE_AFTER_MS: i64 = 5 * 60 * 1000;
/// Longest text kept from a probe's error.
const MAX_ERROR_CHARS: usize = 300;

const DAY_MS: i64 = 86_400_000;

/// The component name of an API version on a stage: `Sandbox API v2`, `Production API v2`.
pub fn api_component(stage: &str, version: &str) -> String {
    let mut stage_name = stage.to_owned();
    if let Some(first) = stage_name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!("{stage_name} API {version}")
}

/// The UTC day (days since 1970-01-01) of a time in milliseconds.
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

// ---------------------------------------------------------------------------------------------
// Probe results
// ---------------------------------------------------------------------------------------------

/// What one probe found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeState {
    Operational,
    /// Answered, but slowly, with a server error or with an unexpected body.
    Degraded,
    /// Did not answer: connection refused, timeout.
    Down,
}

impl ProbeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeState::Operational => "operational",
            ProbeState::Degraded => "degraded",
            ProbeState::Down => "down",
        }
    }

    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "operational" => Ok(ProbeState::Operational),
            "degraded" => Ok(ProbeState::Degraded),
            "down" => Ok(ProbeState::Down),
            other => Err(CoreError::Invalid(format!("unknown probe state {other:?}"))),
        }
    }
}

/// One probe of one component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub component: String,
    /// `portal`, `sandbox` or `production`.
    pub stage: String,
    pub state: ProbeState,
    pub latency_ms: i64,
    /// What went wrong, for people (never a secret or a token).
    pub error: Option<String>,
    pub checked_at_ms: i64,
}

#[derive(FromRow)]
struct CheckRow {
    component: String,
    stage: String,
    state: String,
    latency_ms: i64,
    error: Option<String>,
    checked_at: i64,
}

impl TryFrom<CheckRow> for CheckResult {
    type Error = CoreError;
    fn try_from(row: CheckRow) -> CoreResult<Self> {
        Ok(CheckResult {
            state: ProbeState::parse(&row.state)?,
            component: row.component,
            stage: row.stage,
            latency_ms: row.latency_ms,
            error: row.error,
            checked_at_ms: row.checked_at,
        })
    }
}

/// Stores a pass of probe results and adds each to its component's daily rollup, in one
/// transaction.
pub async fn record_checks(db: &Database, results: &[CheckResult]) -> CoreResult<()> {
    if results.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    for r in results {
        let error = r.error.as_deref().map(|e| {
            let mut text: String = e.chars().take(MAX_ERROR_CHARS).collect();
            if e.chars().count() > MAX_ERROR_CHARS {
                text.push('…');
            }
            text
        });
        sqlx::query(
            "INSERT INTO status_checks (id, component, stage, state, latency_ms, error, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(ids::new_id("chk"))
        .bind(&r.component)
        .bind(&r.stage)
        .bind(r.state.as_str())
        .bind(r.latency_ms.max(0))
        .bind(error)
        .bind(r.checked_at_ms)
        .execute(&mut *tx)
        .await?;
        let ok = i64::from(r.state == ProbeState::Operational);
        let degraded = i64::from(r.state == ProbeState::Degraded);
        sqlx::query(
            "INSERT INTO status_daily (component, day, stage, ok_count, degraded_count, total) \
             VALUES ($1, $2, $3, $4, $5, 1) \
             ON CONFLICT (component, day) DO UPDATE SET \
             ok_count = status_daily.ok_count + excluded.ok_count, \
             degraded_count = status_daily.degraded_count + excluded.degraded_count, \
             total = status_daily.total + 1, stage = excluded.stage",
        )
        .bind(&r.component)
        .bind(day_of_ms(r.checked_at_ms))
        .bind(&r.stage)
        .bind(ok)
        .bind(degraded)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The newest result of each component probed since `since_ms`.
pub async fn latest_checks(db: &Database, since_ms: i64) -> CoreResult<Vec<CheckResult>> {
    let rows: Vec<CheckRow> = sqlx::query_as(
        "SELECT c.component, c.stage, c.state, c.latency_ms, c.error, c.checked_at \
         FROM status_checks c JOIN ( \
           SELECT component, MAX(checked_at) AS at FROM status_checks \
           WHERE checked_at >= $1 GROUP BY component \
         ) m ON m.component = c.component AND m.at = c.checked_at \
         ORDER BY c.component, c.id DESC",
    )
    .bind(since_ms)
    .fetch_all(db.pool())
    .await?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for row in rows {
        if seen.insert(row.component.clone()) {
            out.push(CheckResult::try_from(row)?);
        }
    }
    Ok(out)
}

/// One component's probes on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct DayRollup {
    pub component: String,
    pub stage: String,
    pub day: i64,
    pub ok_count: i64,
    pub degraded_count: i64,
    pub total: i64,
}

/// Every rollup row from `from_day` on.
pub async fn daily_rollups(db: &Database, from_day: i64) -> CoreResult<Vec<DayRollup>> {
    Ok(sqlx::query_as(
        "SELECT component, stage, day, ok_count, degraded_count, total FROM status_daily \
         WHERE day >= $1 ORDER BY component, day",
    )
    .bind(from_day)
    .fetch_all(db.pool())
    .await?)
}

/// Average and worst latency of one component over one time bucket.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct LatencyPoint {
    pub component: String,
    /// Bucket number from the series' start (`since_ms + bucket * bucket_ms`).
    pub bucket: i64,
    pub avg_ms: i64,
    pub max_ms: i64,
    pub samples: i64,
}

/// Latency per component in buckets of `bucket_ms` since `since_ms`, from the probes that got
/// an answer (a component that was down has no latency to show).
pub async fn latency_series(
    db: &Database,
    since_ms: i64,
    bucket_ms: i64,
) -> CoreResult<Vec<LatencyPoint>> {
    Ok(sqlx::query_as(
        "SELECT component, (checked_at - $1) / $2 AS bucket, \
         CAST(AVG(latency_ms) AS BIGINT) AS avg_ms, MAX(latency_ms) AS max_ms, COUNT(*) AS samples \
         FROM status_checks WHERE checked_at >= $1 AND state <> 'down' \
         GROUP BY component, bucket ORDER BY component, bucket",
    )
    .bind(since_ms)
    .bind(bucket_ms.max(1))
    .fetch_all(db.pool())
    .await?)
}

/// Deletes raw results older than [`RAW_RETENTION_MS`] (in batches of [`PURGE_BATCH`], at most
/// `max_batches` of them) and rollups older than [`UPTIME_DAYS`]. Returns the raw rows deleted.
pub async fn purge(db: &Database, now_ms: i64, max_batches: u32) -> CoreResult<u64> {
    let before = now_ms - RAW_RETENTION_MS;
    let mut deleted = 0;
    for _ in 0..max_batches {
        let n = sqlx::query(
            "DELETE FROM status_checks WHERE id IN \
             (SELECT id FROM status_checks WHERE checked_at < $1 ORDER BY checked_at LIMIT $2)",
        )
        .bind(before)
        .bind(PURGE_BATCH)
        .execute(db.pool())
        .await?
        .rows_affected();
        deleted += n;
        if n < u64::try_from(PURGE_BATCH).unwrap_or(u64::MAX) {
            break;
        }
    }
    sqlx::query("DELETE FROM status_daily WHERE day < $1")
        .bind(day_of_ms(now_ms) - UPTIME_DAYS)
        .execute(db.pool())
        .await?;
    Ok(deleted)
}

// ---------------------------------------------------------------------------------------------
// The probe's own application
// ---------------------------------------------------------------------------------------------

/// The probe application's name, under partner [`crate::orgs::partners::PROBE_PARTNER`].
pub const PROBE_APPLICATION: &str = "Status probe (platform)";
/// The probe partner's name, so admin lists show it as the platform's own.
pub const PROBE_PARTNER_NAME: &str = "Portico platform (status probe)";
/// Makes sure the probe's partner (approved) and application (active, holding exactly
/// `scopes`: the read scopes of the operations it probes, limits high enough never to throttle
/// it, production access when `production` is true) exist and that `secret` is its one live
/// client secret. The secret is derived from the master key by the caller, so only its hash is
/// stored here, as for every other secret. Idempotent; safe when several processes start at
/// once. Returns the application's client id.
pub async fn ensure_probe_application(
    db: &Database,
    secret: &crate::secret::PlainSecret,
    production: bool,
    scopes: &crate::authz::scopes::Scopes,
) -> CoreResult<String> {
    let mut attempt = 0;
    let app_id = loop {
        attempt += 1;
        match ensure_probe_rows(db, secret, production, scopes).await {
            Ok(id) => break id,
            // Another process created the same rows at the same moment: read them again.
            Err(e)
                if attempt < 3
                    && (e.is_unique_violation() || matches!(e, CoreError::Conflict(_))) => {}
            Err(e) => return Err(e),
        }
    };
    let generous = crate::apps::plans::LimitOverride {
        rate_per_second: Some(1000),
        burst: Some(10_000),
        quota: Some(1_000_000_000),
        quota_period: Some(crate::apps::plans::QuotaPeriod::Day),
        api_key: Some(crate::apps::plans::ApiKeyRequirement::Optional),
    };
    if crate::apps::plans::limit_override(db, &app_id).await? != generous {
        crate::apps::plans::set_override(db, &app_id, &generous).await?;
    }
    let client_id: String = sqlx::query_scalar("SELECT client_id FROM applications WHERE id = $1")
        .bind(&app_id)
        .fetch_one(db.pool())
        .await?;
    Ok(client_id)
}

async fn ensure_probe_rows(
    db: &Database,
    secret: &crate::secret::PlainSecret,
    production: bool,
    scopes: &crate::authz::scopes::Scopes,
) -> CoreResult<String> {
    use crate::orgs::partners::{self, PROBE_PARTNER, PartnerStatus};
    let now = crate::clock::now();
    let mut tx = db.begin_write().await?;
    let partner = match partners::find_by_slug(&mut tx, PROBE_PARTNER).await? {
        Some(p) => p,
        None => {
            partners::create(
                &mut tx,
                PROBE_PARTNER,
                PROBE_PARTNER_NAME,
                PartnerStatus::Approved,
            )
            .await?
        }
    };
    if partner.status != PartnerStatus::Approved {
        sqlx::query("UPDATE partners SET status = 'approved', updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&partner.id)
            .execute(&mut *tx)
            .await?;
    }
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM applications WHERE partner_id = $1 AND name = $2")
            .bind(&partner.id)
            .bind(PROBE_APPLICATION)
            .fetch_optional(&mut *tx)
            .await?;
    let app_id = match existing {
        Some(id) => id,
        None => {
            let (app, _random) = crate::apps::applications::create(
                &mut tx,
                &partner,
                PROBE_APPLICATION,
                scopes,
                crate::apps::plans::DEFAULT_PLAN,
            )
            .await?;
            app.id
        }
    };
    sqlx::query(
        "UPDATE applications SET status = 'active', scopes = $1, updated_at = $2 WHERE id = $3 AND (status <> 'active' OR scopes <> $1)",
    )
    .bind(scopes.to_string())
    .bind(now)
    .bind(&app_id)
    .execute(&mut *tx)
    .await?;
    if production {
        sqlx::query(
            "UPDATE applications SET production_granted_by = 'system', production_granted_at = $1, updated_at = $1 \
             WHERE id = $2 AND production_granted_at IS NULL",
        )
        .bind(now)
        .bind(&app_id)
        .execute(&mut *tx)
        .await?;
    }
    // The derived secret: the one live secret, whatever was there before.
    let hash = secret.hash().to_hex();
    let found: Option<(String, String)> =
        sqlx::query_as("SELECT id, application_id FROM client_secrets WHERE secret_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
    let keep = match found {
        Some((_, owner)) if owner != app_id => {
            return Err(CoreError::Invalid(
                "the status probe's derived secret belongs to another application".into(),
            ));
        }
        Some((id, _)) => {
            sqlx::query(
                "UPDATE client_secrets SET revoked_at = NULL, expires_at = NULL, slot = 'primary' WHERE id = $1 AND (revoked_at IS NOT NULL OR expires_at IS NOT NULL OR slot <> 'primary')",
            )
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            id
        }
        None => {
            let id = ids::new_id("sec");
            sqlx::query("UPDATE client_secrets SET revoked_at = $1 WHERE application_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(&app_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO client_secrets (id, application_id, secret_hash, hint, slot, created_at) VALUES ($1, $2, $3, $4, 'primary', $5)",
            )
            .bind(&id)
            .bind(&app_id)
            .bind(&hash)
            .bind(secret.hint())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    sqlx::query("UPDATE client_secrets SET revoked_at = $1 WHERE application_id = $2 AND id <> $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(&app_id)
        .bind(&keep)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(app_id)
}

// ---------------------------------------------------------------------------------------------
// Uptime
// ---------------------------------------------------------------------------------------------

/// One cell of a component's uptime bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UptimeDay {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub ok: i64,
    pub degraded: i64,
    pub total: i64,
}

impl UptimeDay {
    /// Share of probes that found the component operational, 0..=1; `None` without probes.
    pub fn uptime(&self) -> Option<f64> {
        (self.total > 0).then(|| ratio(self.ok, self.total))
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "probe counts are far below 2^52"
)]
fn ratio(part: i64, whole: i64) -> f64 {
    part as f64 / whole as f64
}

/// `component`'s last `days` days up to `today`, oldest first, one entry per day (days without
/// probes have `total == 0`).
pub fn uptime_days(
    rollups: &[DayRollup],
    component: &str,
    today: i64,
    days: i64,
) -> Vec<UptimeDay> {
    let by_day: BTreeMap<i64, &DayRollup> = rollups
        .iter()
        .filter(|r| r.component == component)
        .map(|r| (r.day, r))
        .collect();
    (today - days + 1..=today)
        .map(|day| match by_day.get(&day) {
            Some(r) => UptimeDay {
                day,
                ok: r.ok_count,
                degraded: r.degraded_count,
                total: r.total,
            },
            None => UptimeDay {
                day,
                ok: 0,
                degraded: 0,
                total: 0,
            },
        })
        .collect()
}

/// Uptime over several days (probes operational / probes), `None` without probes.
pub fn uptime_over(days: &[UptimeDay]) -> Option<f64> {
    let total: i64 = days.iter().map(|d| d.total).sum();
    let ok: i64 = days.iter().map(|d| d.ok).sum();
    (total > 0).then(|| ratio(ok, total))
}

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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
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

// ---------------------------------------------------------------------------------------------
// What it adds up to
// ---------------------------------------------------------------------------------------------

/// A component's state as the status page shows it (the probe's finding, overlaid by incidents
/// and maintenance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentStatus {
    Operational,
    /// No recent probe result.
    Unknown,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::Unknown => "unknown",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::Unknown => "No recent data",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }

    fn from_impact(impact: Impact) -> Option<Self> {
        match impact {
            Impact::None => None,
            Impact::Minor => Some(ComponentStatus::DegradedPerformance),
            Impact::Major => Some(ComponentStatus::PartialOutage),
            Impact::Critical => Some(ComponentStatus::MajorOutage),
        }
    }
}

/// The displayed state of `component`: its latest probe (if not older than `stale_after_ms`),
/// made worse by active incidents that affect it; active maintenance on it shows as
/// maintenance unless an incident says worse.
pub fn component_status(
    component: &str,
    probe: Option<&CheckResult>,
    incidents: &[Incident],
    now_ms: i64,
    stale_after_ms: i64,
) -> ComponentStatus {
    let now = now_ms.div_euclid(1000);
    let probed = match probe {
        Some(p) if now_ms - p.checked_at_ms <= stale_after_ms => match p.state {
            ProbeState::Operational => ComponentStatus::Operational,
            ProbeState::Degraded => ComponentStatus::DegradedPerformance,
            ProbeState::Down => ComponentStatus::MajorOutage,
        },
        _ => ComponentStatus::Unknown,
    };
    let active = incidents
        .iter()
        .filter(|i| i.is_active(now) && i.affects(component));
    let mut from_incidents: Option<ComponentStatus> = None;
    let mut maintenance = false;
    for incident in active {
        match incident.kind {
            IncidentKind::Maintenance => maintenance = true,
            IncidentKind::Incident => {
                from_incidents = from_incidents.max(ComponentStatus::from_impact(incident.impact));
            }
        }
    }
    match (maintenance, from_incidents) {
        (true, None) => ComponentStatus::UnderMaintenance,
        (_, Some(status)) => status.max(probed),
        (false, None) => probed,
    }
}

/// The overall indicator, as status.json names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Indicator {
    None,
    Minor,
    Major,
    Critical,
}

impl Indicator {
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::None => "none",
            Indicator::Minor => "minor",
            Indicator::Major => "major",
            Indicator::Critical => "critical",
        }
    }

    fn from_impact(impact: Impact) -> Self {
        match impact {
            Impact::None => Indicator::None,
            Impact::Minor => Indicator::Minor,
            Impact::Major => Indicator::Major,
            Impact::Critical => Indicator::Critical,
        }
    }
}

/// The overall indicator and its sentence: the worst of the open incidents' impact and of the
/// components' states (one component in a major outage is a major indicator, all of them a
/// critical one; a partial outage is major; degraded performance is minor).
pub fn overall(
    statuses: &[ComponentStatus],
    incidents: &[Incident],
    now: UnixTime,
) -> (Indicator, &'static str) {
    let mut indicator = incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Incident && i.is_active(now))
        .map(|i| Indicator::from_impact(i.impact))
        .max()
        .unwrap_or(Indicator::None);
    let known: Vec<ComponentStatus> = statuses
        .iter()
        .copied()
        .filter(|s| *s != ComponentStatus::Unknown)
        .collect();
    let from_components =
        if !known.is_empty() && known.iter().all(|s| *s == ComponentStatus::MajorOutage) {
            Indicator::Critical
        } else if known.iter().any(|s| {
            matches!(
                s,
                ComponentStatus::MajorOutage | ComponentStatus::PartialOutage
            )
        }) {
            Indicator::Major
        } else if known.contains(&ComponentStatus::DegradedPerformance) {
            Indicator::Minor
        } else {
            Indicator::None
        };
    indicator = indicator.max(from_components);
    let maintenance = incidents
        .iter()
        .any(|i| i.kind == IncidentKind::Maintenance && i.is_active(now));
    let description = match indicator {
        Indicator::None if maintenance => "Scheduled maintenance in progress",
        Indicator::None => "All systems operational",
        Indicator::Minor => "Minor service disruption",
        Indicator::Major => "Partial system outage",
        Indicator::Critical => "Major system outage",
    };
    (indicator, description)
}

/// One component with everything the page and status.json show about it.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentView {
    pub name: String,
    pub stage: String,
    pub status: ComponentStatus,
    pub probe: Option<CheckResult>,
    /// The last [`UPTIME_DAYS`] days, oldest first.
    pub uptime: Vec<UptimeDay>,
    pub uptime_percent: Option<f64>,
    /// Buckets of the last 24 hours.
    pub latency: Vec<LatencyPoint>,
}

/// The whole status page at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusSnapshot {
    pub now_ms: i64,
    pub indicator: Indicator,
    pub description: &'static str,
    pub components: Vec<ComponentView>,
    /// Open ones, upcoming maintenance and the last [`HISTORY_DAYS`] days, newest first.
    pub incidents: Vec<Incident>,
    /// The latency series' start and bucket width.
    pub latency_since_ms: i64,
    pub latency_bucket_ms: i64,
}

/// Latency is shown for the last 24 hours in 15-minute buckets.
pub const LATENCY_WINDOW_MS: i64 = DAY_MS;
pub const LATENCY_BUCKET_MS: i64 = 15 * 60 * 1000;

/// The order components are listed in: portal, token endpoint, then by stage and name.
fn sort_key(name: &str, stage: &str) -> (u8, u8, String) {
    let first = match name {
        PORTAL_COMPONENT => 0,
        TOKEN_COMPONENT => 1,
        _ => 2,
    };
    let stage_rank = match stage {
        "portal" => 0,
        "sandbox" => 1,
        "production" => 2,
        _ => 3,
    };
    (first, stage_rank, name.to_owned())
}

/// Reads everything and works out the displayed states. Components are those probed in the
/// last 24 hours, plus any an open incident names.
pub async fn snapshot(
    db: &Database,
    now_ms: i64,
    stale_after_ms: i64,
) -> CoreResult<StatusSnapshot> {
    let now = now_ms.div_euclid(1000);
    let latest = latest_checks(db, now_ms - DAY_MS).await?;
    let today = day_of_ms(now_ms);
    let rollups = daily_rollups(db, today - UPTIME_DAYS + 1).await?;
    let since = now_ms - LATENCY_WINDOW_MS;
    let latency = latency_series(db, since, LATENCY_BUCKET_MS).await?;
    let incidents = list_incidents(db, now - HISTORY_DAYS * 86_400).await?;

    let mut names: BTreeMap<String, String> = latest
        .iter()
        .map(|c| (c.component.clone(), c.stage.clone()))
        .collect();
    for incident in incidents.iter().filter(|i| i.is_open()) {
        for component in &incident.components {
            if !names.contains_key(component) {
                let stage = rollups
                    .iter()
                    .find(|r| &r.component == component)
                    .map_or_else(String::new, |r| r.stage.clone());
                names.insert(component.clone(), stage);
            }
        }
    }
    let mut ordered: Vec<(String, String)> = names.into_iter().collect();
    ordered.sort_by_key(|(name, stage)| sort_key(name, stage));
    let components: Vec<ComponentView> = ordered
        .into_iter()
        .map(|(name, stage)| {
            let probe = latest.iter().find(|c| c.component == name).cloned();
            let status =
                component_status(&name, probe.as_ref(), &incidents, now_ms, stale_after_ms);
            let uptime = uptime_days(&rollups, &name, today, UPTIME_DAYS);
            ComponentView {
                uptime_percent: uptime_over(&uptime),
                latency: latency
                    .iter()
                    .filter(|p| p.component == name)
                    .cloned()
                    .collect(),
                name,
                stage,
                status,
                probe,
                uptime,
            }
        })
        .collect();
    let statuses: Vec<ComponentStatus> = components.iter().map(|c| c.status).collect();
    let (indicator, description) = overall(&statuses, &incidents, now);
    Ok(StatusSnapshot {
        now_ms,
        indicator,
        description,
        components,
        incidents,
        latency_since_ms: since,
        latency_bucket_ms: LATENCY_BUCKET_MS,
    })
}

/// Component names an incident may name: those on the status page (probed in the last 90
/// days).
pub async fn known_components(db: &Database, now_ms: i64) -> CoreResult<Vec<String>> {
    let mut names: Vec<(String, String)> = sqlx::query_as(
        "SELECT component, MAX(stage) FROM status_daily WHERE day >= $1 GROUP BY component",
    )
    .bind(day_of_ms(now_ms) - UPTIME_DAYS + 1)
    .fetch_all(db.pool())
    .await?;
    names.sort_by_key(|(name, stage)| sort_key(name, stage));
    Ok(names.into_iter().map(|(name, _)| name).collect())
}

/// `YYYY-MM-DDTHH:MM` (an HTML `datetime-local` value, read as UTC) → unix seconds.
pub fn parse_utc_minute(text: &str) -> Option<UnixTime> {
    let text = text.trim();
    let (date, clock) = text.split_once(['T', ' '])?;
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u8 = d.next()?.parse().ok()?;
    let day: u8 = d.next()?.parse().ok()?;
    if d.next().is_some() {
        return None;
    }
    let mut c = clock.split(':');
    let hour: u8 = c.next()?.parse().ok()?;
    let minute: u8 = c.next()?.parse().ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(year).ok()?,
        time::Month::try_from(month).ok()?,
        day,
    )
    .ok()?;
    let t = time::Time::from_hms(hour, minute, 0).ok()?;
    Some(date.with_time(t).assume_utc().unix_timestamp())
}

/// Takes or renews the probe lease for `holder` until `now_ms + ttl_ms`; `true` when `holder`
/// holds it afterwards. Every process running the portal front asks before each probe pass:
/// the holder probes, the others skip, and when the holder stops renewing (stopped, crashed)
/// the next to ask after `ttl_ms` takes over.
pub async fn acquire_probe_lease(
    db: &Database,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> CoreResult<bool> {
    // One statement: a concurrent taker either finds the row renewed or loses the race.
    sqlx::query(
        "INSERT INTO status_probe_lease (id, holder, expires_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE status_probe_lease.holder = excluded.holder OR status_probe_lease.expires_at <= $3",
    )
    .bind(holder)
    .bind(now_ms + ttl_ms)
    .bind(now_ms)
    .execute(db.pool())
    .await?;
    let current: Option<String> =
        sqlx::query_scalar("SELECT holder FROM status_probe_lease WHERE id = 1")
            .fetch_optional(db.pool())
            .await?;
    Ok(current.as_deref() == Some(holder))
}

/// Gives the probe lease up (at shutdown), so a restarted or other replica probes at once
/// instead of waiting for the lease to run out.
pub async fn release_probe_lease(db: &Database, holder: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM status_probe_lease WHERE id = 1 AND holder = $1")
        .bind(holder)
        .execute(db.pool())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    fn check(component: &str, state: ProbeState, at_ms: i64) -> CheckResult {
        CheckResult {
            component: component.into(),
            stage: "sandbox".into(),
            state,
            latency_ms: 40,
            error: None,
            checked_at_ms: at_ms,
        }
    }

    fn incident(kind: IncidentKind, impact: Impact, components: &[&str]) -> Incident {
        Incident {
            id: "inc_1".into(),
            kind,
            title: "t".into(),
            impact,
            status: kind.statuses()[0],
            components: components.iter().map(|c| (*c).to_owned()).collect(),
            starts_at: None,
            ends_at: None,
            created_at: 0,
            updated_at: 0,
            resolved_at: None,
            updates: Vec::new(),
        }
    }

    #[test]
    fn uptime_days_has_one_entry_per_day_oldest_first() {
        let rollups = vec![
            DayRollup {
                component: "A".into(),
                stage: "sandbox".into(),
                day: 100,
                ok_count: 9,
                degraded_count: 1,
                total: 10,
            },
            DayRollup {
                component: "B".into(),
                stage: "sandbox".into(),
                day: 100,
                ok_count: 0,
                degraded_count: 0,
                total: 4,
            },
        ];
        let days = uptime_days(&rollups, "A", 101, 90);
        assert_eq!(days.len(), 90);
        assert_eq!(days.first().unwrap().day, 12);
        assert_eq!(days.last().unwrap().day, 101);
        assert_eq!(days[88].uptime(), Some(0.9));
        assert_eq!(days[89].uptime(), None, "no probes: no data, not 0 %");
        assert_eq!(uptime_over(&days), Some(0.9));
        assert_eq!(uptime_over(&uptime_days(&rollups, "C", 101, 90)), None);
    }

    #[test]
    fn incidents_and_probes_combine_into_the_displayed_state() {
        let now_ms = 1_000_000_000;
        let fresh = check("Sandbox API v2", ProbeState::Operational, now_ms - 1000);
        let stale = check(
            "Sandbox API v2",
            ProbeState::Operational,
            now_ms - 10 * 60 * 1000,
        );
        let down = check("Sandbox API v2", ProbeState::Down, now_ms - 1000);
        let status = |probe: &CheckResult, incidents: &[Incident]| {
            component_status(
                "Sandbox API v2",
                Some(probe),
                incidents,
                now_ms,
                DEFAULT_STALE_AFTER_MS,
            )
        };
        assert_eq!(status(&fresh, &[]), ComponentStatus::Operational);
        assert_eq!(status(&stale, &[]), ComponentStatus::Unknown);
        assert_eq!(status(&down, &[]), ComponentStatus::MajorOutage);
        let major = incident(IncidentKind::Incident, Impact::Major, &["Sandbox API v2"]);
        assert_eq!(
            status(&fresh, std::slice::from_ref(&major)),
            ComponentStatus::PartialOutage
        );
        assert_eq!(
            status(&down, std::slice::from_ref(&major)),
            ComponentStatus::MajorOutage
        );
        let elsewhere = incident(
            IncidentKind::Incident,
            Impact::Critical,
            &["Token endpoint"],
        );
        assert_eq!(status(&fresh, &[elsewhere]), ComponentStatus::Operational);
        let mut resolved = major;
        resolved.resolved_at = Some(1);
        assert_eq!(status(&fresh, &[resolved]), ComponentStatus::Operational);
        let mut maintenance = incident(
            IncidentKind::Maintenance,
            Impact::Minor,
            &["Sandbox API v2"],
        );
        maintenance.starts_at = Some(now_ms / 1000 - 60);
        maintenance.ends_at = Some(now_ms / 1000 + 60);
        assert_eq!(
            status(&down, &[maintenance.clone()]),
            ComponentStatus::UnderMaintenance
        );
        maintenance.starts_at = Some(now_ms / 1000 + 600);
        maintenance.ends_at = Some(now_ms / 1000 + 1200);
        assert_eq!(
            status(&fresh, &[maintenance.clone()]),
            ComponentStatus::Operational
        );
        assert!(maintenance.is_upcoming(now_ms / 1000));
    }

    #[test]
    fn the_indicator_is_the_worst_of_incidents_and_components() {
        use ComponentStatus as S;
        let now = 1_000;
        assert_eq!(
            overall(&[S::Operational, S::Operational], &[], now),
            (Indicator::None, "All systems operational")
        );
        assert_eq!(
            overall(&[S::Operational, S::DegradedPerformance], &[], now).0,
            Indicator::Minor
        );
        assert_eq!(
            overall(&[S::Operational, S::MajorOutage], &[], now).0,
            Indicator::Major
        );
        assert_eq!(
            overall(&[S::MajorOutage, S::MajorOutage], &[], now).0,
            Indicator::Critical
        );
        assert_eq!(overall(&[S::Unknown], &[], now).0, Indicator::None);
        let critical = incident(IncidentKind::Incident, Impact::Critical, &[]);
        assert_eq!(
            overall(&[S::Operational], std::slice::from_ref(&critical), now),
            (Indicator::Critical, "Major system outage")
        );
        let mut resolved = critical;
        resolved.resolved_at = Some(5);
        assert_eq!(
            overall(&[S::Operational], &[resolved], now).0,
            Indicator::None
        );
        let mut maintenance = incident(IncidentKind::Maintenance, Impact::Major, &[]);
        maintenance.status = UpdateStatus::InProgress;
        assert_eq!(
            overall(&[S::UnderMaintenance], &[maintenance], now),
            (Indicator::None, "Scheduled maintenance in progress")
        );
    }

    #[test]
    fn component_names_and_times() {
        assert_eq!(api_component("sandbox", "v2"), "Sandbox API v2");
        assert_eq!(api_component("production", "v1"), "Production API v1");
        assert_eq!(parse_utc_minute("2026-12-06T10:30"), Some(1_796_553_000));
        assert_eq!(parse_utc_minute("2026-02-30T10:30"), None);
        assert_eq!(parse_utc_minute("soon"), None);
        assert_eq!(day_of_ms(-1), -1);
    }

    #[tokio::test]
    async fn one_process_holds_the_probe_lease_until_it_stops_renewing() {
        for test_db in TestDatabase::both().await {
            let db = &test_db.db;
            let engine = db.backend().name();
            let ttl = 90_000;
            let t0 = 1_000_000;
            assert!(
                acquire_probe_lease(db, "a", t0, ttl).await.unwrap(),
                "{engine}"
            );
            assert!(
                !acquire_probe_lease(db, "b", t0 + 1, ttl).await.unwrap(),
                "{engine}"
            );
            // The holder renews; the other still waits.
            assert!(
                acquire_probe_lease(db, "a", t0 + 30_000, ttl)
                    .await
                    .unwrap()
            );
            assert!(
                !acquire_probe_lease(db, "b", t0 + ttl + 1, ttl)
                    .await
                    .unwrap()
            );
            // The holder stops renewing: after its lease ends, the other takes over.
            let expired = t0 + 30_000 + ttl;
            assert!(
                acquire_probe_lease(db, "b", expired, ttl).await.unwrap(),
                "{engine}"
            );
            assert!(
                !acquire_probe_lease(db, "a", expired + 1, ttl)
                    .await
                    .unwrap(),
                "{engine}"
            );
            // Given up at shutdown (only by its holder), it is free at once.
            release_probe_lease(db, "a").await.unwrap();
            assert!(
                !acquire_probe_lease(db, "a", expired + 2, ttl)
                    .await
                    .unwrap()
            );
            release_probe_lease(db, "b").await.unwrap();
            assert!(
                acquire_probe_lease(db, "a", expired + 3, ttl)
                    .await
                    .unwrap()
            );
        }
    }

    #[tokio::test]
    async fn rollups_purges_and_incidents_on_both_engines() {
        for test_db in TestDatabase::both().await {
            let db = &test_db.db;
            let engine = db.backend().name();
            let now_ms = crate::clock::now_ms();
            let today = day_of_ms(now_ms);
            let mut results = vec![
                check("Sandbox API v2", ProbeState::Operational, now_ms - 2000),
                check("Sandbox API v2", ProbeState::Degraded, now_ms - 1000),
                check("Sandbox API v2", ProbeState::Down, now_ms),
                check("Token endpoint", ProbeState::Operational, now_ms),
                // Eight days ago: rolled up, then purged from the raw table.
                check(
                    "Token endpoint",
                    ProbeState::Operational,
                    now_ms - 8 * DAY_MS,
                ),
            ];
            results[2].error = Some("x".repeat(1000));
            record_checks(db, &results).await.unwrap();
            let rollups = daily_rollups(db, today - 89).await.unwrap();
            let v2 = rollups
                .iter()
                .find(|r| r.component == "Sandbox API v2" && r.day == today)
                .unwrap_or_else(|| panic!("{engine}: {rollups:?}"));
            assert_eq!(
                (v2.ok_count, v2.degraded_count, v2.total),
                (1, 1, 3),
                "{engine}"
            );
            let latest = latest_checks(db, now_ms - DAY_MS).await.unwrap();
            let v2 = latest
                .iter()
                .find(|c| c.component == "Sandbox API v2")
                .unwrap();
            assert_eq!(v2.state, ProbeState::Down, "{engine}");
            assert!(v2.error.as_ref().unwrap().chars().count() <= MAX_ERROR_CHARS + 1);
            let series = latency_series(db, now_ms - DAY_MS, LATENCY_BUCKET_MS)
                .await
                .unwrap();
            assert!(
                series.iter().all(|p| p.avg_ms == 40 && p.max_ms == 40),
                "{engine}: {series:?}"
            );
            assert_eq!(
                series
                    .iter()
                    .filter(|p| p.component == "Sandbox API v2")
                    .map(|p| p.samples)
                    .sum::<i64>(),
                2,
                "{engine}: down results have no latency"
            );
            assert_eq!(purge(db, now_ms, 10).await.unwrap(), 1, "{engine}");
            let rollups = daily_rollups(db, today - 89).await.unwrap();
            assert!(
                rollups.iter().any(|r| r.day == today - 8),
                "{engine}: the rollup stays"
            );
            assert_eq!(
                known_components(db, now_ms).await.unwrap(),
                vec!["Token endpoint".to_owned(), "Sandbox API v2".to_owned()],
                "{engine}"
            );

            // The probe's application: idempotent, one live secret (the derived one).
            let secret = crate::secret::PlainSecret::from_presented("pcs_derived-for-the-test");
            let read = crate::authz::scopes::Scopes::parse("commercial:read").unwrap();
            let first = ensure_probe_application(db, &secret, false, &read)
                .await
                .unwrap();
            let second = ensure_probe_application(db, &secret, true, &read)
                .await
                .unwrap();
            assert_eq!(first, second, "{engine}");
            let other = crate::secret::PlainSecret::from_presented("pcs_after-a-new-master-key");
            assert_eq!(
                ensure_probe_application(db, &other, true, &read)
                    .await
                    .unwrap(),
                first
            );
            // The models now declare another read operation: the probe holds its scope too.
            let more =
                crate::authz::scopes::Scopes::parse("commercial:read logistics:read").unwrap();
            ensure_probe_application(db, &secret, true, &more)
                .await
                .unwrap();
            let (app, secrets) = crate::apps::applications::load_client(db, &first)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(secrets.len(), 1, "{engine}");
            assert!(secrets[0].hash == secret.hash(), "{engine}");
            assert_eq!(app.partner_id, crate::orgs::partners::PROBE_PARTNER);
            assert!(app.production_access);
            assert_eq!(app.scopes, more, "{engine}");
            assert_eq!(
                crate::apps::plans::effective_plan(db, &app.id)
                    .await
                    .unwrap()
                    .quota,
                1_000_000_000
            );

            // Incidents: admins only, validated, audited, closed by a final update.
            let mut conn = db.pool().acquire().await.unwrap();
            let admin = crate::identity::users::create(
                &mut conn,
                "ops@example.com",
                crate::identity::users::Role::Admin,
            )
            .await
            .unwrap();
            let partner = crate::identity::users::create(
                &mut conn,
                "dev@example.com",
                crate::identity::users::Role::Partner,
            )
            .await
            .unwrap();
            drop(conn);
            let ctx = ActorContext::new(&admin, "127.0.0.1");
            let known = known_components(db, now_ms).await.unwrap();
            let new = NewIncident {
                kind: IncidentKind::Incident,
                title: "Sandbox v2 errors".into(),
                impact: Impact::Major,
                components: vec!["Sandbox API v2".into()],
                status: UpdateStatus::Investigating,
                message: "We are looking into it.".into(),
                starts_at: None,
                ends_at: None,
            };
            let refused = create_incident(
                db,
                &ActorContext::new(&partner, "127.0.0.1"),
                new.clone(),
                &known,
            )
            .await;
            assert!(
                matches!(refused, Err(CoreError::Forbidden(_))),
                "{engine}: {refused:?}"
            );
            let unknown = NewIncident {
                components: vec!["Mainframe".into()],
                ..new.clone()
            };
            assert!(matches!(
                create_incident(db, &ctx, unknown, &known).await,
                Err(CoreError::Invalid(_))
            ));
            let no_window = NewIncident {
                kind: IncidentKind::Maintenance,
                status: UpdateStatus::Scheduled,
                ..new.clone()
            };
            assert!(matches!(
                create_incident(db, &ctx, no_window, &known).await,
                Err(CoreError::Invalid(_))
            ));
            let created = create_incident(db, &ctx, new, &known).await.unwrap();
            assert_eq!(created.updates.len(), 1);
            assert!(created.is_open());
            let snap = snapshot(db, now_ms, DEFAULT_STALE_AFTER_MS).await.unwrap();
            assert_eq!(snap.indicator, Indicator::Major, "{engine}");
            let wrong = post_update(db, &ctx, &created.id, UpdateStatus::Completed, "done").await;
            assert!(
                matches!(wrong, Err(CoreError::Invalid(_))),
                "{engine}: {wrong:?}"
            );
            post_update(db, &ctx, &created.id, UpdateStatus::Identified, "Found it.")
                .await
                .unwrap();
            let resolved = post_update(db, &ctx, &created.id, UpdateStatus::Resolved, "Fixed.")
                .await
                .unwrap();
            assert_eq!(resolved.updates.len(), 3);
            assert_eq!(
                resolved.updates[0].status,
                UpdateStatus::Resolved,
                "newest first"
            );
            assert!(!resolved.is_open());
            let again = post_update(db, &ctx, &created.id, UpdateStatus::Monitoring, "hm").await;
            assert!(matches!(again, Err(CoreError::Conflict(_))), "{engine}");
            let listed = list_incidents(db, crate::clock::now() - 86_400)
                .await
                .unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].components, vec!["Sandbox API v2".to_owned()]);
            let audit: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'status.incident.%' AND target = $1",
            )
            .bind(&created.id)
            .fetch_one(db.pool())
            .await
            .unwrap();
            assert_eq!(audit, 3, "{engine}: create, update, resolve");
        }
    }
}
