//! Sending a queued message through a WAHA server. Any wacrm process may
//! send (WAHA holds the socket), within the linked number's send budget.
//!
//! WAHA takes no id of ours, so a send whose answer was lost (WAHA may
//! have sent it, then the connection broke) is not simply sent again: the
//! sender marks each try before calling WAHA, and a later try that finds
//! the mark first looks in the chat for our message with the same text
//! (and file or not) sent since, not yet recorded for another message; if
//! there is one, that was it. An error WAHA answered with clears the mark
//! (it did not send). Reactions need none of this: reacting again with the
//! same emoji changes nothing.

use uuid::Uuid;

use super::client::{OutgoingFile, WahaError, WahaSession};
use crate::channels::outbound::{give_up, stored_file};
use crate::domain::MessageKind;
use crate::features::environment::Environment;
use crate::features::inbox::delivery;
use crate::infra::db;
use crate::infra::db::messages::Message;
use crate::infra::db::waha_bridges::WahaBridge;
use crate::infra::jobs::{RetryLater, SEND_ATTEMPTS, send_backoff};
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// The session of `bridge` (its API key unsealed), for `org_id`.
pub fn session<'a>(
    secrets: &SecretBox,
    http: &'a crate::channels::waha::network::WahaHttp,
    org_id: Uuid,
    bridge: &WahaBridge,
) -> anyhow::Result<WahaSession<'a>> {
    let api_key = secrets.open(
        org_id,
        super::API_KEY_PURPOSE,
        bridge.channel_id,
        &bridge.api_key_sealed,
    )?;
    Ok(WahaSession {
        http,
        base_url: url::Url::parse(&bridge.base_url)?,
        api_key: String::from_utf8(api_key)?,
        name: bridge.session_name.clone(),
    })
}

/// Marks the chat of a read receipt read on the WAHA server.
pub async fn mark_read(
    env: &Environment,
    mut tx: TenantTx,
    read: &db::messages::ReadReceipt,
    bridge: &WahaBridge,
) -> anyhow::Result<()> {
    let org_id = tx.org_id();
    let Some(chat_id) = chat_id(&mut tx, read.conversation_id).await? else {
        return Ok(());
    };
    if chat_id.ends_with("@g.us") {
        // No read receipts in groups (as on a phone run here).
        return Ok(());
    }
    tx.commit().await?;
    let waha = session(&env.secrets, &env.waha_http, org_id, bridge)?;
    waha.send_seen(&chat_id).await?;
    Ok(())
}

/// The WAHA chat of a conversation: a group's (`<id>@g.us`), the
/// contact's number (`<digits>@c.us`), or for a contact known only by LID
/// (WAHA could not tell the number), the chat's own address `<lid>@lid`,
/// which WAHA sends to as it is.
/// [S: devlikeapro/waha-docs content/docs/how-to/send-messages/index.md
/// ("`chatId` must be one of: `phone`, `phone@c.us`, `{number}@lid`")]
async fn chat_id(tx: &mut TenantTx, conversation_id: Uuid) -> anyhow::Result<Option<String>> {
    let addresses = db::contacts::addresses_of_conversation(tx, conversation_id).await?;
    Ok(addresses.and_then(|a| a.linked_chat()).map(|chat| {
        if chat.contains('@') {
            chat
        } else {
            format!("{chat}@c.us")
        }
    }))
}

/// WAHA's full id of a message in the chat `chat_id`: `true_` for ours;
/// in a group, a member's message ends with who wrote it
/// (`{fromMe}_{chatId}_{waId}[_{participant}]`, protocols-field 7).
fn full_id(chat_id: &str, ours: bool, bare: &str, member: Option<&str>) -> String {
    match member {
        Some(member) if !ours => format!("{ours}_{chat_id}_{bare}_{}", waha_member(member)),
        _ => format!("{ours}_{chat_id}_{bare}"),
    }
}

/// A group member as WAHA names them: `<digits>@c.us`, or `<lid>@lid`.
fn waha_member(member: &str) -> String {
    if member.contains('@') {
        member.to_owned()
    } else {
        format!("{member}@c.us")
    }
}

/// What to send, read while the transaction is open.
enum Content {
    Text,
    File {
        mime_type: String,
        filename: String,
        bytes: Vec<u8>,
    },
    Reaction {
        target: String,
    },
}

/// Sends `message` (queued, on a channel bridged to WAHA).
pub async fn send(
    env: &Environment,
    mut tx: TenantTx,
    message: &Message,
    attempt: i32,
    bridge: &WahaBridge,
) -> anyhow::Result<()> {
    let org_id = tx.org_id();
    let Some(chat_id) = chat_id(&mut tx, message.conversation_id).await? else {
        return give_up(tx, message, "The contact has no phone number to send to.").await;
    };
    // Quotes and reactions name the earlier message with its direction.
    let quoted = match (message.reply_to_id, message.quoted_provider_id.as_deref()) {
        (Some(id), Some(bare)) => db::messages::find(&mut tx, id)
            .await?
            .map(|q| full_id(&chat_id, !q.is_inbound(), bare, q.group_member.as_deref())),
        _ => None,
    };
    let content = match message.kind() {
        MessageKind::Text => Content::Text,
        MessageKind::Reaction => match quoted.clone() {
            Some(target) => Content::Reaction { target },
            None => {
                return give_up(tx, message, "The message reacted to is not on WhatsApp.").await;
            }
        },
        MessageKind::Image | MessageKind::Video | MessageKind::Audio | MessageKind::Document => {
            match stored_file(env, &mut tx, message).await? {
                Some((mime_type, filename, bytes)) => Content::File {
                    mime_type,
                    filename,
                    bytes,
                },
                None => {
                    return give_up(tx, message, "The file to send is no longer stored.").await;
                }
            }
        }
        _ => {
            return give_up(
                tx,
                message,
                "This kind of message cannot be sent on linked phones.",
            )
            .await;
        }
    };
    crate::channels::send_slot::take_send_slot(env, &mut tx, message.channel_id).await?;
    let waha = session(&env.secrets, &env.waha_http, org_id, bridge)?;
    let is_reaction = matches!(content, Content::Reaction { .. });
    if !is_reaction {
        if let Some(tried) = db::messages::send_attempted_at(&mut tx, message.id).await? {
            let has_file = matches!(content, Content::File { .. });
            match earlier_send(&waha, &mut tx, message, &chat_id, has_file, tried).await {
                Ok(Some(provider_id)) => {
                    db::messages::set_send_attempt(&mut tx, message.id, false).await?;
                    delivery::record_sent(&mut tx, message.channel_id, message.id, &provider_id)
                        .await?;
                    db::conversations::notify(&mut tx, message.conversation_id).await?;
                    tx.commit().await?;
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => {
                    tx.commit().await?;
                    return Err(RetryLater {
                        after: send_backoff(attempt),
                        reason: format!("cannot tell whether an earlier try was sent: {e}"),
                        waiting: false,
                    }
                    .into());
                }
            }
        }
        db::messages::set_send_attempt(&mut tx, message.id, true).await?;
    }
    // Nothing is held open while WAHA sends.
    tx.commit().await?;
    let outcome = match &content {
        Content::Text => {
            waha.send_text(&chat_id, &message.body, quoted.as_deref())
                .await
        }
        Content::File {
            mime_type,
            filename,
            bytes,
        } => {
            let file = OutgoingFile {
                mime_type,
                filename,
                bytes,
                caption: (message.kind() != MessageKind::Audio).then_some(message.body.as_str()),
            };
            waha.send_file(&chat_id, &file, quoted.as_deref()).await
        }
        Content::Reaction { target } => waha
            .react(target, &message.body)
            .await
            // A reaction has no id of its own to report on.
            .map(|()| format!("reaction.{}", message.id)),
    };
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    if !is_reaction && !outcome.as_ref().is_err_and(WahaError::is_uncertain) {
        // Sent, or WAHA answered that it did not send.
        db::messages::set_send_attempt(&mut tx, message.id, false).await?;
    }
    match outcome {
        Ok(provider_id) => {
            delivery::record_sent(&mut tx, message.channel_id, message.id, &provider_id).await?;
            db::conversations::notify(&mut tx, message.conversation_id).await?;
            tx.commit().await?;
            Ok(())
        }
        Err(WahaError::Refused(reason)) => {
            give_up(
                tx,
                message,
                &format!("Not sent to the WAHA server. {reason}"),
            )
            .await
        }
        Err(e) if retry(&e) && attempt < SEND_ATTEMPTS => {
            tx.commit().await?;
            Err(RetryLater {
                after: send_backoff(attempt),
                reason: e.to_string(),
                waiting: false,
            }
            .into())
        }
        Err(e) => {
            give_up(
                tx,
                message,
                &format!("WhatsApp (WAHA) did not take it: {e}"),
            )
            .await
        }
    }
}

/// Our message to `chat_id` that an earlier, unanswered try sent, if one
/// did: same text, file or not, sent since that try (a minute's leeway for
/// clocks), not recorded for another message. An engine that cannot tell
/// (NOWEB without its store) is an error: whether it was sent stays
/// unknown, so it is not sent again.
async fn earlier_send(
    waha: &WahaSession<'_>,
    tx: &mut TenantTx,
    message: &Message,
    chat_id: &str,
    has_file: bool,
    tried: time::OffsetDateTime,
) -> Result<Option<String>, anyhow::Error> {
    let since = tried.unix_timestamp() - 60;
    let Some(recent) = waha.sent_since(chat_id, since).await? else {
        anyhow::bail!("this WAHA session keeps no message history to look in");
    };
    for sent in recent {
        if sent.at < since || sent.has_file != has_file || sent.body.trim() != message.body.trim() {
            continue;
        }
        if db::messages::by_provider_id(tx, message.channel_id, &sent.id)
            .await?
            .is_none()
        {
            return Ok(Some(sent.id));
        }
    }
    Ok(None)
}

/// Whether a failed send is worth another try: no answer, WAHA busy or
/// failing, or the session not working yet (WAHA: 422).
fn retry(e: &WahaError) -> bool {
    e.is_transient() || matches!(e, WahaError::Status { status: 422, .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_ids_say_whose_message_it_is() {
        assert_eq!(
            full_id("16505550123@c.us", true, "3EB0A", None),
            "true_16505550123@c.us_3EB0A"
        );
        assert_eq!(
            full_id("16505550123@c.us", false, "AAAA", None),
            "false_16505550123@c.us_AAAA"
        );
        assert_eq!(
            full_id("100000012345678@lid", false, "AAAA", None),
            "false_100000012345678@lid_AAAA"
        );
        // A member's message in a group names who wrote it; ours does not.
        assert_eq!(
            full_id(
                "120363021033254949@g.us",
                false,
                "BBBB",
                Some("16505550123")
            ),
            "false_120363021033254949@g.us_BBBB_16505550123@c.us"
        );
        assert_eq!(
            full_id(
                "120363021033254949@g.us",
                false,
                "BBBB",
                Some("1000123@lid")
            ),
            "false_120363021033254949@g.us_BBBB_1000123@lid"
        );
        assert_eq!(
            full_id(
                "120363021033254949@g.us",
                true,
                "3EB0C",
                Some("16505550123")
            ),
            "true_120363021033254949@g.us_3EB0C"
        );
    }
}
