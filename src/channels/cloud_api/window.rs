//! The 24-hour customer service window: free-form messages reach a customer
//! only within 24 hours of their last message; after that, only approved
//! templates (which do not reopen it: the customer's reply does).

use time::{Duration, OffsetDateTime};

const LENGTH: Duration = Duration::hours(24);

/// Whether free-form messages may be sent now.
pub fn is_open(last_inbound_at: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    last_inbound_at.is_some_and(|last| now - last < LENGTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_for_24_hours_after_the_customers_last_message() {
        let now = OffsetDateTime::now_utc();
        assert!(is_open(Some(now - Duration::hours(23)), now));
        assert!(!is_open(Some(now - Duration::hours(24)), now));
        assert!(!is_open(None, now), "never wrote: closed");
    }
}
