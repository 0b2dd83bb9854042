//! The interface between wacrm and a linked-device session: the rest of
//! wacrm sees events and a handle to send with, never the protocol
//! library. [`crate::channels::whatsapp_web::client`] implements it over
//! `whatsapp-rust`; the tests, over a scripted fake session.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::store::SessionStore;
use crate::domain::{DeliveryStatus, MessageKind};

/// What a running session reports, in order.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// Show this QR code (its text) to be scanned within `valid_for`; a
    /// newer one replaces it.
    Qr { code: String, valid_for: Duration },
    /// Type this code on the phone (asked for with a phone number).
    PairCode { code: String, valid_for: Duration },
    /// Linked (just now, or the stored link resumed): our number and name.
    Linked { phone: String, name: String },
    /// The connection dropped; the session reconnects by itself.
    Disconnected,
    /// The phone removed this device or WhatsApp logged it out: the stored
    /// state is dead, a new link needs a new scan.
    LoggedOut { reason: String },
    /// WhatsApp no longer accepts this client's protocol version.
    Outdated,
    /// Every QR code expired unscanned.
    QrExpired,
    /// The session cannot go on for now: another program took over this
    /// link, WhatsApp banned the number for a while, or refused to connect.
    /// It stops and lets its lease go; no process starts it again before
    /// `retry_after`. The owner sees `reason`.
    Paused {
        reason: String,
        retry_after: Duration,
    },
    /// Customers' messages.
    Messages(Vec<WebInbound>),
    /// Messages the business typed on its own phone; `from` is the
    /// customer each went to.
    SentFromPhone(Vec<WebInbound>),
    /// Customers' messages that could not be decrypted yet (their text is
    /// empty): shown as waiting until they come again under the same id.
    Undecryptable(Vec<WebInbound>),
    /// Earlier messages of the phone's one-to-one chats, from the history
    /// it sends a newly linked device: the customers' and the business's
    /// own. Imported as read; they set nothing off.
    History {
        customers: Vec<WebInbound>,
        ours: Vec<WebInbound>,
    },
    /// A customer edited a message: its new text.
    Edited { message_id: String, body: String },
    /// A customer deleted a message for everyone.
    Revoked { message_id: String },
    /// What a group (its id) is called now, as the phone tells it.
    GroupNamed { group: String, name: String },
    /// What became of messages we sent (their provider ids).
    Receipt {
        message_ids: Vec<String>,
        status: DeliveryStatus,
    },
}

/// A customer's message as a session hands it over: in a one-to-one chat,
/// or in a group chat (`group`; kept only where the channel shows groups).
#[derive(Debug, Clone, PartialEq)]
pub struct WebInbound {
    /// The message id: unique per sender, the same id twice is the same
    /// message.
    pub id: String,
    /// The customer's number, digits only (for our own messages, the
    /// customer they went to); `None` when only their LID is known.
    pub from: Option<String>,
    /// The customer's WhatsApp LID (digits), when the session knows it.
    pub lid: Option<String>,
    pub push_name: Option<String>,
    pub sent_at: Option<OffsetDateTime>,
    pub kind: MessageKind,
    pub body: String,
    pub media: Option<serde_json::Value>,
    pub raw: Option<serde_json::Value>,
    /// The id of the message this one quotes or reacts to.
    pub reply_to: Option<String>,
    /// In a group chat: the group and who in it wrote (then `from` and
    /// `lid` are `None`).
    pub group: Option<WebGroup>,
}

/// Where in a group a message was written.
#[derive(Debug, Clone, PartialEq)]
pub struct WebGroup {
    /// The group's id (the user part of `<id>@g.us`).
    pub id: String,
    /// Who wrote it: their number's digits or `<lid>@lid` (`None` for the
    /// business's own messages).
    pub member: Option<String>,
}

/// A message to send: a text, a file with its caption, or a reaction;
/// any of them may answer an earlier message.
#[derive(Debug, Clone, PartialEq)]
pub struct WebOutgoing {
    /// The id to send it under, fixed before the first try: a retry after
    /// a crash sends the same id, which the recipient's phone shows once.
    pub id: String,
    /// The text, the file's caption, or the reaction's emoji.
    pub text: String,
    pub file: Option<WebFile>,
    /// A reaction to `reply_to` rather than a message.
    pub reaction: bool,
    /// The message quoted or reacted to.
    pub reply_to: Option<WebQuoted>,
}

/// A file to send.
#[derive(Debug, Clone, PartialEq)]
pub struct WebFile {
    pub kind: MessageKind,
    pub mime_type: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// An earlier message of the chat, as a reply or reaction names it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebQuoted {
    pub id: String,
    /// Ours (else the customer's).
    pub ours: bool,
    /// In a group, who wrote it when not us (digits or `<lid>@lid`).
    pub member: Option<String>,
    /// What it said, shown in the quote.
    pub text: String,
}

/// Where a customer's file waits on WhatsApp's servers (encrypted), kept
/// with the message (`media.wa`) until the session downloads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WebMediaRef {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub media_type: String,
    pub direct_path: String,
    /// Base64, as are the digests.
    pub media_key: String,
    pub file_sha256: String,
    pub file_enc_sha256: String,
    pub file_length: u64,
}

/// The key under which a message's media holds its [`WebMediaRef`].
pub const MEDIA_REF_KEY: &str = "wa";

/// Where a session commits what it received before it acknowledges it to
/// WhatsApp: messages (customers' and the phone's), edits and deletions,
/// in the order received. `Ok` only once they are durably stored (each one
/// once, however often it is handed over); on `Err` the session leaves
/// them unacknowledged and WhatsApp delivers them again.
#[async_trait::async_trait]
pub trait Inbox: Send + Sync {
    async fn commit(&self, received: Vec<SessionEvent>) -> anyhow::Result<()>;
}

/// How a session starts: its channel, stored state and where its events go.
pub struct Start {
    pub org_id: Uuid,
    pub channel_id: Uuid,
    pub store: SessionStore,
    /// Status, receipts and anything else, in order, as they come.
    pub events: mpsc::UnboundedSender<SessionEvent>,
    /// What must not be lost: committed before it is acknowledged.
    pub inbox: Arc<dyn Inbox>,
    /// Link by a pairing code for this number (digits) instead of a QR.
    pub pair_phone: Option<String>,
    /// How many days of the phone's chat history to import (0: none).
    pub history_days: u16,
}

/// Starts sessions. One per process; a session runs until stopped.
#[async_trait::async_trait]
pub trait Connector: Send + Sync + 'static {
    async fn start(&self, start: Start) -> anyhow::Result<Arc<dyn LinkedSession>>;
}

/// A running session.
#[async_trait::async_trait]
pub trait LinkedSession: Send + Sync {
    /// Sends to a chat (a number's digits, `<lid>@lid` for a customer
    /// known only by LID, or `<id>@g.us` for a group); the message id
    /// WhatsApp knows it by.
    async fn send(&self, to: &str, message: &WebOutgoing) -> anyhow::Result<String>;
    /// Marks these messages of the chat `to` (as for `send`) read: the
    /// customer sees blue ticks.
    async fn mark_read(&self, to: &str, message_ids: &[String]) -> anyhow::Result<()>;
    /// A customer's file, downloaded and decrypted.
    async fn download(&self, media: &WebMediaRef) -> anyhow::Result<Vec<u8>>;
    /// Unlinks this device from the phone (the stored state is then dead).
    async fn log_out(&self);
    /// Closes the connection and keeps the state, so another process can
    /// resume it without a new scan.
    async fn stop(&self);
    /// Resolves when the session ended by itself (its connection task
    /// died), so that it can be started again.
    async fn finished(&self);
}
