//! Times as people in the workspace write and read them: in its time zone,
//! as an HTML `datetime-local` value (`2026-11-27T14:30`).

use time::OffsetDateTime;

fn zone(time_zone: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// The instant `input` names in `time_zone`. A time skipped by a clock
/// change is read as after it, a repeated one as its first occurrence.
pub fn parse(input: &str, time_zone: &str) -> Result<OffsetDateTime, String> {
    let civil: jiff::civil::DateTime = input.trim().parse().map_err(|_| {
        format!(
            "“{}” is not a date and time (e.g. 2026-12-24T09:30).",
            input.trim()
        )
    })?;
    let instant = zone(time_zone)
        .to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|_| "That date is out of range.".to_owned())?;
    OffsetDateTime::from_unix_timestamp(instant.as_second())
        .map_err(|_| "That date is out of range.".to_owned())
}

/// `at` in `time_zone`, as a `datetime-local` value.
pub fn input_value(at: OffsetDateTime, time_zone: &str) -> String {
    shown(at, time_zone, "%Y-%m-%dT%H:%M")
}

/// `at` in `time_zone` for reading (`2026-12-24 09:30`).
pub fn display(at: OffsetDateTime, time_zone: &str) -> String {
    shown(at, time_zone, "%Y-%m-%d %H:%M")
}

fn shown(at: OffsetDateTime, time_zone: &str, format: &str) -> String {
    jiff::Timestamp::from_second(at.unix_timestamp())
        .map(|t| zone(time_zone).to_datetime(t).strftime(format).to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_time_is_read_in_the_workspace_zone() {
        let at = parse("2026-12-24T09:30", "America/Sao_Paulo").expect("parsed");
        assert_eq!(at.unix_timestamp(), 1_798_115_400);
        assert_eq!(input_value(at, "America/Sao_Paulo"), "2026-12-24T09:30");
        assert_eq!(display(at, "UTC"), "2026-12-24 12:30");
        assert!(parse("tomorrow", "UTC").is_err());
    }

    #[test]
    fn a_time_skipped_by_a_clock_change_is_read_after_it() {
        // Berlin skipped 02:00-03:00 on 2026-03-29.
        let at = parse("2026-03-29T02:30", "Europe/Berlin").expect("parsed");
        assert_eq!(display(at, "Europe/Berlin"), "2026-03-29 03:30");
    }
}
