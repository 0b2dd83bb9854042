//! WAHA's webhook deliveries, read into the events of a linked-device
//! session. One-to-one chats come in (see [`super::Peer`]) by number
//! (`@c.us`) or by LID (`@lid`, the number hidden; the route asks WAHA for
//! the number, see [`super::lids`]); group chats (`@g.us`) as group
//! messages, kept where the channel shows groups; anything wacrm does not
//! use is acknowledged and left.

use serde_json::Value;
use time::OffsetDateTime;

use super::{Peer, bare_id, chat_phone};
use crate::channels::whatsapp_web::link::{SessionEvent, WebGroup, WebInbound};
use crate::domain::{DeliveryStatus, MessageKind, WahaStatus};
use crate::features::inbox::attachment;

/// One delivery: which WAHA session sent it and what it says.
#[derive(Debug)]
pub struct Delivery {
    pub session: String,
    /// When WAHA made the event (its envelope's `timestamp`, unix ms),
    /// if it says (one that does not is refused as a possible replay).
    pub at: Option<OffsetDateTime>,
    pub event: Event,
}

#[derive(Debug)]
pub enum Event {
    /// Something the shared session code records as it is.
    Session(SessionEvent),
    /// The session's status, with our number and name once linked.
    Status {
        status: WahaStatus,
        me: Option<(String, String)>,
    },
    /// Nothing for wacrm (our own messages, groups, other events).
    Ignored,
}

/// Reads a delivery's body (its signature already checked).
pub fn parse(body: &[u8]) -> Result<Delivery, String> {
    let envelope: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let text = |key: &str| envelope.get(key).and_then(Value::as_str);
    let event = text("event").ok_or("no event")?;
    let session = text("session").ok_or("no session")?.to_owned();
    let payload = envelope.get("payload").unwrap_or(&Value::Null);
    let event = match event {
        "message" | "message.any" => match sent_from_phone(payload) {
            Some(true) => message(payload, true).map_or(Event::Ignored, |m| {
                Event::Session(SessionEvent::SentFromPhone(vec![m]))
            }),
            Some(false) => Event::Ignored,
            None => message(payload, false).map_or(Event::Ignored, |m| {
                Event::Session(SessionEvent::Messages(vec![m]))
            }),
        },
        "message.reaction" => reaction(payload).map_or(Event::Ignored, |m| {
            Event::Session(SessionEvent::Messages(vec![m]))
        }),
        "message.ack" => ack(payload),
        "message.edited" => edited(payload),
        "message.revoked" => revoked(payload),
        "group.v2.join" | "group.v2.update" => group_named(payload),
        "session.status" => Event::Status {
            status: WahaStatus::parse(
                payload
                    .get("status")
                    .and_then(Value::as_str)
                    .ok_or("no status")?,
            ),
            me: me(envelope.get("me")),
        },
        _ => Event::Ignored,
    };
    let at = envelope.get("timestamp").and_then(super::unix_millis);
    Ok(Delivery { session, at, event })
}

/// Our number (digits) and name, from the envelope's `me`.
fn me(me: Option<&Value>) -> Option<(String, String)> {
    let me = me?;
    let phone = chat_phone(me.get("id")?.as_str()?)?.to_owned();
    let name = me
        .get("pushName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Some((phone, name))
}

/// For a message of ours (`fromMe`), whether it was typed on the phone
/// (`Some(true)`: `source` "app") or is an echo of a send through WAHA's API
/// (`Some(false)`: wacrm's own, recorded when it was sent; storing the echo
/// could race that record). `None` for a customer's message. An own message
/// without a `source` (engines before it was added) cannot be told apart,
/// so it is left out. [S: devlikeapro/waha-docs content/docs/how-to/events,
/// `message.any`: "source": "app" | "api"; protocols-field.md 7]
fn sent_from_phone(payload: &Value) -> Option<bool> {
    if payload.get("fromMe").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    Some(payload.get("source").and_then(Value::as_str) == Some("app"))
}

/// A one-to-one message: a customer's (`ours` false), or one the business
/// typed on its phone, then with the customer in `to` (`None` for groups,
/// broadcasts and the like).
fn message(payload: &Value, ours: bool) -> Option<WebInbound> {
    if payload.get("fromMe").and_then(Value::as_bool) != Some(ours) {
        return None;
    }
    let chat = payload.get(if ours { "to" } else { "from" })?.as_str()?;
    let (from, lid, group) = match group_of(chat) {
        Some(id) => (None, None, Some(in_group(payload, id, ours)?)),
        None => {
            let (from, lid) = customer(payload, if ours { "to" } else { "from" })?;
            (from, lid, None)
        }
    };
    let id = bare_id(payload.get("id")?.as_str()?);
    let body = payload
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let has_media = payload.get("hasMedia").and_then(Value::as_bool) == Some(true);
    let (kind, media) = if has_media {
        let found = payload.get("media").filter(|m| m.is_object());
        let mime_type = found
            .and_then(|m| m.get("mimetype"))
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream");
        let mut media = serde_json::json!({
            "mime_type": mime_type,
            "filename": found.and_then(|m| m.get("filename")).and_then(Value::as_str).unwrap_or_default(),
        });
        match found.and_then(|m| m.get("url")).and_then(Value::as_str) {
            Some(url) => media["source_url"] = Value::from(url),
            None => {
                let reason = found
                    .and_then(|m| m.get("error"))
                    .and_then(|e| {
                        e.as_str()
                            .map(str::to_owned)
                            .or_else(|| Some(e.to_string()))
                    })
                    .filter(|e| e != "null")
                    .unwrap_or_else(|| "WAHA did not download the file.".to_owned());
                media["unavailable"] = Value::from(reason);
            }
        }
        (attachment::kind_of(mime_type), Some(media))
    } else if payload.get("location").is_some_and(Value::is_object) {
        (MessageKind::Location, None)
    } else {
        (MessageKind::Text, None)
    };
    let reply_to = payload
        .pointer("/replyTo/id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(|id| bare_id(id).to_owned());
    let push_name = [
        "/_data/notifyName",
        "/_data/pushName",
        "/_data/Info/PushName",
    ]
    .iter()
    .find_map(|p| payload.pointer(p).and_then(Value::as_str))
    .filter(|n| !n.is_empty())
    .map(str::to_owned);
    Some(WebInbound {
        id: id.to_owned(),
        from,
        lid,
        push_name,
        sent_at: sent_at(payload),
        kind,
        body: body.to_owned(),
        media,
        raw: None,
        reply_to,
        group,
    })
}

/// The group's id in a group chat's address (`<id>@g.us`).
fn group_of(chat_id: &str) -> Option<&str> {
    let id = chat_id.strip_suffix("@g.us")?;
    let (head, tail) = id.split_once('-').unwrap_or((id, "1"));
    let digits = |part: &str, max: usize| {
        !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
    };
    (digits(head, 30) && digits(tail, 20)).then_some(id)
}

/// A group message's place: the group and, on a member's message, who
/// wrote it (`participant`, as a number or a LID; WEBJS also names them in
/// `_data.author`). A member's message that does not say who is `None`.
/// [S: devlikeapro/waha-docs content/docs/how-to/receive-messages
/// (`participant`: "for groups, participant who sent the message")]
fn in_group(payload: &Value, id: &str, ours: bool) -> Option<WebGroup> {
    let member = if ours {
        None
    } else {
        let participant = ["/participant", "/_data/author"]
            .iter()
            .find_map(|p| payload.pointer(p).and_then(Value::as_str))?;
        Some(match Peer::of(participant)? {
            Peer::Phone(phone) => phone.to_owned(),
            Peer::Lid(lid) => format!("{lid}@lid"),
        })
    };
    Some(WebGroup {
        id: id.to_owned(),
        member,
    })
}

/// A group's name, when WAHA says it (`group.v2.join`: we joined or were
/// added; `group.v2.update`: its details changed). An update without a
/// subject changed something else. [S: devlikeapro/waha-docs
/// content/docs/how-to/groups/events-group.v2.{join,update}.md]
fn group_named(payload: &Value) -> Event {
    let group = payload.get("group");
    let id = group
        .and_then(|g| g.get("id"))
        .and_then(Value::as_str)
        .and_then(group_of);
    let subject = group
        .and_then(|g| g.get("subject"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    match (id, subject) {
        (Some(id), Some(subject)) => Event::Session(SessionEvent::GroupNamed {
            group: id.to_owned(),
            name: subject.to_owned(),
        }),
        _ => Event::Ignored,
    }
}

/// The customer of a one-to-one chat named at `key` (`from`, or `to` on
/// our own messages): their number's digits, or their LID's (the number
/// hidden), the other `None`; `None` for groups and the like.
fn customer(payload: &Value, key: &str) -> Option<(Option<String>, Option<String>)> {
    Some(match Peer::of(payload.get(key)?.as_str()?)? {
        Peer::Phone(phone) => (Some(phone.to_owned()), None),
        Peer::Lid(lid) => (None, Some(lid.to_owned())),
    })
}

/// A customer's reaction (an empty one takes it back).
fn reaction(payload: &Value) -> Option<WebInbound> {
    if payload.get("fromMe").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let (from, lid) = customer(payload, "from")?;
    let reaction = payload.get("reaction")?;
    Some(WebInbound {
        id: bare_id(payload.get("id")?.as_str()?).to_owned(),
        from,
        lid,
        push_name: None,
        sent_at: sent_at(payload),
        kind: MessageKind::Reaction,
        body: reaction
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        media: None,
        raw: None,
        reply_to: reaction
            .get("messageId")
            .and_then(Value::as_str)
            .map(|id| bare_id(id).to_owned()),
        group: None,
    })
}

/// What became of a message we sent (WAHA's `ack`: -1 error, 0 pending,
/// 1 server, 2 device, 3 read, 4 played).
fn ack(payload: &Value) -> Event {
    let status = match payload.get("ack").and_then(Value::as_i64) {
        Some(-1) => DeliveryStatus::Failed,
        Some(1) => DeliveryStatus::Sent,
        Some(2) => DeliveryStatus::Delivered,
        Some(3 | 4) => DeliveryStatus::Read,
        _ => return Event::Ignored,
    };
    match payload.get("id").and_then(Value::as_str) {
        Some(id) => Event::Session(SessionEvent::Receipt {
            message_ids: vec![bare_id(id).to_owned()],
            status,
        }),
        None => Event::Ignored,
    }
}

/// A customer edited a message: its new text.
fn edited(payload: &Value) -> Event {
    let from_customer = payload.get("fromMe").and_then(Value::as_bool) == Some(false)
        && payload
            .get("from")
            .and_then(Value::as_str)
            .and_then(Peer::of)
            .is_some();
    let edited = payload.get("editedMessageId").and_then(Value::as_str);
    match (from_customer, edited) {
        (true, Some(id)) => Event::Session(SessionEvent::Edited {
            message_id: bare_id(id).to_owned(),
            body: payload
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        }),
        _ => Event::Ignored,
    }
}

/// A customer deleted a message for everyone.
fn revoked(payload: &Value) -> Event {
    let id = payload
        .get("revokedMessageId")
        .and_then(Value::as_str)
        .or_else(|| payload.pointer("/before/id").and_then(Value::as_str));
    let from = payload
        .pointer("/after/from")
        .or_else(|| payload.pointer("/before/from"))
        .or_else(|| payload.get("from"))
        .and_then(Value::as_str);
    match (id, from.and_then(Peer::of)) {
        (Some(id), Some(_)) => Event::Session(SessionEvent::Revoked {
            message_id: bare_id(id).to_owned(),
        }),
        _ => Event::Ignored,
    }
}

fn sent_at(payload: &Value) -> Option<OffsetDateTime> {
    payload.get("timestamp").and_then(super::unix_seconds)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_event(event: &str, payload: Value) -> Event {
        let body = json!({
            "id": "evt_01", "timestamp": 1_667_561_485_000_i64, "event": event,
            "session": "default", "engine": "WEBJS",
            "me": {"id": "16505550199@c.us", "pushName": "Shop"},
            "payload": payload,
        });
        let delivery = parse(body.to_string().as_bytes()).expect("parses");
        assert_eq!(delivery.session, "default");
        assert_eq!(delivery.at.map(|t| t.unix_timestamp()), Some(1_667_561_485));
        delivery.event
    }

    fn one_message(event: Event) -> WebInbound {
        match event {
            Event::Session(SessionEvent::Messages(mut m)) if m.len() == 1 => m.remove(0),
            other => panic!("not one message: {other:?}"),
        }
    }

    #[test]
    fn a_message_typed_on_the_phone_is_ours_and_an_api_echo_is_left_out() {
        let typed = json!({"id": "true_16505550123@c.us_3EB0PH", "from": "16505550199@c.us",
            "to": "16505550123@c.us", "fromMe": true, "source": "app", "body": "On its way",
            "timestamp": 1764200000});
        match parse_event("message.any", typed) {
            Event::Session(SessionEvent::SentFromPhone(m)) => {
                assert_eq!(
                    (
                        m[0].id.as_str(),
                        m[0].from.as_deref().unwrap_or_default(),
                        m[0].body.as_str()
                    ),
                    ("3EB0PH", "16505550123", "On its way")
                );
            }
            other => panic!("{other:?}"),
        }
        let echo = json!({"id": "true_16505550123@c.us_3EB0API", "from": "16505550199@c.us",
            "to": "16505550123@c.us", "fromMe": true, "source": "api", "body": "x"});
        assert!(matches!(parse_event("message.any", echo), Event::Ignored));
        // Typed into a group: ours, in the group (kept where groups are
        // shown), with no member.
        let group = json!({"id": "true_1203@g.us_3EB0G", "from": "16505550199@c.us",
            "to": "1203@g.us", "fromMe": true, "source": "app", "body": "x"});
        match parse_event("message.any", group) {
            Event::Session(SessionEvent::SentFromPhone(m)) => {
                assert_eq!(m[0].from, None);
                assert_eq!(
                    m[0].group,
                    Some(WebGroup {
                        id: "1203".into(),
                        member: None
                    })
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_customers_text_comes_in_with_its_bare_id_and_quote() {
        let m = one_message(parse_event(
            "message",
            json!({"id": "false_16505550123@c.us_AAAA", "timestamp": 1_667_561_485,
                   "from": "16505550123@c.us", "fromMe": false, "body": "Hi there!",
                   "hasMedia": false, "replyTo": {"id": "3EB0QUOTED", "body": "earlier"},
                   "_data": {"notifyName": "Ana"}}),
        ));
        assert_eq!(m.id, "AAAA");
        assert_eq!(m.from.as_deref(), Some("16505550123"));
        assert_eq!(m.body, "Hi there!");
        assert_eq!(m.kind, MessageKind::Text);
        assert_eq!(m.reply_to.as_deref(), Some("3EB0QUOTED"));
        assert_eq!(m.push_name.as_deref(), Some("Ana"));
        assert_eq!(m.sent_at.map(|t| t.unix_timestamp()), Some(1_667_561_485));
    }

    #[test]
    fn a_chat_named_by_lid_comes_in_under_the_lid_with_the_same_bare_id() {
        const LID: &str = "100000012345678";
        let by_lid = one_message(parse_event(
            "message",
            json!({"id": format!("false_{LID}@lid_AAAA"), "from": format!("{LID}@lid"),
                   "fromMe": false, "body": "Hi", "_data": {"notifyName": "Ana"}}),
        ));
        assert_eq!(
            (
                by_lid.from.as_deref(),
                by_lid.lid.as_deref(),
                by_lid.id.as_str()
            ),
            (None, Some(LID), "AAAA")
        );
        assert_eq!(by_lid.push_name.as_deref(), Some("Ana"));
        // The same message filed under the number (NOWEB/GOWS deliver both):
        // the same id, so it is stored once.
        let by_phone = one_message(parse_event(
            "message",
            json!({"id": "false_16505550123@c.us_AAAA", "from": "16505550123@c.us",
                   "fromMe": false, "body": "Hi"}),
        ));
        assert_eq!(by_phone.id, by_lid.id);
        // Typed on the phone into the chat by LID.
        match parse_event(
            "message.any",
            json!({"id": format!("true_{LID}@lid_3EB0PH"), "from": "16505550199@c.us",
                   "to": format!("{LID}@lid"), "fromMe": true, "source": "app", "body": "Sure"}),
        ) {
            Event::Session(SessionEvent::SentFromPhone(m)) => {
                assert_eq!(
                    (m[0].from.as_deref(), m[0].lid.as_deref()),
                    (None, Some(LID))
                );
            }
            other => panic!("{other:?}"),
        }
        let reaction = one_message(parse_event(
            "message.reaction",
            json!({"id": format!("false_{LID}@lid_FFFF"), "from": format!("{LID}@lid"), "fromMe": false,
                   "reaction": {"text": "👍", "messageId": format!("true_{LID}@lid_3EB0X")}}),
        ));
        assert_eq!(
            (reaction.lid.as_deref(), reaction.reply_to.as_deref()),
            (Some(LID), Some("3EB0X"))
        );
        match parse_event(
            "message.edited",
            json!({"id": format!("false_{LID}@lid_GGGG"), "from": format!("{LID}@lid"), "fromMe": false,
                   "body": "new", "editedMessageId": "AAAA"}),
        ) {
            Event::Session(SessionEvent::Edited { message_id, .. }) => {
                assert_eq!(message_id, "AAAA")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn media_points_at_the_waha_file_or_says_why_it_is_missing() {
        let m = one_message(parse_event(
            "message",
            json!({"id": "false_16505550123@c.us_BBBB", "from": "16505550123@c.us", "fromMe": false,
                   "body": "a photo", "hasMedia": true,
                   "media": {"url": "http://waha:3000/api/files/default/BBBB.jpeg", "mimetype": "image/jpeg", "filename": null}}),
        ));
        assert_eq!(m.kind, MessageKind::Image);
        let media = m.media.expect("media");
        assert_eq!(
            media["source_url"],
            "http://waha:3000/api/files/default/BBBB.jpeg"
        );
        assert_eq!(media["mime_type"], "image/jpeg");
        let m = one_message(parse_event(
            "message",
            json!({"id": "false_16505550123@c.us_CCCC", "from": "16505550123@c.us", "fromMe": false,
                   "hasMedia": true, "media": null}),
        ));
        assert!(m.media.expect("media")["unavailable"].is_string());
    }

    #[test]
    fn our_own_messages_and_groups_are_left_out() {
        let ours = json!({"id": "true_16505550123@c.us_DDDD", "from": "16505550199@c.us", "fromMe": true, "body": "x"});
        assert!(matches!(parse_event("message.any", ours), Event::Ignored));
        let group = json!({"id": "false_1203@g.us_EEEE_16505550123@c.us", "from": "1203@g.us", "fromMe": false, "body": "x"});
        assert!(matches!(parse_event("message", group), Event::Ignored));
        assert!(matches!(
            parse_event("presence.update", json!({})),
            Event::Ignored
        ));
    }

    #[test]
    fn acks_become_receipts_and_reactions_name_their_message() {
        match parse_event(
            "message.ack",
            json!({"id": "true_16505550123@c.us_3EB0X", "fromMe": true, "ack": 3, "ackName": "READ"}),
        ) {
            Event::Session(SessionEvent::Receipt {
                message_ids,
                status,
            }) => {
                assert_eq!(message_ids, ["3EB0X"]);
                assert_eq!(status, DeliveryStatus::Read);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_event("message.ack", json!({"id": "x", "ack": 0})),
            Event::Ignored
        ));
        let m = one_message(parse_event(
            "message.reaction",
            json!({"id": "false_16505550123@c.us_FFFF", "from": "16505550123@c.us", "fromMe": false,
                   "reaction": {"text": "👍", "messageId": "true_16505550123@c.us_3EB0X"}}),
        ));
        assert_eq!(
            (m.kind, m.body.as_str(), m.reply_to.as_deref()),
            (MessageKind::Reaction, "👍", Some("3EB0X"))
        );
    }

    #[test]
    fn float_and_bad_times_do_not_drop_the_event() {
        // NOWEB/GOWS give reactions' times as floats.
        let m = one_message(parse_event(
            "message.reaction",
            json!({"id": "false_16505550123@c.us_FFFF", "from": "16505550123@c.us", "fromMe": false,
                   "timestamp": 1_733_400_000.123,
                   "reaction": {"text": "❤️", "messageId": "true_16505550123@c.us_3EB0X"}}),
        ));
        assert_eq!(m.sent_at.map(|t| t.unix_timestamp()), Some(1_733_400_000));
        // A time that is no time leaves the message undated, not lost.
        let m = one_message(parse_event(
            "message",
            json!({"id": "false_16505550123@c.us_AAAB", "from": "16505550123@c.us", "fromMe": false,
                   "timestamp": {"low": 1, "high": 0}, "body": "still here"}),
        ));
        assert_eq!((m.body.as_str(), m.sent_at), ("still here", None));
        // An envelope dated with a fraction of a millisecond is dated.
        let body = json!({"event": "message", "session": "default",
                          "timestamp": 1_667_561_485_000.5, "payload": {}});
        let delivery = parse(body.to_string().as_bytes()).expect("parses");
        assert_eq!(delivery.at.map(|t| t.unix_timestamp()), Some(1_667_561_485));
    }

    #[test]
    fn status_edits_and_revokes() {
        match parse_event("session.status", json!({"status": "WORKING"})) {
            Event::Status { status, me } => {
                assert_eq!(status, WahaStatus::Working);
                assert_eq!(me, Some(("16505550199".into(), "Shop".into())));
            }
            other => panic!("{other:?}"),
        }
        match parse_event(
            "message.edited",
            json!({"id": "false_16505550123@c.us_GGGG", "from": "16505550123@c.us", "fromMe": false, "body": "new text", "editedMessageId": "AAAA"}),
        ) {
            Event::Session(SessionEvent::Edited { message_id, body }) => {
                assert_eq!((message_id.as_str(), body.as_str()), ("AAAA", "new text"));
            }
            other => panic!("{other:?}"),
        }
        match parse_event(
            "message.revoked",
            json!({"after": {"id": "false_16505550123@c.us_HHHH", "from": "16505550123@c.us"}, "before": null, "revokedMessageId": "AAAA"}),
        ) {
            Event::Session(SessionEvent::Revoked { message_id }) => assert_eq!(message_id, "AAAA"),
            other => panic!("{other:?}"),
        }
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"event":"message"}"#).is_err());
    }
}
