//! Where a campaign and each of its recipients stand.
//!
//! Stored as the same words as before (text columns with a CHECK, migration
//! 29), so the enums read and write those words: `as "state: CampaignState"`
//! in a query, `as_str()` where a word is bound or shown.

use std::fmt;

/// `campaigns.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CampaignState {
    Draft,
    Scheduled,
    Running,
    Paused,
    Done,
    Canceled,
}

impl CampaignState {
    pub const ALL: [CampaignState; 6] = [
        CampaignState::Draft,
        CampaignState::Scheduled,
        CampaignState::Running,
        CampaignState::Paused,
        CampaignState::Done,
        CampaignState::Canceled,
    ];

    /// The stored word (also what the pages show and style by).
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Scheduled => "scheduled",
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Done => "done",
            CampaignState::Canceled => "canceled",
        }
    }

    pub fn is_draft(self) -> bool {
        self == CampaignState::Draft
    }

    pub fn is_scheduled(self) -> bool {
        self == CampaignState::Scheduled
    }

    pub fn is_running(self) -> bool {
        self == CampaignState::Running
    }

    pub fn is_paused(self) -> bool {
        self == CampaignState::Paused
    }

    /// Done or canceled: nothing more will be sent.
    pub fn is_finished(self) -> bool {
        matches!(self, CampaignState::Done | CampaignState::Canceled)
    }
}

impl fmt::Display for CampaignState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `campaign_recipients.state` (the trigger of migration 29 also writes
/// it, from the message's delivery status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RecipientState {
    Pending,
    Queued,
    Sent,
    Delivered,
    Read,
    Replied,
    Failed,
    Skipped,
}

impl RecipientState {
    pub const ALL: [RecipientState; 8] = [
        RecipientState::Pending,
        RecipientState::Queued,
        RecipientState::Sent,
        RecipientState::Delivered,
        RecipientState::Read,
        RecipientState::Replied,
        RecipientState::Failed,
        RecipientState::Skipped,
    ];

    /// The stored word (also the export's cell).
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::Pending => "pending",
            RecipientState::Queued => "queued",
            RecipientState::Sent => "sent",
            RecipientState::Delivered => "delivered",
            RecipientState::Read => "read",
            RecipientState::Replied => "replied",
            RecipientState::Failed => "failed",
            RecipientState::Skipped => "skipped",
        }
    }
}

impl fmt::Display for RecipientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATION: &str = include_str!("../../migrations/20261127000029_campaigns.sql");

    /// The words of the `check (state in (...))` that follows `after`.
    fn checked_words(after: &str) -> Vec<String> {
        let from = MIGRATION
            .find(after)
            .expect("the column is in the migration");
        let rest = &MIGRATION[from..];
        let open = rest.find("check (state in").expect("a check") + "check (state in".len();
        let close = open + rest[open..].find(')').expect("the list ends");
        rest[open..close]
            .split(',')
            .map(|w| w.trim().trim_matches(['(', '\'', ' ', '\n']).to_owned())
            .collect()
    }

    #[test]
    fn campaign_states_are_the_words_the_table_allows() {
        let words: Vec<&str> = CampaignState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words, checked_words("create table campaigns ("));
        assert!(CampaignState::Done.is_finished() && CampaignState::Canceled.is_finished());
        assert!(!CampaignState::Paused.is_finished());
        assert_eq!(CampaignState::Running.to_string(), "running");
    }

    #[test]
    fn recipient_states_are_the_words_the_table_allows() {
        let words: Vec<&str> = RecipientState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words, checked_words("create table campaign_recipients ("));
    }
}
