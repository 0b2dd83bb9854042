//! Wall-clock times in a workspace's time zone: what a member types in a
//! `datetime-local` field, and how an instant is shown back to them.

use time::OffsetDateTime;

/// Why a typed time was refused, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("Pick a date and time.")]
    Missing,
    #[error("“{0}” is not a date and time (like 2030-01-31 09:00).")]
    Unreadable(String),
}

/// The zone of an IANA name; an unknown name is read as UTC (the settings
/// page only offers known ones).
fn zone(time_zone: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (a space for the `T` too),
/// nothing else: no offset, no fractions, no date alone.
fn has_local_shape(typed: &str) -> bool {
    let bytes = typed.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    let fixed = |at: usize, c: u8| bytes[at] == c;
    let minutes = bytes.len() >= 16
        && digits(0..4)
        && fixed(4, b'-')
        && digits(5..7)
        && fixed(7, b'-')
        && digits(8..10)
        && (fixed(10, b'T') || fixed(10, b' '))
        && digits(11..13)
        && fixed(13, b':')
        && digits(14..16);
    match bytes.len() {
        16 => minutes,
        19 => minutes && fixed(16, b':') && digits(17..19),
        _ => false,
    }
}

/// The instant a member means by `typed` in `time_zone`. A time skipped by
/// a daylight-saving jump is read as the same span later (02:30 on a night
/// the clocks go from 02:00 to 03:00 is 03:30), a time that happens twice
/// as the first of the two: what calendars do.
pub fn parse(typed: &str, time_zone: &str) -> Result<OffsetDateTime, LocalTimeError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(LocalTimeError::Missing);
    }
    let unreadable = || LocalTimeError::Unreadable(typed.chars().take(40).collect());
    if !has_local_shape(typed) {
        return Err(unreadable());
    }
    let civil: jiff::civil::DateTime = typed.replace(' ', "T").parse().map_err(|_| unreadable())?;
    let instant = zone(time_zone)
        .to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|_| unreadable())?;
    OffsetDateTime::from_unix_timestamp_nanos(instant.as_nanosecond()).map_err(|_| unreadable())
}

/// The wall-clock time of `at` in `time_zone` as `YYYY-MM-DDTHH:MM`, the
/// value a `datetime-local` field takes.
pub fn input_value(at: OffsetDateTime, time_zone: &str) -> String {
    local(at, time_zone)
        .map(|dt| dt.strftime("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// The wall-clock time of `at` in `time_zone` as `YYYY-MM-DD HH:MM`, for
/// reading.
pub fn shown(at: OffsetDateTime, time_zone: &str) -> String {
    local(at, time_zone)
        .map(|dt| dt.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// A span's clock times in `time_zone`, "09:30–10:30" (a booking's).
pub fn clock_span(starts: OffsetDateTime, ends: OffsetDateTime, time_zone: &str) -> String {
    let starts = shown(starts, time_zone);
    let ends = shown(ends, time_zone);
    format!(
        "{}–{}",
        starts.get(11..).unwrap_or_default(),
        ends.get(11..).unwrap_or_default()
    )
}

fn local(at: OffsetDateTime, time_zone: &str) -> Option<jiff::civil::DateTime> {
    let instant = jiff::Timestamp::from_nanosecond(at.unix_timestamp_nanos()).ok()?;
    Some(zone(time_zone).to_datetime(instant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_typed_time_is_read_in_the_workspace_zone() {
        assert_eq!(
            parse("2030-01-31T09:00", "America/Sao_Paulo"),
            Ok(datetime!(2030-01-31 12:00:00 UTC))
        );
        assert_eq!(
            parse(" 2030-01-31 09:00:30 ", "Asia/Kolkata"),
            Ok(datetime!(2030-01-31 03:30:30 UTC))
        );
        assert_eq!(
            parse("2030-01-31T09:00", "Not/AZone"),
            Ok(datetime!(2030-01-31 09:00:00 UTC))
        );
    }

    #[test]
    fn daylight_saving_gaps_move_on_and_folds_take_the_first() {
        // New York skips 02:00-03:00 on 2030-03-10 and repeats 01:00-02:00
        // on 2030-11-03.
        assert_eq!(
            parse("2030-03-10T02:30", "America/New_York"),
            Ok(datetime!(2030-03-10 07:30:00 UTC))
        );
        assert_eq!(
            parse("2030-11-03T01:30", "America/New_York"),
            Ok(datetime!(2030-11-03 05:30:00 UTC))
        );
    }

    #[test]
    fn anything_but_a_local_date_and_time_is_refused() {
        assert_eq!(parse("  ", "UTC"), Err(LocalTimeError::Missing));
        for typed in [
            "tomorrow",
            "2030-01-31",
            "2030-01-31T09",
            "2030-01-31T09:00Z",
            "2030-01-31T09:00:00+02:00",
            "2030-02-30T09:00",
            "2030-01-31T25:00",
            "2030-1-31T09:00",
            "2030-01-31T09:00:00.5",
        ] {
            assert!(
                matches!(parse(typed, "UTC"), Err(LocalTimeError::Unreadable(_))),
                "{typed}"
            );
        }
    }

    #[test]
    fn an_instant_is_shown_on_the_workspace_clock() {
        let at = datetime!(2030-01-31 12:00:00 UTC);
        assert_eq!(shown(at, "America/Sao_Paulo"), "2030-01-31 09:00");
        assert_eq!(input_value(at, "America/Sao_Paulo"), "2030-01-31T09:00");
        assert_eq!(shown(at, "UTC"), "2030-01-31 12:00");
    }
}
