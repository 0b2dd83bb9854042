//! Free appointment slots: the start times on a local day at which a
//! service of some length fits inside the staff member's working hours
//! (and the workspace's, when it has any), clear of their other bookings
//! and not in the past. Times are wall-clock times in the workspace's zone;
//! a day with a daylight-saving change has its slots at the right instants.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use time::OffsetDateTime;

/// Slots start on this grid (minutes past the hour).
const STEP_MINUTES: i64 = 15;

/// A span of wall-clock time within one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub starts: Time,
    pub ends: Time,
}

impl Window {
    /// The part both windows cover, if any.
    pub fn intersect(self, other: Window) -> Option<Window> {
        let starts = self.starts.max(other.starts);
        let ends = self.ends.min(other.ends);
        (starts < ends).then_some(Window { starts, ends })
    }
}

/// `HH:MM` as a time of day.
pub fn parse_time(typed: &str) -> Option<Time> {
    let (h, m) = typed.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

fn instant(zone: &TimeZone, at: DateTime) -> Option<OffsetDateTime> {
    let ts = zone.to_ambiguous_timestamp(at).compatible().ok()?;
    OffsetDateTime::from_unix_timestamp(ts.as_second()).ok()
}

/// The day's free start times, in order. `busy` are the member's booked
/// spans (any order); `not_before` drops times already past.
pub fn free_slots(
    day: Date,
    time_zone: &str,
    window: Window,
    duration_minutes: i64,
    busy: &[(OffsetDateTime, OffsetDateTime)],
    not_before: OffsetDateTime,
) -> Vec<OffsetDateTime> {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    let length = time::Duration::minutes(duration_minutes);
    let Some(window_end) = instant(&zone, day.to_datetime(window.ends)) else {
        return vec![];
    };
    let mut slots = vec![];
    let first = i64::from(window.starts.hour()) * 60 + i64::from(window.starts.minute());
    // Round the window's start up to the grid.
    let mut minute = (first + STEP_MINUTES - 1) / STEP_MINUTES * STEP_MINUTES;
    while minute < 24 * 60 {
        let Ok(local) = Time::new(
            i8::try_from(minute / 60).unwrap_or(0),
            i8::try_from(minute % 60).unwrap_or(0),
            0,
            0,
        ) else {
            break;
        };
        minute += STEP_MINUTES;
        if local < window.starts {
            continue;
        }
        let Some(starts) = instant(&zone, day.to_datetime(local)) else {
            continue;
        };
        let ends = starts + length;
        if ends > window_end {
            break;
        }
        let clash = busy
            .iter()
            .any(|(b_start, b_end)| starts < *b_end && *b_start < ends);
        if starts >= not_before && !clash && !slots.contains(&starts) {
            slots.push(starts);
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};
    use time::macros::datetime;

    fn nine_to_five() -> Window {
        Window {
            starts: time(9, 0, 0, 0),
            ends: time(17, 0, 0, 0),
        }
    }

    #[test]
    fn slots_fit_inside_the_window_on_the_grid() {
        let slots = free_slots(
            date(2027, 1, 11),
            "UTC",
            Window {
                starts: time(9, 5, 0, 0),
                ends: time(10, 30, 0, 0),
            },
            45,
            &[],
            datetime!(2000-01-01 0:00 UTC),
        );
        assert_eq!(
            slots,
            [
                datetime!(2027-01-11 9:15 UTC),
                datetime!(2027-01-11 9:30 UTC),
                datetime!(2027-01-11 9:45 UTC),
            ]
        );
    }

    #[test]
    fn bookings_and_the_past_are_left_out() {
        let busy = [(
            datetime!(2027-01-11 10:00 UTC),
            datetime!(2027-01-11 11:00 UTC),
        )];
        let slots = free_slots(
            date(2027, 1, 11),
            "UTC",
            Window {
                starts: time(9, 0, 0, 0),
                ends: time(12, 0, 0, 0),
            },
            30,
            &busy,
            datetime!(2027-01-11 9:10 UTC),
        );
        assert_eq!(
            slots,
            [
                datetime!(2027-01-11 9:15 UTC),
                datetime!(2027-01-11 9:30 UTC),
                datetime!(2027-01-11 11:00 UTC),
                datetime!(2027-01-11 11:15 UTC),
                datetime!(2027-01-11 11:30 UTC),
            ]
        );
    }

    #[test]
    fn a_daylight_saving_day_keeps_wall_clock_times() {
        // Berlin, 28 March 2027: 09:00 is 07:00 UTC (it was 08:00 UTC the day before).
        let slots = free_slots(
            date(2027, 3, 28),
            "Europe/Berlin",
            nine_to_five(),
            60,
            &[],
            datetime!(2000-01-01 0:00 UTC),
        );
        assert_eq!(slots.first(), Some(&datetime!(2027-03-28 7:00 UTC)));
        assert_eq!(slots.last(), Some(&datetime!(2027-03-28 14:00 UTC)));
    }

    #[test]
    fn windows_intersect_and_times_parse() {
        let workspace = Window {
            starts: time(8, 0, 0, 0),
            ends: time(12, 0, 0, 0),
        };
        assert_eq!(
            nine_to_five().intersect(workspace),
            Some(Window {
                starts: time(9, 0, 0, 0),
                ends: time(12, 0, 0, 0)
            })
        );
        let evening = Window {
            starts: time(18, 0, 0, 0),
            ends: time(20, 0, 0, 0),
        };
        assert_eq!(nine_to_five().intersect(evening), None);
        assert_eq!(parse_time("09:30"), Some(time(9, 30, 0, 0)));
        assert_eq!(parse_time("9:30"), None);
        assert_eq!(parse_time("25:00"), None);
    }
}
