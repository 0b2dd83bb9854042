//! How long a workspace keeps its messages.

/// Days messages are kept (off when a workspace has none): between
/// [`RetentionDays::MIN`] and [`RetentionDays::MAX`], as the database checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionDays(i32);

impl RetentionDays {
    /// The inbox's own rules look back at recent messages, and a slip of
    /// the finger must not empty a working inbox.
    const MIN: i32 = 30;
    /// Ten years.
    pub const MAX: i32 = 3650;

    /// Days as typed; the reason it is refused otherwise.
    pub fn parse(typed: &str) -> Result<RetentionDays, String> {
        let typed = typed.trim();
        if typed.is_empty() {
            return Err("enter a number of days.".into());
        }
        let days: i64 = typed
            .parse()
            .map_err(|_| format!("“{typed}” is not a whole number of days."))?;
        if days < i64::from(Self::MIN) {
            return Err(format!("keep messages at least {} days.", Self::MIN));
        }
        if days > i64::from(Self::MAX) {
            return Err(format!(
                "keep messages at most {} days (ten years), or forever.",
                Self::MAX
            ));
        }
        i32::try_from(days)
            .map(RetentionDays)
            .map_err(|_| "too many days.".into())
    }

    /// A value read from the database (already checked there).
    pub fn from_stored(days: i32) -> RetentionDays {
        RetentionDays(days)
    }

    pub fn days(self) -> i32 {
        self.0
    }
}

/// The setting as the form sends it: `keep` is `forever` or `days`, with
/// the number in `days`. `None` keeps messages forever.
pub fn parse_setting(keep: &str, days: &str) -> Result<Option<RetentionDays>, String> {
    match keep {
        "forever" => Ok(None),
        "days" => RetentionDays::parse(days)
            .map(Some)
            .map_err(|e| format!("Keep messages: {e}")),
        _ => Err("Keep messages: choose forever or a number of days.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_between_thirty_and_ten_years() {
        assert_eq!(
            RetentionDays::parse(" 90 ").map(RetentionDays::days),
            Ok(90)
        );
        assert_eq!(RetentionDays::parse("30").map(RetentionDays::days), Ok(30));
        assert_eq!(
            RetentionDays::parse("3650").map(RetentionDays::days),
            Ok(3650)
        );
        for refused in [
            "",
            "29",
            "0",
            "-5",
            "3651",
            "ninety",
            "90.5",
            "99999999999999",
        ] {
            assert!(RetentionDays::parse(refused).is_err(), "{refused:?}");
        }
        assert!(
            RetentionDays::parse("7")
                .unwrap_err()
                .contains("at least 30 days")
        );
    }

    #[test]
    fn the_form_says_forever_or_days() {
        assert_eq!(parse_setting("forever", "12"), Ok(None));
        assert_eq!(
            parse_setting("days", "365"),
            Ok(Some(RetentionDays::from_stored(365)))
        );
        assert!(parse_setting("days", "").is_err());
        assert!(parse_setting("", "").unwrap_err().contains("choose"));
    }
}
