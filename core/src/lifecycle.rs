//! API versions' lifecycle dates as admins override them, and who still calls what is
//! deprecated, read from the request log.
//!
//! The model files give each version's dates; an override replaces each date it sets. What
//! the dates mean (current, deprecated, sunset) is the gateway's business: the caller checks
//! the merged dates before [`set_dates`] stores them.

use crate::audit;
use crate::clock::{self, UnixTime};
use crate::identity;
use crate::identity::ActorContext;
use crate::orgs::partners;
use crate::{CoreError, CoreResult, Database};
use serde_json::json;
use sqlx::FromRow;
use time::{Date, Month, OffsetDateTime};

/// An admin's dates for one version (`YYYY-MM-DD`; `None` = as the model says).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DateOverride {
    pub version: String,
    pub ga: Option<String>,
    pub deprecated_since: Option<String>,
    pub sunset: Option<String>,
    pub updated_at: UnixTime,
    pub updated_by: String,
}

impl DateOverride {
    fn is_empty(&self) -> bool {
        self.ga.is_none() && self.deprecated_since.is_none() && self.sunset.is_none()
    }
}

#[derive(FromRow)]
struct OverrideRow {
    version: String,
    ga: Option<String>,
    deprecated_since: Option<String>,
    sunset: Option<String>,
    updated_at: i64,
    updated_by: String,
}

/// A strict `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> CoreResult<Date> {
    let invalid = || CoreError::Invalid(format!("{text:?} is not a date like 2027-06-30."));
    let bytes = text.as_bytes();
    if bytes.len() != 10
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u16>().map_err(|_| invalid());
    let month = Month::try_from(u8::try_from(number(5..7)?).map_err(|_| invalid())?)
        .map_err(|_| invalid())?;
    let day = u8::try_from(number(8..10)?).map_err(|_| invalid())?;
    Date::from_calendar_date(i32::from(number(0..4)?), month, day).map_err(|_| invalid())
}

/// Whole days from the UTC day of `now` to `day` (`YYYY-MM-DD`); 0 on the day, negative after.
pub fn days_until(day: &str, now: UnixTime) -> Option<i64> {
    let date = parse_day(day).ok()?;
    let today = OffsetDateTime::from_unix_timestamp(now).ok()?.date();
    Some((date - today).whole_days())
}

/// Every override, by version name.
pub async fn list_overrides(db: &Database) -> CoreResult<Vec<DateOverride>> {
    let rows: Vec<OverrideRow> = sqlx::query_as(
        "SELECT version, ga, deprecated_since, sunset, updated_at, updated_by \
         FROM api_version_dates ORDER BY version",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DateOverride {
            version: r.version,
            ga: r.ga,
            deprecated_since: r.deprecated_since,
            sunset: r.sunset,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        })
        .collect())
}

/// Stores an admin's dates for `version` (all `None` removes the override), audited.
/// `dates` must be valid `YYYY-MM-DD` or `None`.
pub async fn set_dates(db: &Database, ctx: &ActorContext, dates: &DateOverride) -> CoreResult<()> {
    for date in [&dates.ga, &dates.deprecated_since, &dates.sunset]
        .into_iter()
        .flatten()
    {
        parse_day(date)?;
    }
    let mut tx = audit::Write::begin(db, ctx).await?;
    let admin = identity::require_admin(&mut tx, ctx).await?;
    if dates.is_empty() {
        sqlx::query("DELETE FROM api_version_dates WHERE version = $1")
            .bind(&dates.version)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO api_version_dates (version, ga, deprecated_since, sunset, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (version) DO UPDATE SET ga = excluded.ga, \
             deprecated_since = excluded.deprecated_since, sunset = excluded.sunset, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(&dates.version)
        .bind(&dates.ga)
        .bind(&dates.deprecated_since)
        .bind(&dates.sunset)
        .bind(clock::now())
        .bind(&admin.user.email)
        .execute(&mut *tx)
        .await?;
    }
    tx.record(
        if dates.is_empty() {
            "api_version.dates_reset"
        } else {
            "api_version.dates_set"
        },
        Some(&dates.version),
        None,
        &json!({
            "ga": dates.ga,
            "deprecated_since": dates.deprecated_since,
            "sunset": dates.sunset,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Calls grouped by application, stage, version, method and route (the route template, e.g.
/// `/v1/commercial/orders/{orderId}`), since a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallGroup {
    pub partner_id: String,
    pub client_id: String,
    pub stage: String,
    pub version: String,
    pub method: String,
    pub route: String,
    pub calls: i64,
    pub last_call_ms: i64,
}

#[derive(FromRow)]
struct CallGroupRow {
    partner_id: Option<String>,
    client_id: Option<String>,
    stage: String,
    version: Option<String>,
    method: String,
    route: String,
    calls: i64,
    last_call_ms: i64,
}

const CALL_GROUPS: &str = "SELECT e.partner_id, c.client_id, c.stage, c.version, e.method, \
     c.route, COUNT(*) AS calls, MAX(e.occurred_at) AS last_call_ms \
     FROM request_log_entry e JOIN request_context c ON c.id = e.context_id";

fn groups(rows: Vec<CallGroupRow>) -> Vec<CallGroup> {
    rows.into_iter()
        .filter_map(|r| {
            Some(CallGroup {
                partner_id: r.partner_id?,
                client_id: r.client_id?,
                stage: r.stage,
                version: r.version?,
                method: r.method,
                route: r.route,
                calls: r.calls,
                last_call_ms: r.last_call_ms,
            })
        })
        .collect()
}

/// One partner's (by tenant slug, as the request log names partners) calls since `since_ms`, grouped (the caller keeps the deprecated ones).
pub async fn partner_calls(
    db: &Database,
    partner_id: &str,
    since_ms: i64,
) -> CoreResult<Vec<CallGroup>> {
    let rows: Vec<CallGroupRow> = sqlx::query_as(&format!(
        "{CALL_GROUPS} WHERE e.partner_id = $1 AND e.occurred_at >= $2 \
         GROUP BY e.partner_id, c.client_id, c.stage, c.version, e.method, c.route"
    ))
    .bind(partner_id)
    .bind(since_ms)
    .fetch_all(db.pool())
    .await?;
    Ok(groups(rows))
}

/// Every partner's calls to `versions` since `since_ms`, grouped, leaving out the platform's
/// own status probe.
pub async fn calls_to_versions(
    db: &Database,
    versions: &[&str],
    since_ms: i64,
) -> CoreResult<Vec<CallGroup>> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..versions.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "{CALL_GROUPS} WHERE e.occurred_at >= $1 AND c.version IN ({}) \
         AND (e.partner_id IS NULL OR e.partner_id <> $2) \
         GROUP BY e.partner_id, c.client_id, c.stage, c.version, e.method, c.route",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, CallGroupRow>(&sql)
        .bind(since_ms)
        .bind(partners::PROBE_PARTNER);
    for version in versions {
        query = query.bind(*version);
    }
    Ok(groups(query.fetch_all(db.pool()).await?))
}

/// Something deprecated a caller may still use: a whole version, or one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeprecatedTarget {
    pub version: String,
    /// `(method, route)` of one operation; `None` = every call to the version.
    pub operation: Option<(String, String)>,
    /// When it stops (or stopped) working, `YYYY-MM-DD`.
    pub sunset: Option<String>,
}

/// One application's use of one deprecated target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeprecatedUse {
    pub client_id: String,
    pub partner_id: String,
    pub target: DeprecatedTarget,
    pub calls: i64,
    pub last_call_ms: i64,
}

/// Which of `groups` hit a deprecated target, summed per application and target (every stage
/// and outcome counts: a refused call to a deprecated version is still a call to move off it).
/// Most calls first.
pub fn deprecated_uses(groups: &[CallGroup], targets: &[DeprecatedTarget]) -> Vec<DeprecatedUse> {
    let mut uses: Vec<DeprecatedUse> = Vec::new();
    for group in groups {
        let hit = targets.iter().find(|t| {
            t.version == group.version
                && t.operation
                    .as_ref()
                    .is_none_or(|(method, route)| *method == group.method && *route == group.route)
        });
        let Some(target) = hit else { continue };
        match uses
            .iter_mut()
            .find(|u| u.client_id == group.client_id && u.target == *target)
        {
            Some(found) => {
                found.calls += group.calls;
                found.last_call_ms = found.last_call_ms.max(group.last_call_ms);
            }
            None => uses.push(DeprecatedUse {
                client_id: group.client_id.clone(),
                partner_id: group.partner_id.clone(),
                target: target.clone(),
                calls: group.calls,
                last_call_ms: group.last_call_ms,
            }),
        }
    }
    uses.sort_by(|a, b| {
        b.calls
            .cmp(&a.calls)
            .then_with(|| a.client_id.cmp(&b.client_id))
            .then_with(|| a.target.version.cmp(&b.target.version))
    });
    uses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(client: &str, version: &str, method: &str, route: &str, calls: i64) -> CallGroup {
        CallGroup {
            partner_id: "ptn_1".into(),
            client_id: client.into(),
            stage: "sandbox".into(),
            version: version.into(),
            method: method.into(),
            route: route.into(),
            calls,
            last_call_ms: calls * 1000,
        }
    }

    #[test]
    fn deprecated_uses_sum_per_application_and_target() {
        let v1 = DeprecatedTarget {
            version: "v1".into(),
            operation: None,
            sunset: Some("2027-06-30".into()),
        };
        let packages = DeprecatedTarget {
            version: "v2".into(),
            operation: Some(("GET".into(), "/v2/commercial/packages".into())),
            sunset: Some("2027-01-31".into()),
        };
        let groups = [
            group("app_a", "v1", "GET", "/v1/commercial/orders", 3),
            group("app_a", "v1", "POST", "/v1/commercial/orders", 2),
            group("app_a", "v2", "GET", "/v2/commercial/orders", 50),
            group("app_b", "v2", "GET", "/v2/commercial/packages", 7),
            group("app_b", "v2", "POST", "/v2/commercial/packages", 1),
        ];
        let uses = deprecated_uses(&groups, &[v1.clone(), packages.clone()]);
        assert_eq!(uses.len(), 2);
        assert_eq!(
            (uses[0].client_id.as_str(), &uses[0].target),
            ("app_b", &packages)
        );
        assert_eq!(uses[0].calls, 7);
        assert_eq!(
            (uses[1].client_id.as_str(), &uses[1].target),
            ("app_a", &v1)
        );
        assert_eq!((uses[1].calls, uses[1].last_call_ms), (5, 3000));
        assert!(deprecated_uses(&groups, &[]).is_empty());
    }

    #[test]
    fn days_until_counts_calendar_days() {
        // 2026-12-04T23:00:00Z
        let now = 1_796_425_200;
        assert_eq!(days_until("2026-12-05", now), Some(1));
        assert_eq!(days_until("2026-12-04", now), Some(0));
        assert_eq!(days_until("2026-12-01", now), Some(-3));
        assert_eq!(days_until("2027-06-30", now), Some(208));
        assert_eq!(days_until("soon", now), None);
    }

    #[test]
    fn days_are_strict() {
        assert_eq!(
            parse_day("2027-06-30").unwrap(),
            Date::from_calendar_date(2027, Month::June, 30).unwrap()
        );
        for bad in [
            "2027-6-30",
            "2027-06-31",
            "30/06/2027",
            "",
            "2027-13-01",
            "+027-06-30",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
    }
}
