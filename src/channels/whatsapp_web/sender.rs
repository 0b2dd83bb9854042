//! Sending a queued message (text, file, reaction, reply) through a
//! linked-device session, once.
//!
//! Why a message is not sent twice: the message id WhatsApp knows it by is
//! fixed before the first try (derived from our message id, see
//! [`wire_id`]), so a retry after a lost answer or a crash sends the same
//! id again, and the recipient's phone shows a message id once. Only the
//! process that runs the session can send: a send job claimed elsewhere
//! waits (it does not use up a try) until the owner's worker takes it.
//! Each send takes a slot of the channel's per-second budget
//! (`WHATSAPP_WEB_SEND_RATE`, counted in Postgres across instances;
//! gentler than the Cloud API's, as automated sending can get a linked
//! number banned).

use std::time::Duration;

use uuid::Uuid;

use super::link::{WebFile, WebOutgoing, WebQuoted};
use crate::channels::outbound::{give_up, stored_file};
use crate::channels::send_slot::take_send_slot;
use crate::domain::MessageKind;
use crate::features::environment::Environment;
use crate::features::inbox::delivery;
use crate::infra::db;
use crate::infra::db::messages::Message;
use crate::infra::jobs::{RetryLater, SEND_ATTEMPTS, send_backoff};
use crate::infra::tenancy::{TenantTx, bootstrap};

/// The id WhatsApp knows our message by: WhatsApp Web's form (`3EB0` and
/// upper-case hex), from the random part of our id.
pub fn wire_id(message_id: Uuid) -> String {
    let bytes = message_id.as_bytes();
    format!("3EB0{}", hex::encode_upper(&bytes[6..16]))
}

/// Marks the customer's messages read through the linked phone's session
/// (only the process that runs it can; elsewhere the job waits for it).
pub async fn mark_read(
    env: &Environment,
    mut tx: TenantTx,
    read: &db::messages::ReadReceipt,
) -> anyhow::Result<()> {
    // Logged out or unlinked: no session will ever take it (a send gives
    // up here too), so the receipt is dropped rather than left waiting.
    if phone_gone(&mut tx, read.channel_id).await? {
        return Ok(());
    }
    if let Some(bridge) = db::waha_bridges::find(&mut tx, read.channel_id).await? {
        return crate::channels::waha::sender::mark_read(env, tx, read, &bridge).await;
    }
    let Some(session) = env.web_sessions.get(read.channel_id) else {
        return Err(RetryLater {
            after: Duration::from_secs(1),
            reason: "the linked phone's session runs elsewhere or is not connected".into(),
            waiting: true,
        }
        .into());
    };
    let Some(to) = chat_address(&mut tx, read.conversation_id).await? else {
        return Ok(());
    };
    if to.ends_with("@g.us") {
        // A group's receipt names each message's author (receipt.rs
        // mark_as_read takes one sender per call); the group's members see
        // no blue ticks from wacrm.
        return Ok(());
    }
    tx.commit().await?;
    session.mark_read(&to, &read.provider_ids).await
}

/// Where a conversation's chat is on a linked phone (see
/// [`db::contacts::Addresses::linked_chat`]).
async fn chat_address(tx: &mut TenantTx, conversation_id: Uuid) -> anyhow::Result<Option<String>> {
    Ok(db::contacts::addresses_of_conversation(tx, conversation_id)
        .await?
        .and_then(|a| a.linked_chat()))
}

/// Sends `message` (queued, on a linked-device channel) in `tx`'s workspace.
pub async fn send(
    env: &Environment,
    mut tx: TenantTx,
    message: &Message,
    attempt: i32,
) -> anyhow::Result<()> {
    let org_id = tx.org_id();
    if phone_gone(&mut tx, message.channel_id).await? {
        return give_up(tx, message, PHONE_GONE).await;
    }
    if let Some(bridge) = db::waha_bridges::find(&mut tx, message.channel_id).await? {
        return crate::channels::waha::sender::send(env, tx, message, attempt, &bridge).await;
    }
    let Some(session) = env.web_sessions.get(message.channel_id) else {
        // Another process runs the session, or it is not linked yet.
        return Err(RetryLater {
            after: Duration::from_secs(1),
            reason: "the linked phone's session runs elsewhere or is not connected".into(),
            waiting: true,
        }
        .into());
    };
    let Some(to) = chat_address(&mut tx, message.conversation_id).await? else {
        return give_up(tx, message, "The contact has no phone number to send to.").await;
    };
    let outgoing = match outgoing(env, &mut tx, message).await? {
        Ok(outgoing) => outgoing,
        Err(reason) => return give_up(tx, message, reason).await,
    };
    take_send_slot(env, &mut tx, message.channel_id).await?;
    tx.commit().await?;
    let outcome = session.send(&to, &outgoing).await;
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    match outcome {
        Ok(provider_id) => {
            delivery::record_sent(&mut tx, message.channel_id, message.id, &provider_id).await?;
            db::conversations::notify(&mut tx, message.conversation_id).await?;
            tx.commit().await?;
            Ok(())
        }
        Err(e) if attempt < SEND_ATTEMPTS => {
            tx.commit().await?;
            Err(RetryLater {
                after: send_backoff(attempt),
                reason: format!("{e:#}"),
                waiting: false,
            }
            .into())
        }
        Err(e) => give_up(tx, message, &format!("WhatsApp did not take it: {e:#}")).await,
    }
}

/// What goes out for `message`, or why it cannot.
async fn outgoing(
    env: &Environment,
    tx: &mut TenantTx,
    message: &Message,
) -> anyhow::Result<Result<WebOutgoing, &'static str>> {
    let reply_to = match (message.reply_to_id, message.quoted_provider_id.as_deref()) {
        (Some(id), Some(provider_id)) => {
            db::messages::find(tx, id).await?.map(|quoted| WebQuoted {
                id: provider_id.to_owned(),
                ours: !quoted.is_inbound(),
                member: quoted.group_member,
                text: quoted.body,
            })
        }
        _ => None,
    };
    let kind = message.kind();
    let file = match kind {
        MessageKind::Text => None,
        MessageKind::Reaction if reply_to.is_none() => {
            return Ok(Err("The message reacted to is not on WhatsApp."));
        }
        MessageKind::Reaction => None,
        MessageKind::Image | MessageKind::Video | MessageKind::Audio | MessageKind::Document => {
            match stored_file(env, tx, message).await? {
                Some((mime_type, filename, bytes)) => Some(WebFile {
                    kind,
                    mime_type,
                    filename,
                    bytes,
                }),
                None => return Ok(Err("The file to send is no longer stored.")),
            }
        }
        _ => return Ok(Err("This kind of message cannot be sent on linked phones.")),
    };
    Ok(Ok(WebOutgoing {
        id: wire_id(message.id),
        text: message.body.clone(),
        file,
        reaction: kind == MessageKind::Reaction,
        reply_to,
    }))
}

/// Why nothing more goes out on a phone whose session is over.
pub const PHONE_GONE: &str =
    "The phone is no longer linked to wacrm: link it again in Settings → Linked phones.";

/// Whether the channel's session is over (logged out, unlinked…): nobody
/// will run it until the owner links the phone again.
pub async fn phone_gone(tx: &mut TenantTx, channel_id: uuid::Uuid) -> sqlx::Result<bool> {
    Ok(db::web_sessions::find(tx, channel_id)
        .await?
        .is_some_and(|s| s.status.is_over()))
}
