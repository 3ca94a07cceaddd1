//! Time as the core stores it: whole unix seconds (portable across SQLite and PostgreSQL).

use time::OffsetDateTime;

/// Seconds since the unix epoch, UTC.
pub type UnixTime = i64;

pub fn now() -> UnixTime {
    OffsetDateTime::now_utc().unix_timestamp()
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
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
