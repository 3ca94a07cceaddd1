//! Hourly rollups of the request log (table layout in
//! `migrations/20261206000015_request_usage_hourly.sql`) and the monthly metering export built on
//! them, for billing.
//!
//! A background job ([`roll_up`]) aggregates each closed hour once, a minute after it ends (the
//! request log's writer is late by well under a second), oldest first, at most
//! [`MAX_HOURS_PER_PASS`] hours per pass. Several processes may run it: each hour is claimed by
//! moving `request_usage_progress.next_hour` on in the same transaction as its rows, so an hour
//! is rolled up exactly once. Reports read the rollups for closed hours and the raw log for the
//! hours after them, so they are complete up to the last call.

use crate::identity::ActorContext;
use crate::{CoreError, CoreResult, Database};
use std::collections::BTreeMap;

pub const HOUR_MS: i64 = 3_600_000;
/// An hour is rolled up this long after it ends.
pub const SETTLE_MS: i64 = 60_000;
/// Hours one pass rolls up at most (a first start over a long log catches up over passes).
pub const MAX_HOURS_PER_PASS: i64 = 48;
/// Rollups are kept this long (the raw log much less).
pub const RETENTION_HOURS: i64 = 400 * 24;

/// The grouping and measures, shared by the rollup and the reports over the raw log.
const GROUPED_COLUMNS: &str = "COALESCE(e.partner_id, ''), COALESCE(c.client_id, ''), COALESCE(c.stage, ''), \
     COALESCE(c.action, ''), COALESCE(c.version, ''), e.status / 100, \
     CASE WHEN c.decision = 'allow' THEN 'allowed' WHEN e.status = 429 THEN 'throttled' ELSE 'denied' END, \
     COUNT(*), SUM(e.latency_us), \
     SUM(CASE WHEN e.latency_us <= 5000 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN e.latency_us > 5000 AND e.latency_us <= 25000 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN e.latency_us > 25000 AND e.latency_us <= 100000 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN e.latency_us > 100000 AND e.latency_us <= 500000 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN e.latency_us > 500000 AND e.latency_us <= 2500000 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN e.latency_us > 2500000 THEN 1 ELSE 0 END)";

/// The first hour not rolled up yet; on a fresh table, the hour of the oldest call (or the
/// last closed hour when the log is empty).
async fn next_hour(db: &Database, last_closed: i64) -> CoreResult<i64> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT next_hour FROM request_usage_progress WHERE id = 1")
            .fetch_optional(db.pool())
            .await?;
    if let Some((hour,)) = found {
        return Ok(hour);
    }
    let oldest: (Option<i64>,) = sqlx::query_as("SELECT MIN(occurred_at) FROM request_log_entry")
        .fetch_one(db.pool())
        .await?;
    let start = oldest.0.map_or(last_closed, |ms| ms.div_euclid(HOUR_MS));
    sqlx::query(
        "INSERT INTO request_usage_progress (id, next_hour) VALUES (1, $1) ON CONFLICT DO NOTHING",
    )
    .bind(start)
    .execute(db.pool())
    .await?;
    let (hour,): (i64,) =
        sqlx::query_as("SELECT next_hour FROM request_usage_progress WHERE id = 1")
            .fetch_one(db.pool())
            .await?;
    Ok(hour)
}

/// Rolls up the closed hours not rolled up yet (at most [`MAX_HOURS_PER_PASS`]). Returns how
/// many hours this call rolled up.
pub async fn roll_up(db: &Database, now_ms: i64) -> CoreResult<i64> {
    let closed_before = (now_ms - SETTLE_MS).div_euclid(HOUR_MS);
    let mut hour = next_hour(db, closed_before).await?;
    let mut done = 0;
    while hour < closed_before && done < MAX_HOURS_PER_PASS {
        let mut tx = db.begin_write().await?;
        // Claiming the hour and writing its rows commit together: exactly once.
        let claimed = sqlx::query(
            "UPDATE request_usage_progress SET next_hour = $1 WHERE id = 1 AND next_hour = $2",
        )
        .bind(hour + 1)
        .bind(hour)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            // Another process rolled it up.
            tx.rollback().await?;
            return Ok(done);
        }
        sqlx::query(&format!(
            "INSERT INTO request_usage_hourly (hour, partner_id, client_id, stage, action, version, \
             status_class, outcome, calls, latency_us_total, latency_le_5ms, latency_le_25ms, \
             latency_le_100ms, latency_le_500ms, latency_le_2500ms, latency_over) \
             SELECT $1, {GROUPED_COLUMNS} \
             FROM request_log_entry e LEFT JOIN request_context c ON c.id = e.context_id \
             WHERE e.occurred_at >= $2 AND e.occurred_at < $3 AND e.partner_id IS NOT NULL \
             GROUP BY 2, 3, 4, 5, 6, 7, 8"
        ))
        .bind(hour)
        .bind(hour * HOUR_MS)
        .bind((hour + 1) * HOUR_MS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        hour += 1;
        done += 1;
    }
    Ok(done)
}

/// Forgets rollups older than [`RETENTION_HOURS`].
pub async fn purge(db: &Database, now_ms: i64) -> CoreResult<u64> {
    let before = now_ms.div_euclid(HOUR_MS) - RETENTION_HOURS;
    Ok(
        sqlx::query("DELETE FROM request_usage_hourly WHERE hour < $1")
            .bind(before)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

/// A calendar month (UTC), as `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u8,
}

impl Month {
    pub fn parse(text: &str) -> CoreResult<Self> {
        let invalid = || {
            CoreError::Invalid(format!(
                "{text:?} is not a month: expected YYYY-MM, e.g. 2026-12"
            ))
        };
        let (year, month) = text.trim().split_once('-').ok_or_else(invalid)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let month: u8 = month.parse().map_err(|_| invalid())?;
        if !(1..=12).contains(&month) || year < 1970 {
            return Err(invalid());
        }
        Ok(Self { year, month })
    }

    fn start_ms(self) -> i64 {
        let date = time::Date::from_calendar_date(
            self.year,
            time::Month::try_from(self.month).unwrap_or(time::Month::January),
            1,
        )
        .unwrap_or(time::Date::MIN);
        date.midnight().assume_utc().unix_timestamp() * 1000
    }

    fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// `[start, end)` in unix ms.
    pub fn range_ms(self) -> (i64, i64) {
        (self.start_ms(), self.next().start_ms())
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Upper bounds (ms) of the latency buckets; the last bucket has none.
pub const LATENCY_BUCKETS_MS: [i64; 5] = [5, 25, 100, 500, 2_500];

/// One hour of an application's (or a partner's) traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HourUsage {
    /// Unix hour (ms / [`HOUR_MS`]).
    pub hour: i64,
    /// Calls answered 2xx or 3xx.
    pub success: i64,
    pub client_errors: i64,
    pub server_errors: i64,
    /// Calls refused by the usage plan (429; also counted in `client_errors`).
    pub throttled: i64,
    /// Calls per latency bucket ([`LATENCY_BUCKETS_MS`], then slower).
    pub latency: [i64; 6],
}

impl HourUsage {
    pub fn calls(&self) -> i64 {
        self.success + self.client_errors + self.server_errors
    }

    fn add(&mut self, class: i64, outcome: &str, calls: i64, latency: [i64; 6]) {
        match class {
            4 => self.client_errors += calls,
            5 => self.server_errors += calls,
            _ => self.success += calls,
        }
        if outcome == "throttled" {
            self.throttled += calls;
        }
        for (sum, n) in self.latency.iter_mut().zip(latency) {
            *sum += n;
        }
    }
}

/// The latency (ms, a bucket's upper bound) under which `quantile` (0..1) of the calls of
/// `latency` fell; `None` without calls. Buckets make this an upper estimate.
pub fn latency_quantile(latency: &[i64; 6], quantile: f64) -> Option<i64> {
    let total: i64 = latency.iter().sum();
    if total == 0 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "call counts"
    )]
    let rank = ((total as f64) * quantile).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (index, n) in latency.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(LATENCY_BUCKETS_MS.get(index).copied().unwrap_or(10_000));
        }
    }
    Some(10_000)
}

type HourRow = (i64, i64, String, i64, i64, i64, i64, i64, i64, i64);

/// Hour by hour, `[from_hour, to_hour)`, the traffic of a partner (one application's with
/// `client_id`): rollups for the rolled-up hours, the raw log after them. Hours without calls
/// are included (zeros), so charts have no gaps.
pub async fn hourly(
    db: &Database,
    partner: &str,
    client_id: Option<&str>,
    from_hour: i64,
    to_hour: i64,
    now_ms: i64,
) -> CoreResult<Vec<HourUsage>> {
    let rolled_until = next_hour(db, (now_ms - SETTLE_MS).div_euclid(HOUR_MS)).await?;
    let client = client_id.unwrap_or("");
    let rolled: Vec<HourRow> = sqlx::query_as(
        "SELECT hour, status_class, outcome, CAST(SUM(calls) AS BIGINT), \
         CAST(SUM(latency_le_5ms) AS BIGINT), CAST(SUM(latency_le_25ms) AS BIGINT), \
         CAST(SUM(latency_le_100ms) AS BIGINT), CAST(SUM(latency_le_500ms) AS BIGINT), \
         CAST(SUM(latency_le_2500ms) AS BIGINT), CAST(SUM(latency_over) AS BIGINT) \
         FROM request_usage_hourly WHERE partner_id = $1 AND ($2 = '' OR client_id = $2) \
         AND hour >= $3 AND hour < $4 GROUP BY hour, status_class, outcome",
    )
    .bind(partner)
    .bind(client)
    .bind(from_hour)
    .bind(to_hour.min(rolled_until))
    .fetch_all(db.pool())
    .await?;
    let raw: Vec<HourRow> = sqlx::query_as(&format!(
        "SELECT e.occurred_at / {HOUR_MS}, e.status / 100, \
         CASE WHEN c.decision = 'allow' THEN 'allowed' WHEN e.status = 429 THEN 'throttled' ELSE 'denied' END, \
         COUNT(*), \
         CAST(SUM(CASE WHEN e.latency_us <= 5000 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN e.latency_us > 5000 AND e.latency_us <= 25000 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN e.latency_us > 25000 AND e.latency_us <= 100000 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN e.latency_us > 100000 AND e.latency_us <= 500000 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN e.latency_us > 500000 AND e.latency_us <= 2500000 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN e.latency_us > 2500000 THEN 1 ELSE 0 END) AS BIGINT) \
         FROM request_log_entry e LEFT JOIN request_context c ON c.id = e.context_id \
         WHERE e.partner_id = $1 AND ($2 = '' OR c.client_id = $2) \
         AND e.occurred_at >= $3 AND e.occurred_at < $4 GROUP BY 1, 2, 3"
    ))
    .bind(partner)
    .bind(client)
    .bind(from_hour.max(rolled_until) * HOUR_MS)
    .bind(to_hour * HOUR_MS)
    .fetch_all(db.pool())
    .await?;
    let span = usize::try_from((to_hour - from_hour).max(0)).unwrap_or(0);
    let mut hours: Vec<HourUsage> = (0..span)
        .map(|i| HourUsage {
            hour: from_hour + i64::try_from(i).unwrap_or(0),
            ..HourUsage::default()
        })
        .collect();
    for (hour, class, outcome, calls, b0, b1, b2, b3, b4, b5) in rolled.into_iter().chain(raw) {
        let Some(slot) = usize::try_from(hour - from_hour)
            .ok()
            .and_then(|i| hours.get_mut(i))
        else {
            continue;
        };
        slot.add(class, &outcome, calls, [b0, b1, b2, b3, b4, b5]);
    }
    Ok(hours)
}

/// Sums hours into days (UTC), keeping order: `hours` must start at a day boundary.
pub fn daily(hours: &[HourUsage]) -> Vec<HourUsage> {
    hours
        .chunks(24)
        .map(|day| {
            let mut total = HourUsage {
                hour: day.first().map_or(0, |h| h.hour),
                ..HourUsage::default()
            };
            for hour in day {
                total.success += hour.success;
                total.client_errors += hour.client_errors;
                total.server_errors += hour.server_errors;
                total.throttled += hour.throttled;
                for (sum, n) in total.latency.iter_mut().zip(hour.latency) {
                    *sum += n;
                }
            }
            total
        })
        .collect()
}

/// One partner's traffic over a window, for the admins' overview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerTraffic {
    pub partner_id: String,
    pub name: String,
    pub calls: i64,
    pub server_errors: i64,
    /// Refused by a check other than the usage plan.
    pub denied: i64,
    pub throttled: i64,
}

impl PartnerTraffic {
    /// Percent of calls, one decimal.
    pub fn percent(&self, part: i64) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "call counts")]
        let share = part as f64 * 1000.0 / self.calls as f64;
        share.round() / 10.0
    }
}

/// Refuses anyone but a platform admin: the overview and the metering cover every partner.
async fn require_admin(db: &Database, ctx: &ActorContext) -> CoreResult<()> {
    let mut conn = db.pool().acquire().await?;
    crate::identity::require_admin(&mut conn, ctx).await?;
    Ok(())
}

/// [`metering`], for an admin in the portal.
pub async fn metering_as(
    db: &Database,
    ctx: &ActorContext,
    month: Month,
    partner: Option<&str>,
    now_ms: i64,
) -> CoreResult<Vec<MeterRow>> {
    require_admin(db, ctx).await?;
    metering(db, month, partner, now_ms).await
}

/// Calls of every partner since `from_hour`, most first (admins only).
pub async fn partner_overview(
    db: &Database,
    ctx: &ActorContext,
    from_hour: i64,
    now_ms: i64,
) -> CoreResult<Vec<PartnerTraffic>> {
    require_admin(db, ctx).await?;
    let rolled_until = next_hour(db, (now_ms - SETTLE_MS).div_euclid(HOUR_MS)).await?;
    let rolled: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT partner_id, status_class, outcome, CAST(SUM(calls) AS BIGINT) FROM request_usage_hourly \
         WHERE hour >= $1 AND hour < $2 GROUP BY partner_id, status_class, outcome",
    )
    .bind(from_hour)
    .bind(rolled_until)
    .fetch_all(db.pool())
    .await?;
    let raw: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT e.partner_id, e.status / 100, \
         CASE WHEN c.decision = 'allow' THEN 'allowed' WHEN e.status = 429 THEN 'throttled' ELSE 'denied' END, \
         COUNT(*) FROM request_log_entry e LEFT JOIN request_context c ON c.id = e.context_id \
         WHERE e.occurred_at >= $1 AND e.partner_id IS NOT NULL GROUP BY 1, 2, 3",
    )
    .bind(from_hour.max(rolled_until) * HOUR_MS)
    .fetch_all(db.pool())
    .await?;
    let names: Vec<(String, String)> = sqlx::query_as("SELECT slug, name FROM partners")
        .fetch_all(db.pool())
        .await?;
    let names: std::collections::HashMap<String, String> = names.into_iter().collect();
    let mut by_partner: BTreeMap<String, PartnerTraffic> = BTreeMap::new();
    for (partner_id, class, outcome, calls) in rolled.into_iter().chain(raw) {
        let entry = by_partner
            .entry(partner_id.clone())
            .or_insert_with(|| PartnerTraffic {
                name: names.get(&partner_id).cloned().unwrap_or_default(),
                partner_id,
                calls: 0,
                server_errors: 0,
                denied: 0,
                throttled: 0,
            });
        entry.calls += calls;
        if class == 5 {
            entry.server_errors += calls;
        }
        match outcome.as_str() {
            "throttled" => entry.throttled += calls,
            "denied" => entry.denied += calls,
            _ => {}
        }
    }
    let mut partners: Vec<PartnerTraffic> = by_partner.into_values().collect();
    partners.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.partner_id.cmp(&b.partner_id)));
    Ok(partners)
}

/// An application that has used most of its quota in the current period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NearQuota {
    pub partner_id: String,
    pub application_id: String,
    pub application: String,
    pub used: i64,
    pub quota: i64,
    /// "day" or "month".
    pub period: String,
}

/// Applications that used at least `percent` % of their plan's quota (with overrides) in the
/// current day or month, fullest first (admins only).
pub async fn near_quota(
    db: &Database,
    ctx: &ActorContext,
    percent: i64,
    now_ms: i64,
) -> CoreResult<Vec<NearQuota>> {
    require_admin(db, ctx).await?;
    let plans: Vec<(String, String, String, String, i64, String)> = sqlx::query_as(
        "SELECT a.id, a.name, a.client_id, p.slug, COALESCE(l.quota, u.quota), COALESCE(l.quota_period, u.quota_period) \
         FROM applications a JOIN partners p ON p.id = a.partner_id \
         JOIN usage_plans u ON u.name = a.usage_plan \
         LEFT JOIN application_limits l ON l.application_id = a.id",
    )
    .fetch_all(db.pool())
    .await?;
    let now = now_ms / 1000;
    let mut found = Vec::new();
    for period in [
        crate::apps::plans::QuotaPeriod::Day,
        crate::apps::plans::QuotaPeriod::Month,
    ] {
        let window = period.window(now);
        let used = calls_by_client(db, window.start / 3600, now_ms).await?;
        for (id, name, client, partner, quota, plan_period) in &plans {
            if plan_period != period.as_str() || *quota <= 0 {
                continue;
            }
            let calls = used.get(client).copied().unwrap_or(0);
            if calls.saturating_mul(100) >= quota.saturating_mul(percent) {
                found.push(NearQuota {
                    partner_id: partner.clone(),
                    application_id: id.clone(),
                    application: name.clone(),
                    used: calls,
                    quota: *quota,
                    period: plan_period.clone(),
                });
            }
        }
    }
    found.sort_by(|a, b| (b.used * a.quota).cmp(&(a.used * b.quota)));
    Ok(found)
}

/// Calls per client id since `from_hour` (rollups, then the raw log).
async fn calls_by_client(
    db: &Database,
    from_hour: i64,
    now_ms: i64,
) -> CoreResult<std::collections::HashMap<String, i64>> {
    let rolled_until = next_hour(db, (now_ms - SETTLE_MS).div_euclid(HOUR_MS)).await?;
    let rolled: Vec<(String, i64)> = sqlx::query_as(
        "SELECT client_id, CAST(SUM(calls) AS BIGINT) FROM request_usage_hourly \
         WHERE hour >= $1 AND hour < $2 GROUP BY client_id",
    )
    .bind(from_hour)
    .bind(rolled_until)
    .fetch_all(db.pool())
    .await?;
    let raw: Vec<(String, i64)> = sqlx::query_as(
        "SELECT COALESCE(c.client_id, ''), COUNT(*) FROM request_log_entry e \
         LEFT JOIN request_context c ON c.id = e.context_id \
         WHERE e.occurred_at >= $1 AND e.partner_id IS NOT NULL GROUP BY 1",
    )
    .bind(from_hour.max(rolled_until) * HOUR_MS)
    .fetch_all(db.pool())
    .await?;
    let mut used = std::collections::HashMap::new();
    for (client, calls) in rolled.into_iter().chain(raw) {
        *used.entry(client).or_insert(0) += calls;
    }
    Ok(used)
}

/// One line of the metering export: a partner's calls of one operation in one stage with one
/// status class, in the month.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MeterRow {
    pub partner_id: String,
    /// The Cedar action of the operation (`commercial:CreateOrder`), or empty for calls no
    /// operation matched.
    pub operation: String,
    pub stage: String,
    /// `2xx`, `4xx`, …
    pub status_class: String,
    pub calls: i64,
}

/// The month's calls by partner, operation, stage and status class (all partners, or one),
/// complete up to `now_ms`: rollups for the closed hours, the raw log after them.
pub async fn metering(
    db: &Database,
    month: Month,
    partner: Option<&str>,
    now_ms: i64,
) -> CoreResult<Vec<MeterRow>> {
    roll_up(db, now_ms).await?;
    let (start, end) = month.range_ms();
    let rolled_until = next_hour(db, (now_ms - SETTLE_MS).div_euclid(HOUR_MS)).await? * HOUR_MS;
    let partner = partner.unwrap_or("");
    let mut sums: BTreeMap<(String, String, String, i64), i64> = BTreeMap::new();
    let rolled: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT partner_id, action, stage, status_class, CAST(SUM(calls) AS BIGINT) FROM request_usage_hourly \
         WHERE hour >= $1 AND hour < $2 AND ($3 = '' OR partner_id = $3) \
         GROUP BY partner_id, action, stage, status_class",
    )
    .bind(start.div_euclid(HOUR_MS))
    .bind(end.div_euclid(HOUR_MS).min(rolled_until.div_euclid(HOUR_MS)))
    .bind(partner)
    .fetch_all(db.pool())
    .await?;
    let raw: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT e.partner_id, COALESCE(c.action, ''), COALESCE(c.stage, ''), e.status / 100, COUNT(*) \
         FROM request_log_entry e LEFT JOIN request_context c ON c.id = e.context_id \
         WHERE e.occurred_at >= $1 AND e.occurred_at < $2 AND e.partner_id IS NOT NULL \
         AND ($3 = '' OR e.partner_id = $3) GROUP BY 1, 2, 3, 4",
    )
    .bind(start.max(rolled_until))
    .bind(end)
    .bind(partner)
    .fetch_all(db.pool())
    .await?;
    for (partner_id, operation, stage, class, calls) in rolled.into_iter().chain(raw) {
        *sums
            .entry((partner_id, operation, stage, class))
            .or_default() += calls;
    }
    Ok(sums
        .into_iter()
        .map(|((partner_id, operation, stage, class), calls)| MeterRow {
            partner_id,
            operation,
            stage,
            status_class: format!("{class}xx"),
            calls,
        })
        .collect())
}

/// The export as CSV (a header line, then one line per [`MeterRow`]).
pub fn metering_csv(month: Month, rows: &[MeterRow]) -> String {
    let mut out = String::from("month,partner_id,operation,stage,status_class,calls\n");
    for row in rows {
        out.push_str(&format!(
            "{month},{},{},{},{},{}\n",
            csv_field(&row.partner_id),
            csv_field(&row.operation),
            csv_field(&row.stage),
            row.status_class,
            row.calls
        ));
    }
    out
}

/// The export as JSON: `{"month", "rows": [...], "totals": {partner: calls}}`.
pub fn metering_json(month: Month, rows: &[MeterRow]) -> serde_json::Value {
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    for row in rows {
        *totals.entry(&row.partner_id).or_default() += row.calls;
    }
    serde_json::json!({
        "month": month.to_string(),
        "rows": rows.iter().map(|r| serde_json::json!({
            "partner_id": r.partner_id,
            "operation": r.operation,
            "stage": r.stage,
            "status_class": r.status_class,
            "calls": r.calls,
        })).collect::<Vec<_>>(),
        "totals": totals,
    })
}

/// RFC 4180: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or `@`
/// is prefixed with `'` so spreadsheets do not run it as a formula.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly_and_span_their_days() {
        let december = Month::parse("2026-12").unwrap();
        assert_eq!(december.to_string(), "2026-12");
        let (start, end) = december.range_ms();
        assert_eq!(
            crate::clock::format_rfc3339_ms(start),
            "2026-12-01T00:00:00.000Z"
        );
        assert_eq!(
            crate::clock::format_rfc3339_ms(end),
            "2027-01-01T00:00:00.000Z"
        );
        for bad in [
            "", "2026-13", "2026-1", "26-12", "2026/12", "december", "1969-12",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
