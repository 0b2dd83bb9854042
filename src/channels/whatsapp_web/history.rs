//! The chat history a phone sends a newly linked device (whatsapp-rust's
//! `Event::HistorySync`), read one conversation at a time so that months
//! of chats never sit in memory at once, and turned into what wacrm
//! imports: the chats' messages since a given day (group chats' too,
//! which the workspace keeps only where the channel shows groups).

use time::OffsetDateTime;
use whatsapp_rust::prelude::*;
use whatsapp_rust::wacore::history_sync::{HistorySyncError, HistorySyncStream};
use whatsapp_rust::wacore_binary::jid::JidExt;

use super::link::{Inbox, SessionEvent, WebGroup, WebInbound};
use super::message_content::{content, received_media};
use crate::domain::MessageKind;

/// Messages imported in one commit at most: a longer chat takes several.
pub const CHUNK: usize = 500;
/// Tries of one commit (the library acknowledged the history already: it
/// does not come again).
const TRIES: u32 = 3;

/// Where the number of a customer known by LID alone is looked up.
#[async_trait::async_trait]
pub trait LidPhones: Send + Sync {
    async fn phone_of(&self, lid: &str) -> Option<String>;
}

/// Imports one history blob through `inbox`: read chat by chat on a
/// blocking thread, each chat committed as it is read, in chunks, so
/// memory holds a chat or two and never the whole history (wacore
/// src/history_sync.rs HistorySyncStream). Returns the chats read.
pub async fn import(
    compressed: impl AsRef<[u8]> + Send + 'static,
    inflated_size: u64,
    since: i64,
    inbox: &dyn Inbox,
    phones: &dyn LidPhones,
) -> usize {
    let (chats, mut read) = tokio::sync::mpsc::channel::<HistoryChat>(2);
    let reader = tokio::task::spawn_blocking(move || {
        read_chats(compressed.as_ref(), inflated_size, since, |chat| {
            chats.blocking_send(chat).is_ok()
        })
    });
    let mut count = 0;
    while let Some(chat) = read.recv().await {
        count += 1;
        let chat = match (&chat.phone, &chat.lid) {
            (None, Some(lid)) => match phones.phone_of(lid).await {
                Some(phone) => chat.with_phone(phone),
                None => chat,
            },
            _ => chat,
        };
        for event in chat.into_events() {
            commit(inbox, event).await;
        }
    }
    match reader.await {
        Ok(Ok(0)) => {}
        Ok(Ok(skipped)) => {
            tracing::warn!(skipped, "whatsapp web: history chats that did not decode")
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "whatsapp web: a history blob did not read"),
        Err(e) => tracing::warn!(error = %e, "whatsapp web: reading the history failed"),
    }
    count
}

/// Commits a chunk of history, trying again a little later on an error.
async fn commit(inbox: &dyn Inbox, event: SessionEvent) {
    for attempt in 1..=TRIES {
        match inbox.commit(vec![event.clone()]).await {
            Ok(()) => return,
            Err(e) if attempt == TRIES => {
                tracing::warn!(error = %e, "whatsapp web: a chunk of history was not imported");
            }
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_secs(u64::from(attempt) * 2)).await
            }
        }
    }
}

/// One chat of the history, its messages since the cut-off.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HistoryChat {
    /// The customer's number (digits), when the chat names it.
    pub phone: Option<String>,
    /// The customer's LID (digits), when the chat names it.
    pub lid: Option<String>,
    /// A group chat: the group's id and what it is called.
    pub group: Option<(String, Option<String>)>,
    pub customers: Vec<WebInbound>,
    pub ours: Vec<WebInbound>,
}

impl HistoryChat {
    /// Adds a message, the business's own (`ours`) or the other side's.
    fn add(&mut self, ours: bool, message: WebInbound) {
        if ours {
            self.ours.push(message);
        } else {
            self.customers.push(message);
        }
    }

    /// The chat, if it has any message.
    fn if_any(self) -> Option<Self> {
        (!self.customers.is_empty() || !self.ours.is_empty()).then_some(self)
    }

    /// Gives every message the customer's number, learnt elsewhere (the
    /// library's LID store) for a chat addressed by LID alone.
    pub fn with_phone(mut self, phone: String) -> Self {
        for message in self.customers.iter_mut().chain(self.ours.iter_mut()) {
            message.from = Some(phone.clone());
        }
        self.phone = Some(phone);
        self
    }

    /// The chat as events to commit, at most [`CHUNK`] messages each.
    pub fn into_events(self) -> Vec<SessionEvent> {
        let mut events = vec![];
        let mut customers = self.customers.into_iter().peekable();
        let mut ours = self.ours.into_iter().peekable();
        while customers.peek().is_some() || ours.peek().is_some() {
            let theirs: Vec<WebInbound> = customers.by_ref().take(CHUNK).collect();
            let mine: Vec<WebInbound> = ours.by_ref().take(CHUNK - theirs.len()).collect();
            events.push(SessionEvent::History {
                customers: theirs,
                ours: mine,
            });
        }
        // Once its messages made the group's contact, its name.
        if let Some((group, Some(name))) = self.group
            && !events.is_empty()
        {
            events.push(SessionEvent::GroupNamed { group, name });
        }
        events
    }
}

/// Reads a compressed history blob (`inflated_size` bytes once inflated:
/// the library's exact figure, which also caps the inflating) chat by
/// chat, handing each one-to-one chat with messages sent at or after
/// `since` (Unix seconds) to `each`, which returns whether to go on.
/// Returns how many chats could not be decoded (skipped).
pub fn read_chats(
    compressed: &[u8],
    inflated_size: u64,
    since: i64,
    mut each: impl FnMut(HistoryChat) -> bool,
) -> Result<usize, HistorySyncError> {
    let mut stream = HistorySyncStream::new(compressed, inflated_size);
    // One conversation's allocations, reused for the next.
    let mut conversation = wa::Conversation::default();
    while stream.next_conversation_into(&mut conversation)? {
        if let Some(chat) = chat(&conversation, since)
            && !each(chat)
        {
            break;
        }
    }
    Ok(stream.skipped_conversations())
}

/// A conversation of the history as wacrm imports it: `None` for status
/// updates, newsletters and broadcast lists, and for a chat with nothing
/// since `since`.
pub fn chat(conversation: &wa::Conversation, since: i64) -> Option<HistoryChat> {
    let jid: Jid = conversation.id.parse().ok()?;
    if jid.is_group() {
        return group_chat(conversation, &jid, since);
    }
    let user_of = |alias: Option<&String>, pn: bool| {
        alias
            .and_then(|a| a.parse::<Jid>().ok())
            .filter(|j| if pn { j.is_pn() } else { j.is_lid() })
            .map(|j| j.user.to_string())
    };
    // A chat is addressed by number or by LID; the other form, when the
    // phone knows it, comes along (`pnJid`, `lidJid`).
    let (phone, lid) = if jid.is_pn() {
        (
            Some(jid.user.to_string()),
            user_of(conversation.lid_jid.as_ref(), false),
        )
    } else if jid.is_lid() {
        (
            user_of(conversation.pn_jid.as_ref(), true),
            Some(jid.user.to_string()),
        )
    } else {
        return None;
    };
    // The name the business saved for the customer, for messages without
    // the customer's own profile name.
    let saved_name = conversation
        .name
        .clone()
        .or_else(|| conversation.display_name.clone())
        .filter(|n| !n.trim().is_empty());
    let mut chat = HistoryChat {
        phone: phone.clone(),
        lid: lid.clone(),
        ..HistoryChat::default()
    };
    for (ours, message) in messages(conversation, since) {
        let message = WebInbound {
            from: phone.clone(),
            lid: lid.clone(),
            push_name: if ours {
                None
            } else {
                message.push_name.or_else(|| saved_name.clone())
            },
            ..message
        };
        chat.add(ours, message);
    }
    chat.if_any()
}

/// A group chat of the history: its messages, each with who wrote it (a
/// member's message that does not say who is left out).
fn group_chat(conversation: &wa::Conversation, jid: &Jid, since: i64) -> Option<HistoryChat> {
    let group = jid.user.to_string();
    let name = conversation.name.clone().filter(|n| !n.trim().is_empty());
    let mut chat = HistoryChat {
        group: Some((group.clone(), name)),
        ..HistoryChat::default()
    };
    for (ours, message) in messages(conversation, since) {
        let member = if ours {
            None
        } else {
            match message.group.as_ref().and_then(|g| g.member.clone()) {
                Some(member) => Some(member),
                None => continue,
            }
        };
        let message = WebInbound {
            group: Some(WebGroup {
                id: group.clone(),
                member,
            }),
            ..message
        };
        chat.add(ours, message);
    }
    chat.if_any()
}

/// A history conversation's messages sent at or after `since`, as
/// (ours, message): addressed to nobody yet (the caller says to whom); a
/// message in a group names its author in `group.member` (the group's id
/// left empty).
fn messages(
    conversation: &wa::Conversation,
    since: i64,
) -> impl Iterator<Item = (bool, WebInbound)> + '_ {
    conversation.messages.iter().filter_map(move |entry| {
        let info = entry.message.as_option()?;
        let at = info
            .message_timestamp
            .and_then(|t| i64::try_from(t).ok())
            .filter(|t| *t >= since)?;
        // A notice of the chat's own (a stub) has no message: nobody wrote it.
        let (key, message) = (info.key.as_option()?, info.message.as_option()?);
        let id = key.id.clone().filter(|id| !id.is_empty())?;
        let base = message.get_base_message();
        // Edits and deletions are already applied to the history's messages.
        if base.protocol_message.is_set() {
            return None;
        }
        let (kind, body, reply_to) = content(base);
        if kind == MessageKind::Unknown {
            // Settings changes, poll votes and the like: not conversation.
            return None;
        }
        let ours = key.from_me.unwrap_or(false);
        // In a group, who wrote it: the key's participant, else the
        // message's (a number, or a LID).
        let member = key
            .participant
            .as_ref()
            .or(info.participant.as_ref())
            .and_then(|p| p.parse::<Jid>().ok())
            .and_then(|j| {
                if j.is_pn() {
                    Some(j.user.to_string())
                } else if j.is_lid() {
                    Some(format!("{}@lid", j.user))
                } else {
                    None
                }
            });
        let push_name = Some(info.push_name.clone())
            .flatten()
            .filter(|n| !ours && !n.trim().is_empty());
        Some((
            ours,
            WebInbound {
                id,
                from: None,
                lid: None,
                push_name,
                sent_at: OffsetDateTime::from_unix_timestamp(at).ok(),
                kind,
                body,
                media: received_media(base),
                raw: None,
                reply_to,
                group: member.map(|member| WebGroup {
                    id: String::new(),
                    member: Some(member),
                }),
            },
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use whatsapp_rust::buffa::Message as _;

    const NOW: i64 = 1_765_000_000;
    const DAY: i64 = 86_400;

    fn text(id: &str, from_me: bool, at: i64, body: &str) -> wa::HistorySyncMsg {
        wa::HistorySyncMsg {
            message: wa::WebMessageInfo {
                key: wa::MessageKey {
                    remote_jid: None,
                    from_me: Some(from_me),
                    id: Some(id.to_owned()),
                    participant: None,
                }
                .into(),
                message: wa::Message {
                    conversation: Some(body.to_owned()),
                    ..Default::default()
                }
                .into(),
                message_timestamp: Some(u64::try_from(at).unwrap_or(0)),
                push_name: (!from_me).then(|| "Ana".to_owned()),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }
    }

    fn conversation(id: &str, messages: Vec<wa::HistorySyncMsg>) -> wa::Conversation {
        wa::Conversation {
            id: id.to_owned(),
            messages,
            ..Default::default()
        }
    }

    #[test]
    fn a_one_to_one_chat_keeps_its_recent_messages_by_author() {
        let chat = chat(
            &conversation(
                "5511988887777@s.whatsapp.net",
                vec![
                    text("OLD", false, NOW - 40 * DAY, "too old"),
                    text("IN1", false, NOW - 2 * DAY, "hello"),
                    text("OUT1", true, NOW - DAY, "hi, how can I help?"),
                ],
            ),
            NOW - 30 * DAY,
        )
        .expect("a chat");
        assert_eq!(chat.phone.as_deref(), Some("5511988887777"));
        assert_eq!(chat.customers.len(), 1);
        assert_eq!(chat.customers[0].id, "IN1");
        assert_eq!(chat.customers[0].body, "hello");
        assert_eq!(chat.customers[0].push_name.as_deref(), Some("Ana"));
        assert_eq!(
            chat.customers[0].sent_at.map(|t| t.unix_timestamp()),
            Some(NOW - 2 * DAY)
        );
        assert_eq!(chat.ours.len(), 1);
        assert_eq!(chat.ours[0].id, "OUT1");
        assert_eq!(chat.ours[0].push_name, None);
        assert_eq!(chat.ours[0].from.as_deref(), Some("5511988887777"));
    }

    #[test]
    fn status_newsletters_and_stale_chats_are_left_out_and_lid_chats_keep_both_forms() {
        let recent = || vec![text("M", false, NOW, "hi")];
        for id in ["status@broadcast", "120363144638474820@newsletter"] {
            assert_eq!(chat(&conversation(id, recent()), NOW - DAY), None, "{id}");
        }
        let stale = conversation(
            "5511988887777@s.whatsapp.net",
            vec![text("M", false, NOW - 90 * DAY, "old")],
        );
        assert_eq!(chat(&stale, NOW - DAY), None);

        let mut by_lid = conversation("100000012345678@lid", recent());
        by_lid.pn_jid = Some("5511988887777@s.whatsapp.net".to_owned());
        let found = chat(&by_lid, NOW - DAY).expect("a chat");
        assert_eq!(found.lid.as_deref(), Some("100000012345678"));
        assert_eq!(found.phone.as_deref(), Some("5511988887777"));
        assert_eq!(found.customers[0].from.as_deref(), Some("5511988887777"));

        let unknown =
            chat(&conversation("100000012345678@lid", recent()), NOW - DAY).expect("a chat");
        assert_eq!(unknown.phone, None);
        let resolved = unknown.with_phone("5511988887777".to_owned());
        assert_eq!(resolved.customers[0].from.as_deref(), Some("5511988887777"));
    }

    #[test]
    fn a_group_chat_keeps_who_wrote_each_message_and_its_name() {
        let mut by_number = text("G1", false, NOW, "Who's coming?");
        by_number
            .message
            .get_or_insert_default()
            .key
            .get_or_insert_default()
            .participant = Some("5511988887777@s.whatsapp.net".to_owned());
        let mut by_lid = text("G2", false, NOW, "Me");
        by_lid.message.get_or_insert_default().participant = Some("100000012345678@lid".to_owned());
        // A member's message that does not say who wrote it is left out.
        let nobody = text("G3", false, NOW, "?");
        let ours = text("G4", true, NOW, "See you at 6");
        let mut group = conversation(
            "120363025246125486@g.us",
            vec![by_number, by_lid, nobody, ours],
        );
        group.name = Some("Acme regulars".to_owned());
        let found = chat(&group, NOW - DAY).expect("a group chat");
        assert_eq!(
            found.group,
            Some((
                "120363025246125486".to_owned(),
                Some("Acme regulars".to_owned())
            ))
        );
        let members: Vec<Option<String>> = found
            .customers
            .iter()
            .map(|m| m.group.as_ref().and_then(|g| g.member.clone()))
            .collect();
        assert_eq!(
            members,
            vec![
                Some("5511988887777".to_owned()),
                Some("100000012345678@lid".to_owned())
            ]
        );
        assert!(found.customers.iter().chain(&found.ours).all(|m| {
            m.from.is_none()
                && m.group
                    .as_ref()
                    .is_some_and(|g| g.id == "120363025246125486")
        }));
        assert_eq!(
            found.ours[0].group.as_ref().and_then(|g| g.member.clone()),
            None
        );
        // Its messages, then its name (once the group's contact exists).
        let events = found.into_events();
        assert!(matches!(events[0], SessionEvent::History { .. }));
        assert!(matches!(
            &events[1],
            SessionEvent::GroupNamed { group, name }
                if group == "120363025246125486" && name == "Acme regulars"
        ));
    }

    #[test]
    fn a_compressed_blob_is_read_chat_by_chat_and_long_chats_commit_in_chunks() {
        let many: Vec<wa::HistorySyncMsg> = (0..(CHUNK + 20))
            .map(|i| {
                text(
                    &format!("M{i}"),
                    i % 3 == 0,
                    NOW - 60 + i as i64 / 100,
                    "hey",
                )
            })
            .collect();
        let blob = wa::HistorySync {
            sync_type: wa::history_sync::HistorySyncType::INITIAL_BOOTSTRAP,
            conversations: vec![
                conversation("5511900000001@s.whatsapp.net", many),
                conversation(
                    "120363025246125486@g.us",
                    vec![text("G", false, NOW, "group")],
                ),
                conversation(
                    "5511900000002@s.whatsapp.net",
                    vec![text("N", false, NOW, "hi")],
                ),
            ],
            ..Default::default()
        };
        let plain = blob.encode_to_vec();
        let mut zipped = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zipped.write_all(&plain).expect("compress");
        let zipped = zipped.finish().expect("compress");

        let mut chats = vec![];
        let skipped = read_chats(&zipped, plain.len() as u64, NOW - DAY, |c| {
            chats.push(c);
            true
        })
        .expect("read");
        assert_eq!(skipped, 0);
        let phones: Vec<_> = chats.iter().map(|c| c.phone.clone()).collect();
        assert_eq!(
            phones,
            [Some("5511900000001".into()), Some("5511900000002".into())]
        );
        let events = chats.remove(0).into_events();
        assert_eq!(events.len(), 2);
        let sizes: Vec<usize> = events
            .iter()
            .map(|e| match e {
                SessionEvent::History { customers, ours } => customers.len() + ours.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, [CHUNK, 20]);

        // A blob claiming to inflate to less than it does is refused.
        assert!(read_chats(&zipped, 10, NOW - DAY, |_| true).is_err());
    }
}
