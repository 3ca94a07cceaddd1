//! The status page's data: synthetic probe results (raw, kept a week, and a daily rollup per
//! component kept 90 days), incidents and scheduled maintenance posted by admins, and what
//! they add up to: each component's displayed state and the overall indicator.
//!
//! Probe times are unix milliseconds; incident times are unix seconds like the rest of the core.

mod incidents;
mod probes;
mod summary;
mod uptime;

pub use incidents::*;
pub use probes::*;
pub use summary::*;
pub use uptime::*;

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

#[cfg(test)]
mod tests;
