//! Formatting shared by pages.

/// Unix seconds as `2026-11-25 17:50 UTC` (the portal shows UTC everywhere).
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's method).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Text for a `<textarea>`: Leptos (tachys 0.2) writes textarea children without escaping,
/// so a stored or typed `</textarea><form …>` would become markup. Escape it here.
pub fn textarea_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn textarea_text_cannot_close_the_textarea() {
        assert_eq!(
            super::textarea_text("a </textarea><b> & c"),
            "a &lt;/textarea&gt;&lt;b&gt; &amp; c"
        );
    }

    #[test]
    fn formats_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_628_400), "2026-11-25 17:40 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }
}
