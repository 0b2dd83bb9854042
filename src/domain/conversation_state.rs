//! Where a conversation is in the inbox, and how urgent it is.

text_enum! {
    /// A conversation's status (`conversations.status`). A customer's
    /// message makes a snoozed or pending one open again.
    pub enum ConversationStatus {
        Open = "open",
        /// Waiting for the customer (a campaign opens its recipients' so).
        Pending = "pending",
        /// Put aside until `snoozed_until`.
        Snoozed = "snoozed",
        Resolved = "resolved",
    }
}

impl ConversationStatus {
    pub fn is_open(self) -> bool {
        self == ConversationStatus::Open
    }

    pub fn is_pending(self) -> bool {
        self == ConversationStatus::Pending
    }

    pub fn is_resolved(self) -> bool {
        self == ConversationStatus::Resolved
    }

    /// The statuses a member, an API client or a rule may set directly
    /// (a snooze needs its end, so it has its own form).
    pub fn settable(self) -> bool {
        self != ConversationStatus::Snoozed
    }
}

text_enum! {
    /// A conversation's priority (`conversations.priority`).
    pub enum Priority {
        None = "none",
        Low = "low",
        Medium = "medium",
        High = "high",
        Urgent = "urgent",
    }
}

impl Priority {
    /// Shown in the priority menus.
    pub fn label(self) -> &'static str {
        match self {
            Priority::None => "No priority",
            Priority::Low => "Low",
            Priority::Medium => "Medium",
            Priority::High => "High",
            Priority::Urgent => "Urgent",
        }
    }

    pub fn is_none(self) -> bool {
        self == Priority::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(ConversationStatus, Priority);
}
