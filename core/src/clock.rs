//! Time as the core stores it: whole unix seconds (portable across SQLite and PostgreSQL).

use time::OffsetDateTime;

/// Seconds since the unix epoch, UTC.
pub type UnixTime = i64;

// Straight from `SystemTime`: `OffsetDateTime::now_utc` also works out the calendar date,
// which nothing here needs, and the gateway reads the clock several times per request.
pub fn now() -> UnixTime {
    since_epoch().map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn since_epoch() -> Option<std::time::Duration> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
}

/// RFC 3339 rendering for people and JSON; falls back to the raw number if out of range.
pub fn format_rfc3339(t: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|dt| {
            dt.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// Milliseconds since the unix epoch, UTC.
pub fn now_ms() -> i64 {
    since_epoch().map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
