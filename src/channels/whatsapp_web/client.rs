//! The production [`Connector`]: a `whatsapp-rust` client per session,
//! over the session's Postgres store, its events turned into
//! [`SessionEvent`]s. It is the only module that knows the library.
//!
//! Group chats come as group messages ([`WebGroup`]); the workspace keeps
//! them only where the channel shows groups (off by default).

use std::sync::Arc;

use time::OffsetDateTime;
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::prelude::*;
use whatsapp_rust::types::presence::ReceiptType;
use whatsapp_rust::wacore_binary::jid::JidExt;

use base64::Engine;
use whatsapp_rust::download::{DownloadParams, MediaType};
use whatsapp_rust::media::{self, AudioOptions, DocumentOptions, ImageOptions, VideoOptions};
use whatsapp_rust::upload::{UploadOptions, UploadResponse};
use whatsapp_rust::wacore::proto_helpers::build_quote_context;
use whatsapp_rust::wacore::stanza::groups::GroupNotificationAction;

use super::history;
use super::link::{
    Connector, Inbox, LinkedSession, SessionEvent, Start, WebGroup, WebInbound, WebMediaRef,
    WebOutgoing,
};
use super::message_content::{content, received_media};
use crate::domain::{DeliveryStatus, MessageKind};
use whatsapp_rust::InboundDurabilityHook;
use whatsapp_rust::types::events::LazyHistorySync;

/// Connects sessions to WhatsApp's servers.
#[derive(Debug, Default)]
pub struct WhatsappRust;

/// How long a session replaced by another program waits before trying again.
const REPLACED_RETRY: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// How long a session whose connection WhatsApp refused waits.
const REFUSED_RETRY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Events buffered for in-order delivery before the library drops one.
const EVENT_MAILBOX: usize = 4096;

/// The library's durability hook: commits what a batch means to wacrm
/// through the session's [`Inbox`] before the library acknowledges it.
struct Durable {
    inbox: Arc<dyn Inbox>,
}

#[async_trait::async_trait]
impl InboundDurabilityHook for Durable {
    async fn on_messages(
        &self,
        client: Arc<Client>,
        batch: &[InboundMessage],
    ) -> anyhow::Result<()> {
        // Only reads of the LID store here: the hook runs under the
        // sender's Signal lock, so it must not send (durability_hook.rs).
        let received = received(&client, batch.iter()).await;
        if received.is_empty() {
            return Ok(());
        }
        self.inbox.commit(received).await
    }
}

#[async_trait::async_trait]
impl Connector for WhatsappRust {
    async fn start(&self, start: Start) -> anyhow::Result<Arc<dyn LinkedSession>> {
        let events = start.events.clone();
        let history_days = start.history_days;
        let (history, blobs) =
            tokio::sync::mpsc::channel::<(LazyHistorySync, Arc<Client>)>(HISTORY_QUEUE);
        let named = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        // No `with_push_name`: the device takes the phone's own name (a set
        // name would be shown to the business's customers).
        let mut builder = Bot::builder()
            .with_backend(start.store)
            // Messages are acknowledged to WhatsApp only once committed
            // (whatsapp-rust 0.7 src/types/durability_hook.rs,
            // src/message/commit_batch.rs: store_pending_inbound_batch, then
            // the hook, then the acks; on Err no ack, redelivered).
            .with_inbound_durability_hook(Durable {
                inbox: start.inbox.clone(),
            })
            // One task delivers events in arrival order (the default runs
            // each callback in its own task, unordered: src/bot.rs
            // EventDelivery). When full it drops, counted: the callback only
            // forwards to an unbounded queue, and messages never depend on
            // it (the hook commits them).
            .with_event_delivery(EventDelivery::Ordered {
                capacity: EVENT_MAILBOX,
            })
            .on_event(move |event: Arc<Event>, client: Arc<Client>| {
                let events = events.clone();
                let history = history.clone();
                let named = named.clone();
                async move {
                    if let Event::Messages(batch) = event.as_ref() {
                        name_groups(&client, &events, &named, &batch.messages);
                    }
                    if let Event::HistorySync(blob) = event.as_ref() {
                        if history_days > 0 {
                            // Waits while the importer is behind, so none is
                            // lost and at most a few blobs are held. The
                            // clone shares the compressed bytes.
                            let _ = history.send(((**blob).clone(), client)).await;
                        }
                        return;
                    }
                    for translated in translate(&event, &client).await {
                        // The receiver is gone only when the session ends.
                        let _ = events.send(translated);
                    }
                }
            });
        if let Some(phone) = start.pair_phone {
            builder = builder.with_pair_code(PairCodeOptions {
                phone_number: phone,
                ..PairCodeOptions::default()
            });
        }
        let bot = builder.build().await?;
        let client = bot.client();
        let (done, finished) = tokio::sync::watch::channel(false);
        // The library's handle resolves when the run loop exits: a logout,
        // a replaced stream, a stop, or a crash (bot.rs BotHandle).
        let handle = bot.spawn();
        let runner = tokio::spawn(async move {
            handle.await;
            let _ = done.send(true);
        })
        .abort_handle();
        let importer =
            tokio::spawn(import_history(blobs, start.inbox, history_days)).abort_handle();
        Ok(Arc::new(Session {
            client,
            runner,
            importer,
            finished,
        }))
    }
}

struct Session {
    client: Arc<Client>,
    /// The task that holds the client's run loop (aborting it drops the
    /// library's handle, which aborts the client); `stop` ends it cleanly.
    runner: tokio::task::AbortHandle,
    /// The task importing the phone's history.
    importer: tokio::task::AbortHandle,
    /// True once the run loop exited.
    finished: tokio::sync::watch::Receiver<bool>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.runner.abort();
        self.importer.abort();
    }
}

/// Groups whose name this session asked the phone for already.
type Named = Arc<std::sync::Mutex<std::collections::HashSet<String>>>;

/// Asks WhatsApp, once per session, what each group these messages came
/// in is called, and reports it ([`SessionEvent::GroupNamed`]). Outside
/// the durability hook, in a task of its own: a network call under the
/// hook would hold the Signal lock (durability_hook.rs); renames come as
/// `GroupUpdate` events.
fn name_groups(
    client: &Arc<Client>,
    events: &tokio::sync::mpsc::UnboundedSender<SessionEvent>,
    named: &Named,
    messages: &[InboundMessage],
) {
    for message in messages {
        let chat = &message.info.source.chat;
        if !chat.is_group() {
            continue;
        }
        let group = chat.user.to_string();
        let first = named
            .lock()
            .map(|mut named| named.insert(group.clone()))
            .unwrap_or(false);
        if !first {
            continue;
        }
        let (client, events, chat) = (client.clone(), events.clone(), chat.clone());
        tokio::spawn(async move {
            match client.groups().get_metadata(&chat).await {
                Ok(metadata) => {
                    let _ = events.send(SessionEvent::GroupNamed {
                        group,
                        name: metadata.subject,
                    });
                }
                Err(e) => tracing::warn!(error = %e, "whatsapp web: reading a group's name failed"),
            }
        });
    }
}

/// History blobs waiting for the importer, at most.
const HISTORY_QUEUE: usize = 4;
/// Imports the history blobs a newly linked phone sends (whatsapp-rust
/// src/history_sync.rs: acknowledged, then `Event::HistorySync`), one at
/// a time (see [`history::import`]).
async fn import_history(
    mut blobs: tokio::sync::mpsc::Receiver<(LazyHistorySync, Arc<Client>)>,
    inbox: Arc<dyn Inbox>,
    days: u16,
) {
    while let Some((blob, client)) = blobs.recv().await {
        let since = OffsetDateTime::now_utc().unix_timestamp() - i64::from(days) * 86_400;
        let compressed = blob.compressed_bytes().clone();
        let inflated_size = blob.decompressed_size() as u64;
        drop(blob);
        let phones = LidStore(client);
        history::import(compressed, inflated_size, since, inbox.as_ref(), &phones).await;
    }
}

/// The library's LID↔phone store, learnt from the handshake, history and
/// usync (client/lid_pn.rs).
struct LidStore(Arc<Client>);

#[async_trait::async_trait]
impl history::LidPhones for LidStore {
    async fn phone_of(&self, lid: &str) -> Option<String> {
        lid_phone(&self.0, lid).await
    }
}

/// The number the library's LID store knows for a LID (digits).
async fn lid_phone(client: &Client, lid: &str) -> Option<String> {
    match client.get_lid_pn_entry(&Jid::lid(lid)).await {
        Ok(entry) => entry.map(|e| e.phone_number.to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "whatsapp web: reading the LID store failed");
            None
        }
    }
}

#[async_trait::async_trait]
impl LinkedSession for Session {
    async fn send(&self, to: &str, message: &WebOutgoing) -> anyhow::Result<String> {
        let chat = chat_jid(to);
        let content = self.content(&chat, message).await?;
        let options = SendOptions::default().with_message_id(message.id.clone());
        let sent = self
            .client
            .send_message_with_options(chat, content, options)
            .await?;
        Ok(sent.message_id)
    }

    async fn mark_read(&self, to: &str, message_ids: &[String]) -> anyhow::Result<()> {
        let ids: Vec<&str> = message_ids.iter().map(String::as_str).collect();
        // One-to-one: no sender (receipt.rs mark_as_read wants it in groups).
        self.client.mark_as_read(&chat_jid(to), None, &ids).await
    }

    async fn download(&self, media: &WebMediaRef) -> anyhow::Result<Vec<u8>> {
        let decode = |b64: &str| base64::engine::general_purpose::STANDARD.decode(b64);
        let params = DownloadParams::encrypted(
            media.direct_path.clone(),
            &decode(&media.media_key)?,
            &decode(&media.file_sha256)?,
            &decode(&media.file_enc_sha256)?,
            media.file_length,
            media_type(&media.media_type),
        );
        self.client.download_from_params(&params).await
    }

    async fn log_out(&self) {
        self.client.logout().await;
    }

    async fn stop(&self) {
        // What BotHandle::shutdown does: disconnect (flushing the device
        // state), then wait for the run loop to exit.
        self.client.disconnect().await;
        self.finished().await;
    }

    async fn finished(&self) {
        let mut finished = self.finished.clone();
        // An error means the runner is gone: finished too.
        let _ = finished.wait_for(|done| *done).await;
    }
}

impl Session {
    /// The protocol message for `message` to `chat`: a file is uploaded
    /// (encrypted) first.
    async fn content(&self, chat: &Jid, message: &WebOutgoing) -> anyhow::Result<wa::Message> {
        let quote = message.reply_to.as_ref().map(|quoted| {
            // The quoted message's author: us, the group's member who
            // wrote it, or the customer.
            let author = if quoted.ours {
                self.client
                    .pn()
                    .map(|pn| pn.to_string())
                    .unwrap_or_default()
            } else if let Some(member) = &quoted.member {
                chat_jid(member).to_string()
            } else {
                chat.to_string()
            };
            let shown = wa::Message::text(quoted.text.clone());
            Box::new(build_quote_context(quoted.id.clone(), author, &shown))
        });
        if message.reaction {
            let Some(target) = &message.reply_to else {
                anyhow::bail!("a reaction needs the message it reacts to");
            };
            return Ok(wa::Message {
                reaction_message: MessageField::some(wa::message::ReactionMessage {
                    key: MessageField::some(wa::MessageKey {
                        remote_jid: Some(chat.to_string()),
                        from_me: Some(target.ours),
                        id: Some(target.id.clone()),
                        // In a group, whose message it is.
                        participant: target
                            .member
                            .as_deref()
                            .filter(|_| !target.ours)
                            .map(|member| chat_jid(member).to_string()),
                    }),
                    text: Some(message.text.clone()),
                    sender_timestamp_ms: Some(OffsetDateTime::now_utc().unix_timestamp() * 1000),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        let Some(file) = &message.file else {
            let mut text = wa::Message::text(message.text.clone());
            if let Some(quote) = quote {
                text.set_context_info(*quote);
            }
            return Ok(text);
        };
        let caption = Some(message.text.clone()).filter(|c| !c.trim().is_empty());
        let mimetype = Some(file.mime_type.clone());
        let (media_type, build): (MediaType, fn(_, _, _) -> _) = match file.kind {
            MessageKind::Image => (MediaType::Image, image),
            MessageKind::Video => (MediaType::Video, video),
            MessageKind::Audio => (MediaType::Audio, audio),
            _ => (MediaType::Document, document),
        };
        let upload = self
            .client
            .upload(file.bytes.clone(), media_type, UploadOptions::default())
            .await?;
        Ok(build(
            upload,
            (mimetype, caption, file.filename.clone()),
            quote,
        ))
    }
}

/// A chat's address as the senders give it: digits (a number),
/// `<lid>@lid` or `<id>@g.us` (a group). Reactions and quotes then name
/// the chat by that same address, as the customer's phone knows it.
fn chat_jid(to: &str) -> Jid {
    if let Some(group) = to.strip_suffix("@g.us") {
        return Jid::group(group);
    }
    match to.strip_suffix("@lid") {
        Some(lid) => Jid::lid(lid),
        None => Jid::pn(to),
    }
}

/// A file's message, by kind: (type, caption, file name) and the quote.
type Described = (Option<String>, Option<String>, String);

fn image(
    upload: UploadResponse,
    (mimetype, caption, _): Described,
    context_info: Quote,
) -> wa::Message {
    media::image_message(
        upload,
        ImageOptions {
            caption,
            mimetype,
            context_info,
            ..Default::default()
        },
    )
}

fn video(
    upload: UploadResponse,
    (mimetype, caption, _): Described,
    context_info: Quote,
) -> wa::Message {
    media::video_message(
        upload,
        VideoOptions {
            caption,
            mimetype,
            context_info,
            ..Default::default()
        },
    )
}

fn audio(upload: UploadResponse, (mimetype, _, _): Described, context_info: Quote) -> wa::Message {
    media::audio_message(
        upload,
        AudioOptions {
            mimetype,
            context_info,
            ..Default::default()
        },
    )
}

fn document(
    upload: UploadResponse,
    (mimetype, caption, file_name): Described,
    context_info: Quote,
) -> wa::Message {
    media::document_message(
        upload,
        DocumentOptions {
            caption,
            mimetype,
            file_name: Some(file_name),
            context_info,
            ..Default::default()
        },
    )
}

type Quote = Option<Box<wa::ContextInfo>>;

/// The library's media type for a [`WebMediaRef`]'s.
fn media_type(name: &str) -> MediaType {
    match name {
        "image" => MediaType::Image,
        "video" => MediaType::Video,
        "audio" => MediaType::Audio,
        "sticker" => MediaType::Sticker,
        _ => MediaType::Document,
    }
}

/// A session that cannot go on for now, from the library's event: how
/// long before another try, and why (shown to the owner).
fn paused(event: &Event) -> Option<SessionEvent> {
    match event {
        // The library stops reconnecting: another client runs these
        // credentials (node_io.rs: a 409 conflict). Fighting it would only
        // replace each other in turn.
        Event::StreamReplaced(_) => Some(SessionEvent::Paused {
            reason: "Another program connected with this phone's link and replaced wacrm. Unlink it there, or link the phone again here.".into(),
            retry_after: REPLACED_RETRY,
        }),
        Event::TemporaryBan(ban) => Some(SessionEvent::Paused {
            reason: format!(
                "WhatsApp banned this number for a while ({:?}){}.",
                ban.code,
                ban.message
                    .as_deref()
                    .map(|m| format!(": {}", m.chars().take(200).collect::<String>()))
                    .unwrap_or_default()
            ),
            // A new connection before `expire` is refused again.
            retry_after: ban.expire.to_std().unwrap_or(REFUSED_RETRY),
        }),
        // 500 and 503 the client retries itself; logouts and an outdated
        // client arrive as their own events (node_io.rs handle_connect_failure).
        Event::ConnectFailure(failure) if !failure.reason.should_reconnect() => {
            Some(SessionEvent::Paused {
                reason: format!(
                    "WhatsApp refused the connection ({:?}){}.",
                    failure.reason,
                    failure
                        .message
                        .as_deref()
                        .map(|m| format!(": {}", m.chars().take(200).collect::<String>()))
                        .unwrap_or_default()
                ),
                retry_after: REFUSED_RETRY,
            })
        }
        _ => None,
    }
}

/// What wacrm keeps of a library event (most are none of its business).
async fn translate(event: &Event, client: &Client) -> Vec<SessionEvent> {
    match event {
        Event::PairingQrCode(qr) => vec![SessionEvent::Qr {
            code: qr.code.clone(),
            valid_for: qr.timeout,
        }],
        Event::PairingCode(code) => vec![SessionEvent::PairCode {
            code: code.code.clone(),
            valid_for: code.timeout,
        }],
        Event::Connected(_) => match client.pn() {
            Some(pn) => vec![SessionEvent::Linked {
                phone: pn.user.to_string(),
                name: client.push_name(),
            }],
            None => vec![],
        },
        Event::Disconnected(_) => vec![SessionEvent::Disconnected],
        Event::LoggedOut(out) => vec![SessionEvent::LoggedOut {
            reason: format!("{:?}", out.reason),
        }],
        Event::ClientOutdated(_) => vec![SessionEvent::Outdated],
        Event::PairingQrCodesExhausted(_) => vec![SessionEvent::QrExpired],
        Event::UndecryptableMessage(failed) => {
            let phone = peer_phone(client, &failed.info).await;
            undecryptable(&failed.info, phone.as_deref())
                .into_iter()
                .collect()
        }
        Event::StreamReplaced(_) | Event::TemporaryBan(_) | Event::ConnectFailure(_) => {
            paused(event).into_iter().collect()
        }
        // Committed by the hook already; the others (messages recovered
        // from the phone, newsletters) bypass it (commit_batch.rs,
        // MessageBatch::hook_committed).
        Event::Messages(batch) if batch.hook_committed => vec![],
        Event::Messages(batch) => received(client, batch.messages.iter()).await,
        Event::GroupUpdate(update) => match &update.action {
            GroupNotificationAction::Subject { subject, .. } => vec![SessionEvent::GroupNamed {
                group: update.group_jid.user.to_string(),
                name: subject.clone(),
            }],
            _ => vec![],
        },
        Event::Receipt(receipt) if !receipt.source.is_group => {
            let status = match receipt.r#type {
                ReceiptType::Delivered => DeliveryStatus::Delivered,
                ReceiptType::Read | ReceiptType::Played => DeliveryStatus::Read,
                _ => return vec![],
            };
            vec![SessionEvent::Receipt {
                message_ids: receipt.message_ids.clone(),
                status,
            }]
        }
        _ => vec![],
    }
}

/// What a batch of received messages means to wacrm, in order: runs of
/// customers' or the phone's messages, and edits and deletions between
/// them (so an edit never comes before its message).
async fn received<'a>(
    client: &Client,
    batch: impl Iterator<Item = &'a InboundMessage>,
) -> Vec<SessionEvent> {
    let mut events: Vec<SessionEvent> = vec![];
    for m in batch {
        let phone = peer_phone(client, &m.info).await;
        let Some(event) = classify(&m.message, &m.info, phone.as_deref()) else {
            continue;
        };
        // Consecutive messages of one kind go in together.
        match (events.last_mut(), event) {
            (Some(SessionEvent::Messages(run)), SessionEvent::Messages(more))
            | (Some(SessionEvent::SentFromPhone(run)), SessionEvent::SentFromPhone(more)) => {
                run.extend(more)
            }
            (_, event) => events.push(event),
        }
    }
    events
}

/// The phone number (digits) of the customer a one-to-one message is with:
/// the sender's, or the chat's for our own. A chat addressed by LID names
/// the number as its alias or in the library's LID↔phone store (learned
/// from the handshake, history and usync: client/lid_pn.rs).
async fn peer_phone(client: &Client, info: &MessageInfo) -> Option<String> {
    let (peer, number) = peer(info);
    if number.is_some() {
        return number;
    }
    if !peer.is_lid() {
        return None;
    }
    match client.get_lid_pn_entry(peer).await {
        Ok(entry) => entry.map(|e| e.phone_number.to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "whatsapp web: reading the LID store failed");
            None
        }
    }
}

/// The customer's address in a one-to-one message (the sender, or the
/// chat for our own), and their number when the message itself names it
/// (as the address, or as its alias when addressed by LID).
fn peer(info: &MessageInfo) -> (&Jid, Option<String>) {
    let source = &info.source;
    let (peer, alias) = if source.is_from_me {
        (&source.chat, source.recipient_alt.as_ref())
    } else {
        (&source.sender, source.sender_alt.as_ref())
    };
    let number = [Some(peer), alias]
        .into_iter()
        .flatten()
        .find(|jid| jid.is_pn())
        .map(|jid| jid.user.to_string());
    (peer, number)
}

/// The customer's LID (digits) in a one-to-one message: the address, or
/// its alias, when either is one.
fn peer_lid(info: &MessageInfo) -> Option<String> {
    let source = &info.source;
    let (peer, alias) = if source.is_from_me {
        (&source.chat, source.recipient_alt.as_ref())
    } else {
        (&source.sender, source.sender_alt.as_ref())
    };
    [Some(peer), alias]
        .into_iter()
        .flatten()
        .find(|jid| jid.is_lid())
        .map(|jid| jid.user.to_string())
}

/// One received message as wacrm takes it, given the customer's number
/// (`phone`, when known; in a group, the member's): a customer's message
/// or change, or one typed on the business's phone. A chat whose number is
/// unknown is kept under the customer's LID (shown as a contact with a
/// hidden number). A group's message names the group and who wrote it.
/// `None` for status updates.
pub fn classify(
    message: &wa::Message,
    info: &MessageInfo,
    phone: Option<&str>,
) -> Option<SessionEvent> {
    let source = &info.source;
    if source.chat.is_status_broadcast() {
        return None;
    }
    if source.is_group || source.chat.is_group() {
        return in_group(message, info, phone);
    }
    let lid = peer_lid(info);
    if phone.is_none() && lid.is_none() {
        tracing::warn!(id = %info.id, "whatsapp web: a chat with neither number nor LID; left out");
        return None;
    }
    if source.is_from_me {
        // Our own changes are wacrm's to make, not the phone's.
        if message.get_base_message().protocol_message.is_set() {
            return None;
        }
        return Some(SessionEvent::SentFromPhone(vec![inbound_from(
            message, info, phone, lid,
        )]));
    }
    if let Some(change) = change(message, info) {
        return Some(change);
    }
    Some(SessionEvent::Messages(vec![inbound_from(
        message, info, phone, lid,
    )]))
}

/// A message in a group chat: the group's id, and who wrote it (their
/// number, else their LID), or the business's own.
fn in_group(
    message: &wa::Message,
    info: &MessageInfo,
    phone: Option<&str>,
) -> Option<SessionEvent> {
    let source = &info.source;
    if !source.chat.is_group() {
        return None;
    }
    let member = match phone {
        Some(phone) => Some(phone.to_owned()),
        None => peer_lid(info).map(|lid| format!("{lid}@lid")),
    };
    let group = WebGroup {
        id: source.chat.user.to_string(),
        member: if source.is_from_me { None } else { member },
    };
    if source.is_from_me {
        if message.get_base_message().protocol_message.is_set() {
            return None;
        }
        let mut ours = inbound_from(message, info, None, None);
        ours.group = Some(group);
        return Some(SessionEvent::SentFromPhone(vec![ours]));
    }
    if group.member.is_none() {
        tracing::warn!(id = %info.id, "whatsapp web: a group message from nobody known; left out");
        return None;
    }
    if let Some(change) = change(message, info) {
        return Some(change);
    }
    let mut theirs = inbound_from(message, info, None, None);
    theirs.group = Some(group);
    Some(SessionEvent::Messages(vec![theirs]))
}

/// A customer's one-to-one message that failed to decrypt (the library
/// asks the phone to send it again; it then arrives under the same id).
fn undecryptable(info: &MessageInfo, phone: Option<&str>) -> Option<SessionEvent> {
    let source = &info.source;
    if source.is_from_me
        || source.is_group
        || source.chat.is_group()
        || source.chat.is_status_broadcast()
    {
        return None;
    }
    let lid = peer_lid(info);
    if phone.is_none() && lid.is_none() {
        return None;
    }
    let placeholder = inbound_from(&wa::Message::default(), info, phone, lid);
    Some(SessionEvent::Undecryptable(vec![placeholder]))
}

/// A customer's edit or delete-for-everyone of an earlier message (in a
/// one-to-one chat, or a group's member's in the group).
pub fn change(message: &wa::Message, info: &MessageInfo) -> Option<SessionEvent> {
    use wa::message::protocol_message::Type;
    let source = &info.source;
    if source.is_from_me || source.chat.is_status_broadcast() {
        return None;
    }
    let protocol = message.get_base_message().protocol_message.as_option()?;
    let message_id = protocol.key.as_option()?.id.clone()?;
    match protocol.r#type? {
        Type::REVOKE => Some(SessionEvent::Revoked { message_id }),
        Type::MESSAGE_EDIT => {
            let edited = protocol.edited_message.as_option()?;
            let (_, body, _) = content(edited.get_base_message());
            Some(SessionEvent::Edited { message_id, body })
        }
        _ => None,
    }
}

/// A one-to-one message with the customer (`phone` and/or `lid`), as
/// wacrm stores it.
fn inbound_from(
    message: &wa::Message,
    info: &MessageInfo,
    phone: Option<&str>,
    lid: Option<String>,
) -> WebInbound {
    let base = message.get_base_message();
    let (kind, body, reply_to) = content(base);
    WebInbound {
        id: info.id.clone(),
        from: phone.map(str::to_owned),
        lid,
        // On our own messages the name is the business's.
        push_name: Some(info.push_name.clone())
            .filter(|n| !info.source.is_from_me && !n.trim().is_empty()),
        sent_at: OffsetDateTime::from_unix_timestamp(info.timestamp.timestamp()).ok(),
        kind,
        body,
        media: received_media(base),
        raw: None,
        reply_to,
        group: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::whatsapp_web::link::MEDIA_REF_KEY;

    fn info(sender: Jid, chat: Jid) -> MessageInfo {
        MessageInfo {
            id: "3EB0C0FFEE".into(),
            push_name: "Sheena Nelson".into(),
            source: whatsapp_rust::wacore::types::message::MessageSource {
                sender,
                chat,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn customer() -> MessageInfo {
        info(Jid::pn("16505551234"), Jid::pn("16505551234"))
    }

    /// A customer's message as the hook stores it (the number as the
    /// message names it; no LID store).
    fn inbound(message: &wa::Message, info: &MessageInfo) -> Option<WebInbound> {
        match classify(message, info, peer(info).1.as_deref())? {
            SessionEvent::Messages(mut m) if m.len() == 1 => m.pop(),
            _ => None,
        }
    }

    /// A message typed on the business's phone, as the hook stores it.
    fn from_phone(message: &wa::Message, info: &MessageInfo) -> Option<WebInbound> {
        match classify(message, info, peer(info).1.as_deref())? {
            SessionEvent::SentFromPhone(mut m) if m.len() == 1 => m.pop(),
            _ => None,
        }
    }

    #[test]
    fn a_customers_text_becomes_an_inbound_message() {
        let message = wa::Message {
            conversation: Some("Is it in stock?".into()),
            ..Default::default()
        };
        let inbound = inbound(&message, &customer()).expect("kept");
        assert_eq!(inbound.id, "3EB0C0FFEE");
        assert_eq!(inbound.from.as_deref(), Some("16505551234"));
        assert_eq!(inbound.push_name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(
            (inbound.kind, inbound.body.as_str()),
            (MessageKind::Text, "Is it in stock?")
        );
        assert_eq!(inbound.reply_to, None);
    }

    #[test]
    fn quotes_reactions_captions_and_lid_senders_map() {
        let quoting = wa::Message {
            extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                text: Some("The blue one".into()),
                context_info: MessageField::some(wa::ContextInfo {
                    stanza_id: Some("3EB0QUOTED".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let got = inbound(&quoting, &customer()).expect("kept");
        assert_eq!(
            (got.body.as_str(), got.reply_to.as_deref()),
            ("The blue one", Some("3EB0QUOTED"))
        );

        let reaction = wa::Message {
            reaction_message: MessageField::some(wa::message::ReactionMessage {
                key: MessageField::some(wa::MessageKey {
                    id: Some("3EB0OURS".into()),
                    ..Default::default()
                }),
                text: Some("👍".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let got = inbound(&reaction, &customer()).expect("kept");
        assert_eq!(
            (got.kind, got.body.as_str(), got.reply_to.as_deref()),
            (MessageKind::Reaction, "👍", Some("3EB0OURS"))
        );

        let image = wa::Message {
            image_message: MessageField::some(wa::message::ImageMessage {
                caption: Some("Receipt".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let got = inbound(&image, &customer()).expect("kept");
        assert_eq!(
            (got.kind, got.body.as_str()),
            (MessageKind::Image, "Receipt")
        );

        // Addressed by LID: the number comes from its alias.
        let mut by_lid = info(Jid::lid("100000012345678"), Jid::lid("100000012345678"));
        by_lid.source.sender_alt = Some(Jid::pn("16505551234"));
        let text = wa::Message {
            conversation: Some("hi".into()),
            ..Default::default()
        };
        assert_eq!(
            inbound(&text, &by_lid).expect("kept").from.as_deref(),
            Some("16505551234")
        );
        by_lid.source.sender_alt = None;
        // No number known: kept under the LID (a contact with a hidden number).
        let hidden = inbound(&text, &by_lid).expect("kept, not dropped");
        assert_eq!(
            (hidden.from.as_deref(), hidden.lid.as_deref()),
            (None, Some("100000012345678"))
        );
    }

    #[test]
    fn a_message_typed_on_the_business_phone_is_ours_to_the_chat() {
        let text = wa::Message {
            conversation: Some("On its way!".into()),
            ..Default::default()
        };
        // Sent from the phone: the sender is us, the chat the customer.
        let mut mine = info(Jid::pn("15550009999"), Jid::pn("16505551234"));
        mine.source.is_from_me = true;
        assert_eq!(inbound(&text, &mine), None, "not a customer's");
        let sent = from_phone(&text, &mine).expect("kept as ours");
        assert_eq!(
            (sent.from.as_deref().unwrap_or_default(), sent.body.as_str()),
            ("16505551234", "On its way!")
        );
        assert_eq!(sent.push_name, None, "our own name is not the customer's");
        // A LID chat with the number as the recipient's alias.
        let mut by_lid = info(Jid::pn("15550009999"), Jid::lid("100000012345678"));
        by_lid.source.is_from_me = true;
        by_lid.source.recipient_alt = Some(Jid::pn("16505551234"));
        let kept = from_phone(&text, &by_lid).expect("kept");
        assert_eq!(kept.from.as_deref(), Some("16505551234"));
        assert_eq!(kept.lid.as_deref(), Some("100000012345678"));
        // Our own edits and deletions are not taken from the phone.
        let revoke = wa::Message {
            protocol_message: MessageField::some(wa::message::ProtocolMessage {
                r#type: Some(wa::message::protocol_message::Type::REVOKE),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(classify(&revoke, &mine, Some("16505551234")).is_none());
    }

    #[test]
    fn a_lid_chat_takes_the_number_the_store_knows_or_is_left_out() {
        let text = wa::Message {
            conversation: Some("hi".into()),
            ..Default::default()
        };
        let by_lid = info(Jid::lid("100000012345678"), Jid::lid("100000012345678"));
        let (address, number) = peer(&by_lid);
        assert!(address.is_lid());
        assert_eq!(number, None, "the message names no number");
        match classify(&text, &by_lid, Some("16505551234")) {
            Some(SessionEvent::Messages(m)) => {
                assert_eq!(m[0].from.as_deref(), Some("16505551234"));
                assert_eq!(m[0].lid.as_deref(), Some("100000012345678"));
            }
            other => panic!("{other:?}"),
        }
        match classify(&text, &by_lid, None) {
            Some(SessionEvent::Messages(m)) => {
                assert_eq!(m[0].from, None, "number unknown: kept by LID");
                assert_eq!(m[0].lid.as_deref(), Some("100000012345678"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_replaced_banned_or_refused_session_pauses_for_as_long_as_it_must() {
        use whatsapp_rust::types::events::{
            ConnectFailure, ConnectFailureReason, StreamReplaced, TempBanReason, TemporaryBan,
        };
        let pause = |event: Event| match paused(&event) {
            Some(SessionEvent::Paused {
                reason,
                retry_after,
            }) => Some((reason, retry_after)),
            _ => None,
        };
        let (why, after) =
            pause(Event::StreamReplaced(StreamReplaced::builder().build())).expect("paused");
        assert!(why.contains("Another program"), "{why}");
        assert_eq!(after, REPLACED_RETRY);

        let ban = TemporaryBan::builder()
            .code(TempBanReason::SentToTooManyPeople)
            .expire(whatsapp_rust::wacore::chrono::Duration::seconds(3600))
            .message("Too many messages".to_owned())
            .build();
        let (why, after) = pause(Event::TemporaryBan(ban)).expect("paused");
        assert!(
            why.contains("SentToTooManyPeople") && why.contains("Too many messages"),
            "{why}"
        );
        assert_eq!(
            after,
            std::time::Duration::from_secs(3600),
            "until the ban ends"
        );

        let refused = ConnectFailure::builder()
            .reason(ConnectFailureReason::BadUserAgent)
            .build();
        let (why, after) = pause(Event::ConnectFailure(refused)).expect("paused");
        assert!(why.contains("refused"), "{why}");
        assert_eq!(after, REFUSED_RETRY);
        // The client retries a busy server by itself: no pause.
        let busy = ConnectFailure::builder()
            .reason(ConnectFailureReason::ServiceUnavailable)
            .build();
        assert_eq!(pause(Event::ConnectFailure(busy)), None);
    }

    #[test]
    fn a_message_that_fails_to_decrypt_becomes_a_placeholder_for_its_chat() {
        match undecryptable(&customer(), Some("16505551234")) {
            Some(SessionEvent::Undecryptable(m)) => {
                assert_eq!(
                    (
                        m[0].id.as_str(),
                        m[0].from.as_deref().unwrap_or_default(),
                        m[0].body.as_str()
                    ),
                    ("3EB0C0FFEE", "16505551234", "")
                );
                assert_eq!(m[0].kind, MessageKind::Unknown);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            undecryptable(&customer(), None).is_none(),
            "neither number nor LID"
        );
        let mut group = info(Jid::pn("16505551234"), Jid::group("120363021033254949"));
        group.source.is_group = true;
        assert!(undecryptable(&group, Some("16505551234")).is_none());
    }

    #[test]
    fn a_groups_messages_name_the_group_and_who_wrote_them_and_status_is_left_out() {
        let text = wa::Message {
            conversation: Some("hi all".into()),
            ..Default::default()
        };
        // A member known by number.
        let mut by_number = info(Jid::pn("16505551234"), Jid::group("120363021033254949"));
        by_number.source.is_group = true;
        let message = inbound(&text, &by_number).expect("kept as a group message");
        assert_eq!(
            (message.from.as_deref(), message.lid.as_deref()),
            (None, None)
        );
        assert_eq!(message.body, "hi all");
        assert_eq!(message.push_name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(
            message.group,
            Some(WebGroup {
                id: "120363021033254949".into(),
                member: Some("16505551234".into()),
            })
        );
        // A member known by LID alone (a LID-addressed group).
        let mut by_lid = info(
            Jid::lid("100000012345678"),
            Jid::group("120363021033254949"),
        );
        by_lid.source.is_group = true;
        let message = inbound(&text, &by_lid).expect("kept");
        assert_eq!(
            message.group.and_then(|g| g.member).as_deref(),
            Some("100000012345678@lid")
        );
        // ... whose number the message names as the sender's alias.
        by_lid.source.sender_alt = Some(Jid::pn("16505559876"));
        let message = inbound(&text, &by_lid).expect("kept");
        assert_eq!(
            message.group.and_then(|g| g.member).as_deref(),
            Some("16505559876")
        );
        // Our own, typed on the phone into the group.
        let mut ours = info(Jid::pn("16505550000"), Jid::group("120363021033254949"));
        ours.source.is_group = true;
        ours.source.is_from_me = true;
        let message = from_phone(&text, &ours).expect("ours");
        assert_eq!(
            message.group,
            Some(WebGroup {
                id: "120363021033254949".into(),
                member: None,
            })
        );
        assert_eq!(message.push_name, None);
        // A group flag on a chat that is not a group is not trusted.
        let mut odd = info(Jid::pn("16505551234"), Jid::pn("16505551234"));
        odd.source.is_group = true;
        assert_eq!(inbound(&text, &odd), None);
        let status = info(
            Jid::pn("16505551234"),
            "status@broadcast".parse().expect("jid"),
        );
        assert_eq!(inbound(&text, &status), None);
    }

    #[test]
    fn a_chats_address_names_a_group_a_lid_or_a_number() {
        assert_eq!(
            chat_jid("120363021033254949@g.us"),
            Jid::group("120363021033254949")
        );
        assert_eq!(chat_jid("100000012345678@lid"), Jid::lid("100000012345678"));
        assert_eq!(chat_jid("16505551234"), Jid::pn("16505551234"));
    }

    #[test]
    fn edits_and_deletes_for_everyone_name_the_earlier_message() {
        use wa::message::protocol_message::Type;
        let protocol = |kind: Type, edited: Option<&str>| wa::Message {
            protocol_message: MessageField::some(wa::message::ProtocolMessage {
                key: MessageField::some(wa::MessageKey {
                    id: Some("3EB0EARLIER".into()),
                    ..Default::default()
                }),
                r#type: Some(kind),
                edited_message: match edited {
                    Some(text) => MessageField::some(wa::Message {
                        conversation: Some(text.into()),
                        ..Default::default()
                    }),
                    None => MessageField::none(),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        match change(
            &protocol(Type::MESSAGE_EDIT, Some("Two, not three")),
            &customer(),
        ) {
            Some(SessionEvent::Edited { message_id, body }) => {
                assert_eq!(
                    (message_id.as_str(), body.as_str()),
                    ("3EB0EARLIER", "Two, not three")
                );
            }
            other => panic!("{other:?}"),
        }
        match change(&protocol(Type::REVOKE, None), &customer()) {
            Some(SessionEvent::Revoked { message_id }) => assert_eq!(message_id, "3EB0EARLIER"),
            other => panic!("{other:?}"),
        }
        let text = wa::Message {
            conversation: Some("hi".into()),
            ..Default::default()
        };
        assert!(change(&text, &customer()).is_none(), "not a change");
        let mut mine = customer();
        mine.source.is_from_me = true;
        assert!(
            change(&protocol(Type::REVOKE, None), &mine).is_none(),
            "our own"
        );
    }

    #[test]
    fn a_received_file_keeps_where_it_waits_and_its_keys() {
        let document = wa::Message {
            document_message: MessageField::some(wa::message::DocumentMessage {
                direct_path: Some("/v/t62.7119-24/abc".into()),
                media_key: Some(vec![1; 32]),
                file_sha256: Some(vec![2; 32]),
                file_enc_sha256: Some(vec![3; 32]),
                file_length: Some(1234),
                mimetype: Some("application/pdf".into()),
                file_name: Some("prices.pdf".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let got = inbound(&document, &customer()).expect("kept");
        assert_eq!(
            (got.kind, got.body.as_str()),
            (MessageKind::Document, "prices.pdf")
        );
        let media = got.media.expect("media");
        assert_eq!(media["mime_type"], "application/pdf");
        assert_eq!(media["filename"], "prices.pdf");
        let reference: WebMediaRef =
            serde_json::from_value(media[MEDIA_REF_KEY].clone()).expect("a reference");
        assert_eq!(reference.media_type, "document");
        assert_eq!(reference.direct_path, "/v/t62.7119-24/abc");
        assert_eq!(reference.file_length, 1234);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&reference.media_key)
            .expect("base64");
        assert_eq!(decoded, vec![1; 32]);
        // Without its address there is nothing to fetch.
        let text = wa::Message {
            conversation: Some("hi".into()),
            ..Default::default()
        };
        assert_eq!(inbound(&text, &customer()).expect("kept").media, None);
    }
}
