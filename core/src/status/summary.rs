//! What it adds up to: each component's displayed state and the overall indicator.

use super::*;
use crate::clock::UnixTime;
use crate::{CoreResult, Database};
use std::collections::BTreeMap;

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
