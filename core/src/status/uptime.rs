//! Uptime: each component's 90 daily bars from the rollups.

use super::*;
use std::collections::BTreeMap;

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
