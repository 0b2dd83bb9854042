//! Business hours: a workspace's week (`{"mon": {"open": "09:00", "close":
//! "17:00"}, …}`, days left out are closed) in its time zone.

use serde_json::Value;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Whether the business is open at `at` (unix seconds) in `time_zone`;
/// `None` when no hours are set at all (then nothing is "outside hours").
pub fn open_at(hours: &Value, time_zone: &str, at: i64) -> Option<bool> {
    let week = hours.as_object().filter(|w| !w.is_empty())?;
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = zone.to_datetime(jiff::Timestamp::from_second(at).ok()?);
    let day = DAYS[usize::from(local.weekday().to_monday_zero_offset().unsigned_abs())];
    let Some(today) = week.get(day) else {
        return Some(false);
    };
    let (Some(open), Some(close)) = (today["open"].as_str(), today["close"].as_str()) else {
        return Some(false);
    };
    let now = format!("{:02}:{:02}", local.hour(), local.minute());
    Some(open <= now.as_str() && now.as_str() < close)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn week() -> Value {
        json!({"mon": {"open": "09:00", "close": "17:00"}, "sat": {"open": "10:00", "close": "12:00"}})
    }

    /// Unix seconds of a UTC date and time.
    fn utc(date: &str) -> i64 {
        date.parse::<jiff::Timestamp>().unwrap().as_second()
    }

    #[test]
    fn open_inside_the_day_closed_outside_and_on_days_left_out() {
        // Monday 2026-11-23.
        assert_eq!(
            open_at(&week(), "UTC", utc("2026-11-23T09:00:00Z")),
            Some(true)
        );
        assert_eq!(
            open_at(&week(), "UTC", utc("2026-11-23T16:59:00Z")),
            Some(true)
        );
        assert_eq!(
            open_at(&week(), "UTC", utc("2026-11-23T17:00:00Z")),
            Some(false)
        );
        assert_eq!(
            open_at(&week(), "UTC", utc("2026-11-23T08:59:00Z")),
            Some(false)
        );
        assert_eq!(
            open_at(&week(), "UTC", utc("2026-11-24T10:00:00Z")),
            Some(false),
            "Tuesday"
        );
        assert_eq!(
            open_at(&json!({}), "UTC", utc("2026-11-24T10:00:00Z")),
            None
        );
    }

    #[test]
    fn the_workspace_time_zone_decides_even_across_midnight() {
        // Sunday 23:30 in UTC is Monday 08:30 in Tokyo (closed) and Monday
        // 09:30 is 00:30 UTC (open); in São Paulo it is still Sunday.
        assert_eq!(
            open_at(&week(), "Asia/Tokyo", utc("2026-11-22T23:30:00Z")),
            Some(false)
        );
        assert_eq!(
            open_at(&week(), "Asia/Tokyo", utc("2026-11-23T00:30:00Z")),
            Some(true)
        );
        assert_eq!(
            open_at(&week(), "America/Sao_Paulo", utc("2026-11-23T00:30:00Z")),
            Some(false)
        );
        assert_eq!(
            open_at(&week(), "America/Sao_Paulo", utc("2026-11-23T12:30:00Z")),
            Some(true),
            "09:30 in São Paulo"
        );
    }
}
