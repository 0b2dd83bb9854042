//! How a person and a moment are drawn in compact lists (the inbox, the
//! dashboard): initials on a colour of their own, and times short enough
//! for one line ("14:05", "Tue", "12 Mar"; "5 min", "3 h", "2 d").

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The avatar palette's size: `avatar-0` … `avatar-7` in the stylesheet.
const HUES: u32 = 8;

/// Up to two initials of a name ("Maria Silva" → "MS"); a number or a
/// name without letters gets "#".
pub fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphabetic()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "#".into()
    } else {
        letters
    }
}

/// The avatar's colour class, the same for one contact everywhere.
pub fn avatar_class(id: &Uuid) -> String {
    let sum = id
        .as_bytes()
        .iter()
        .fold(0u32, |acc, b| acc + u32::from(*b));
    format!("avatar-{}", sum % HUES)
}

/// When something happened, as short as a list row allows: the time today,
/// the weekday this week, the day and month before.
pub fn short_time(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let age = now - at;
    if at.date() == now.date() && age >= Duration::ZERO {
        format!("{:02}:{:02}", at.hour(), at.minute())
    } else if age >= Duration::ZERO && age < Duration::days(6) {
        weekday(at.weekday()).into()
    } else if at.year() == now.year() {
        format!("{} {}", at.day(), month(at.month()))
    } else {
        format!("{} {} {}", at.day(), month(at.month()), at.year())
    }
}

/// How long since `since`: "just now", "5 min", "3 h", "2 d".
pub fn waited(since: OffsetDateTime, now: OffsetDateTime) -> String {
    let age = now - since;
    if age < Duration::minutes(1) {
        "just now".into()
    } else if age < Duration::hours(1) {
        format!("{} min", age.whole_minutes())
    } else if age < Duration::days(1) {
        format!("{} h", age.whole_hours())
    } else {
        format!("{} d", age.whole_days())
    }
}

fn weekday(day: time::Weekday) -> &'static str {
    use time::Weekday::*;
    match day {
        Monday => "Mon",
        Tuesday => "Tue",
        Wednesday => "Wed",
        Thursday => "Thu",
        Friday => "Fri",
        Saturday => "Sat",
        Sunday => "Sun",
    }
}

fn month(month: time::Month) -> &'static str {
    use time::Month::*;
    match month {
        January => "Jan",
        February => "Feb",
        March => "Mar",
        April => "Apr",
        May => "May",
        June => "Jun",
        July => "Jul",
        August => "Aug",
        September => "Sep",
        October => "Oct",
        November => "Nov",
        December => "Dec",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn initials_take_the_first_letter_of_two_words() {
        assert_eq!(initials("Maria Silva Santos"), "MS");
        assert_eq!(initials("  ana "), "A");
        assert_eq!(initials("+55 11 91234"), "#");
        assert_eq!(initials("élodie 'o'brien"), "ÉO");
        assert_eq!(initials(""), "#");
    }

    #[test]
    fn one_contact_keeps_one_colour_and_colours_vary() {
        let a = Uuid::from_u128(1);
        assert_eq!(avatar_class(&a), avatar_class(&a));
        let classes: std::collections::HashSet<String> = (0..64u128)
            .map(|n| avatar_class(&Uuid::from_u128(n)))
            .collect();
        assert_eq!(classes.len(), HUES as usize);
    }

    #[test]
    fn times_shorten_with_age() {
        let now = datetime!(2026-12-09 15:30 UTC); // a Wednesday
        assert_eq!(short_time(datetime!(2026-12-09 09:05 UTC), now), "09:05");
        assert_eq!(short_time(datetime!(2026-12-08 23:59 UTC), now), "Tue");
        assert_eq!(short_time(datetime!(2026-11-02 10:00 UTC), now), "2 Nov");
        assert_eq!(
            short_time(datetime!(2025-03-12 10:00 UTC), now),
            "12 Mar 2025"
        );
        // A clock slightly ahead elsewhere never shows a future weekday.
        assert_eq!(short_time(datetime!(2026-12-10 00:10 UTC), now), "10 Dec");
    }

    #[test]
    fn waiting_reads_in_the_largest_whole_unit() {
        let now = datetime!(2026-12-09 15:30 UTC);
        assert_eq!(waited(datetime!(2026-12-09 15:29:30 UTC), now), "just now");
        assert_eq!(waited(datetime!(2026-12-09 15:05 UTC), now), "25 min");
        assert_eq!(waited(datetime!(2026-12-09 12:00 UTC), now), "3 h");
        assert_eq!(waited(datetime!(2026-12-07 15:00 UTC), now), "2 d");
    }
}
