//! What the bot did with a customer's message.

text_enum! {
    /// `bot_runs.outcome`: it answered from the knowledge base, handed the
    /// conversation to a person, or let the message be.
    pub enum BotOutcome {
        Answered = "answered",
        HandedOver = "handed_over",
        Skipped = "skipped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(BotOutcome);
}
