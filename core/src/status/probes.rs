//! Probe results: the synthetic checks' raw rows (kept a week), their daily rollup per
//! component, latency points, and the probe's own partner and application.

use super::*;
use crate::{CoreError, CoreResult, Database, ids};
use sqlx::FromRow;
use std::collections::BTreeSet;

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
