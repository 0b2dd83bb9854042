//! What a message is, whatever channel carried it.

text_enum! {
    /// The kinds of message WhatsApp knows, plus wacrm's private notes
    /// (`messages.kind`); a kind wacrm does not understand is `Unknown` and
    /// keeps its raw payload.
    pub enum MessageKind {
        Text = "text",
        Image = "image",
        Audio = "audio",
        Video = "video",
        Document = "document",
        Sticker = "sticker",
        Location = "location",
        Contacts = "contacts",
        Reaction = "reaction",
        Interactive = "interactive",
        Template = "template",
        Note = "note",
        /// A catalogue cart the customer sent (Cloud API `order`).
        Order = "order",
        Unknown = "unknown",
    }
}

impl MessageKind {
    /// The conversation list's one-line summary of a message of this kind.
    pub fn preview(self, body: &str) -> String {
        let body = body.trim();
        match self {
            MessageKind::Text | MessageKind::Note | MessageKind::Template => body.to_owned(),
            _ if !body.is_empty() => format!("[{}] {body}", self.as_str()),
            MessageKind::Unknown => "[unsupported message]".to_owned(),
            _ => format!("[{}]", self.as_str()),
        }
    }

    /// The kind of a provider's message type name: anything unrecognised is
    /// `Unknown` (kept, shown as unsupported), never an error.
    pub fn of_provider_type(type_name: &str) -> MessageKind {
        MessageKind::parse(type_name).unwrap_or(MessageKind::Unknown)
    }

    /// Carries a media file.
    pub fn has_media(self) -> bool {
        matches!(
            self,
            MessageKind::Image
                | MessageKind::Audio
                | MessageKind::Video
                | MessageKind::Document
                | MessageKind::Sticker
        )
    }
}

text_enum! {
    /// Which way a message went (`messages.direction`).
    pub enum Direction {
        /// From the contact.
        In = "in",
        Out = "out",
    }
}

text_enum! {
    /// Who wrote a message (`messages.sender_kind`).
    pub enum SenderKind {
        Contact = "contact",
        /// A member of the workspace (who may have left since).
        Member = "member",
        /// Sent by wacrm itself or an integration, not a member.
        Bot = "bot",
    }
}

impl SenderKind {
    pub fn is_member(self) -> bool {
        self == SenderKind::Member
    }

    pub fn is_bot(self) -> bool {
        self == SenderKind::Bot
    }
}

/// Where a sent message is. Only moves forward: queued → sent → delivered →
/// read; `Failed` (with a reason) ends it. Inbound messages are `Received`.
/// Stored as `messages.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
    Received,
}

impl DeliveryStatus {
    pub fn parse(input: &str) -> Option<DeliveryStatus> {
        Some(match input {
            "queued" => DeliveryStatus::Queued,
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "failed" => DeliveryStatus::Failed,
            "received" => DeliveryStatus::Received,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Received => "received",
        }
    }

    /// The ticks the conversation shows beside a message of ours.
    pub fn ticks(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "🕓",
            DeliveryStatus::Sent => "✓",
            DeliveryStatus::Delivered => "✓✓",
            DeliveryStatus::Read => "✓✓ read",
            DeliveryStatus::Failed => "⚠ not sent",
            DeliveryStatus::Received => "",
        }
    }

    /// Whether a report of `next` may replace `self` (reports arrive out of
    /// order: a late "sent" never undoes "read"). Mirrors the SQL
    /// `message_status_rank`.
    pub fn may_become(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        match (self, next) {
            (Received, _) | (_, Received) | (Failed, _) => false,
            (_, Failed) => self != Read,
            _ => next > self,
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::*;
    use super::*;

    text_enum_tests!(MessageKind, Direction, SenderKind);

    #[test]
    fn delivery_statuses_are_stored_as_parsed() {
        for status in [Queued, Sent, Delivered, Read, Failed, Received] {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.to_string(), status.as_str());
        }
    }

    #[test]
    fn delivery_status_only_moves_forward() {
        assert!(Queued.may_become(Sent));
        assert!(Sent.may_become(Read), "delivered may be skipped");
        assert!(!Read.may_become(Delivered));
        assert!(!Delivered.may_become(Sent));
        assert!(Sent.may_become(Failed));
        assert!(!Failed.may_become(Sent));
        assert!(!Read.may_become(Failed));
        assert!(!Received.may_become(Read));
    }

    #[test]
    fn unknown_kinds_are_kept_as_unknown() {
        assert_eq!(MessageKind::of_provider_type("image"), MessageKind::Image);
        assert_eq!(MessageKind::of_provider_type("order"), MessageKind::Order);
        assert_eq!(
            MessageKind::of_provider_type("referral"),
            MessageKind::Unknown
        );
        assert_eq!(MessageKind::Sticker.as_str(), "sticker");
    }
}
