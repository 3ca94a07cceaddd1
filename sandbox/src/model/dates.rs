//! Hand-written date helpers (the workspace's `time` has no `parsing` feature): strict
//! `YYYY-MM-DD` and RFC 3339 date-time checks, and the renderings the gateway needs.

use time::{Date, Month, OffsetDateTime, Weekday};

/// Parses a strict `YYYY-MM-DD` calendar date.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0_u32, |n, b| n * 10 + u32::from(b - b'0')),
    )
}

/// RFC 3339 §5.6 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, `T`/`Z` in either case.
pub(crate) fn is_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't') {
        return false;
    }
    let Some(date) = text.get(0..10) else {
        return false;
    };
    if parse_date(date).is_none() {
        return false;
    }
    let time = &bytes[11..];
    if time.len() < 9 || time[2] != b':' || time[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (
        digits(&time[0..2]),
        digits(&time[3..5]),
        digits(&time[6..8]),
    ) else {
        return false;
    };
    // 60: a leap second.
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &time[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => match (digits(&[*h1, *h2]), digits(&[*m1, *m2])) {
            (Some(h), Some(m)) => h <= 23 && m <= 59,
            _ => false,
        },
        _ => false,
    }
}

/// Today's date, UTC.
pub(crate) fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// `YYYY-MM-DD`.
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` for unix seconds (the epoch when out of range).
pub(crate) fn format_date_time(unix: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(at.date()),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Unix seconds of midnight UTC on `date`.
pub(crate) fn unix_midnight(date: Date) -> i64 {
    date.midnight().assume_utc().unix_timestamp()
}

/// The IMF-fixdate of midnight UTC on `date` (RFC 9110 §5.6.7), e.g.
/// `Wed, 30 Jun 2027 00:00:00 GMT`.
pub(crate) fn imf_fixdate(date: Date) -> String {
    let weekday = match date.weekday() {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    };
    let month = match date.month() {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    };
    format!(
        "{weekday}, {:02} {month} {:04} 00:00:00 GMT",
        date.day(),
        date.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2026-06-01").is_some());
        assert!(parse_date("2026-02-29").is_none());
        assert!(parse_date("2028-02-29").is_some());
        assert!(parse_date("2026-13-01").is_none());
        assert!(parse_date("2026-6-01").is_none());
        assert!(parse_date("2026-06-01T00:00:00Z").is_none());
    }

    #[test]
    fn date_times_follow_rfc_3339() {
        for ok in [
            "2026-06-01T12:30:00Z",
            "2026-06-01t12:30:00z",
            "2026-06-01T12:30:00.123456+02:00",
            "2026-06-30T23:59:60Z",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2026-06-01",
            "2026-06-01 12:30:00Z",
            "2026-06-01T24:00:00Z",
            "2026-06-01T12:30:00",
            "2026-06-01T12:30:00.Z",
            "2026-06-01T12:30:00+2:00",
            "2026-02-30T12:30:00Z",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn renders_http_and_rfc_3339_dates() {
        let date = parse_date("2027-06-30").unwrap();
        assert_eq!(imf_fixdate(date), "Wed, 30 Jun 2027 00:00:00 GMT");
        assert_eq!(format_date(date), "2027-06-30");
        assert_eq!(unix_midnight(date), 1_814_313_600);
        assert_eq!(
            format_date_time(1_814_313_600 + 3661),
            "2027-06-30T01:01:01Z"
        );
    }
}
