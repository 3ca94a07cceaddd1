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

/// RFC 3339 with milliseconds (`2026-12-06T10:00:00.123Z`) for a unix-ms time.
pub fn format_rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|dt| {
            dt.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Reads `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `±HH:MM` (RFC 3339, and what an
/// HTML `datetime-local` field sends, with `Z` added by the caller) as unix ms. `None` when it
/// is not such a time.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let (local, offset_secs) = if let Some(local) = text.strip_suffix(['Z', 'z']) {
        (local, 0)
    } else {
        let split = text.len().checked_sub(6)?;
        let (local, offset) = (text.get(..split)?, text.get(split..)?);
        let sign = match offset.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (h, m) = offset.get(1..)?.split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        if h > 23 || m > 59 {
            return None;
        }
        (local, sign * (h * 3600 + m * 60))
    };
    // Fixed widths (`2026-01-05T08:00`), as RFC 3339 and `datetime-local` write them.
    fn number<T: std::str::FromStr>(part: &str, digits: usize) -> Option<T> {
        (part.len() == digits && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    }
    let (date, clock) = local.split_once(['T', 't', ' '])?;
    let mut date_parts = date.split('-');
    let year: i32 = number(date_parts.next()?, 4)?;
    let month: u8 = number(date_parts.next()?, 2)?;
    let day: u8 = number(date_parts.next()?, 2)?;
    if date_parts.next().is_some() {
        return None;
    }
    let (hms, millis) = match clock.split_once('.') {
        Some((hms, fraction))
            if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
            (hms, digits.parse::<u16>().ok()?)
        }
        Some(_) => return None,
        None => (clock, 0),
    };
    let mut hms_parts = hms.split(':');
    let hour: u8 = number(hms_parts.next()?, 2)?;
    let minute: u8 = number(hms_parts.next()?, 2)?;
    let second: u8 = match hms_parts.next() {
        Some(s) => number(s, 2)?,
        None => 0,
    };
    if hms_parts.next().is_some() {
        return None;
    }
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let time = time::Time::from_hms_milli(hour, minute, second, millis).ok()?;
    let local = time::PrimitiveDateTime::new(date, time).assume_utc();
    Some((local.unix_timestamp() - offset_secs) * 1000 + i64::from(millis))
}

/// Milliseconds since the unix epoch, UTC.
pub fn now_ms() -> i64 {
    since_epoch().map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_round_trip_with_milliseconds() {
        let ms = 1_765_015_200_123;
        assert_eq!(format_rfc3339_ms(ms), "2025-12-06T10:00:00.123Z");
        assert_eq!(parse_rfc3339_ms("2025-12-06T10:00:00.123Z"), Some(ms));
        assert_eq!(parse_rfc3339_ms("2025-12-06T11:00:00.123+01:00"), Some(ms));
        assert_eq!(parse_rfc3339_ms("2025-12-06T10:00Z"), Some(ms - 123));
        for bad in [
            "",
            "2025-12-06",
            "2025-13-01T00:00Z",
            "2025-12-06T10:00",
            "2025-12-06T25:00Z",
            "2025-12-06T10:00:00.Z",
            "x",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }
}
