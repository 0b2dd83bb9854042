//! What sets an automation rule off, and which rules wacrm ships.

text_enum! {
    /// `automation_rules.trigger`.
    pub enum Trigger {
        ConversationCreated = "conversation_created",
        MessageReceived = "message_received",
        OutsideHours = "outside_hours",
        Keywords = "keywords",
        /// A customer waits for an answer (checked by a sweep, not on
        /// arrival).
        Idle = "idle",
    }
}

impl Trigger {
    /// The triggers a customer's message sets off as it arrives.
    pub const ON_ARRIVAL: [Trigger; 4] = [
        Trigger::ConversationCreated,
        Trigger::MessageReceived,
        Trigger::OutsideHours,
        Trigger::Keywords,
    ];

    /// What the rule form calls it ("When …").
    pub fn label(self) -> &'static str {
        match self {
            Trigger::ConversationCreated => "A conversation starts",
            Trigger::MessageReceived => "A customer writes",
            Trigger::OutsideHours => "A customer writes outside business hours",
            Trigger::Keywords => "A customer's message contains a word",
            Trigger::Idle => "A customer waits for an answer",
        }
    }
}

text_enum! {
    /// `automation_rules.builtin`: the rules every workspace starts with
    /// (switched off); at most one of each.
    pub enum BuiltinRule {
        Welcome = "welcome",
        Away = "away",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(Trigger, BuiltinRule);
}
