//! Where a message scheduled for later stands.

text_enum! {
    /// `scheduled_messages.state`: scheduled until it is sent, canceled,
    /// or fails (with the reason beside it).
    pub enum ScheduledState {
        Scheduled = "scheduled",
        Sent = "sent",
        Canceled = "canceled",
        Failed = "failed",
    }
}

impl ScheduledState {
    pub fn is_sent(self) -> bool {
        self == ScheduledState::Sent
    }

    pub fn is_canceled(self) -> bool {
        self == ScheduledState::Canceled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(ScheduledState);
}
