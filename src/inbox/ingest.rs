//! A customer's message arriving on a channel: find or create the contact
//! and the conversation, store the message once, tell the live inboxes.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db;
use crate::db::channels::Channel;
use crate::db::messages::NewMessage;
use crate::domain::{DeliveryStatus, MessageKind, PhoneE164};
use crate::tenancy::TenantTx;

/// A message as a channel hands it over.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    pub from: PhoneE164,
    /// The name the customer gave their profile, for a new contact.
    pub profile_name: Option<&'a str>,
    /// The provider's id: the same id twice is the same message.
    pub provider_message_id: &'a str,
    pub kind: MessageKind,
    pub body: &'a str,
    pub media: Option<serde_json::Value>,
    /// The payload as received, kept for kinds wacrm does not model.
    pub raw: Option<serde_json::Value>,
    pub sent_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Stored {
        conversation_id: Uuid,
        message_id: Uuid,
    },
    /// Already stored (the channel retried).
    Duplicate,
    /// The contact is blocked: dropped.
    Blocked,
}

/// One arrival, in the caller's transaction.
pub async fn ingest(
    tx: &mut TenantTx,
    channel: &Channel,
    inbound: &Inbound<'_>,
) -> sqlx::Result<Ingested> {
    let (contact_id, blocked) =
        db::contacts::find_or_create_by_phone(tx, &inbound.from, inbound.profile_name).await?;
    if blocked {
        return Ok(Ingested::Blocked);
    }
    if db::messages::id_by_provider_id(tx, channel.id, inbound.provider_message_id)
        .await?
        .is_some()
    {
        return Ok(Ingested::Duplicate);
    }
    let at = inbound.sent_at.unwrap_or_else(OffsetDateTime::now_utc);
    let conversation_id = db::conversations::find_or_open(tx, channel.id, contact_id, at).await?;
    let stored = db::messages::insert(
        tx,
        &NewMessage {
            conversation_id,
            channel_id: channel.id,
            inbound: true,
            kind: inbound.kind,
            body: inbound.body,
            media: inbound.media.clone(),
            sender_user_id: None,
            private: false,
            provider_message_id: Some(inbound.provider_message_id),
            status: DeliveryStatus::Received,
            raw: inbound.raw.clone(),
            created_at: Some(at),
        },
    )
    .await?;
    // A concurrent delivery of the same id won the insert.
    let Some(message_id) = stored else {
        return Ok(Ingested::Duplicate);
    };
    db::conversations::record_message(
        tx,
        conversation_id,
        true,
        &preview(inbound.kind, inbound.body),
        at,
    )
    .await?;
    Ok(Ingested::Stored {
        conversation_id,
        message_id,
    })
}

/// The list's one-line summary of a message.
pub fn preview(kind: MessageKind, body: &str) -> String {
    let body = body.trim();
    match kind {
        MessageKind::Text | MessageKind::Note | MessageKind::Template => body.to_owned(),
        _ if !body.is_empty() => format!("[{}] {body}", kind.as_str()),
        MessageKind::Unknown => "[unsupported message]".to_owned(),
        _ => format!("[{}]", kind.as_str()),
    }
}
