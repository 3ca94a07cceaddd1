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
