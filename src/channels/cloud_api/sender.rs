//! Sending a queued message through the Cloud API, once.
//!
//! Why a message is not sent twice:
//! - The reply is committed as `queued` with its send job in one
//!   transaction; the job queue hands a job to one worker at a time
//!   (`FOR UPDATE SKIP LOCKED` and a lease), and a message no longer
//!   `queued` is never sent again.
//! - Graph has no idempotency key for messages, so the dangerous moment is
//!   between Graph taking the message and our commit of its id: a crash
//!   there, a lost answer, or a database failure while recording it. Before
//!   calling Graph the sender commits `send_attempted_at`. A later attempt
//!   that finds it set does not call Graph at once: Meta reports every
//!   message it takes (`sent`, within seconds), and we ask it to echo our
//!   message id in that report (`biz_opaque_callback_data`), so the report
//!   records the send (`crate::features::inbox::delivery`) and the attempt finds the
//!   message no longer queued. Only if no report came within
//!   `WHATSAPP_SEND_CONFIRM_SECS` (default 2 minutes) is it sent again:
//!   Graph evidently never took it.
//! - The one case left is a report delayed beyond that window for a
//!   message Graph did take after not answering us: then the customer gets
//!   it twice. The window is the trade between that and a slow retry.
//! - Each send takes a slot of the number's per-second budget
//!   (`WHATSAPP_SEND_RATE`, counted in Postgres so it holds across
//!   instances); without one it waits for the next second.
//! - An answer that Graph did not take the message (an error envelope, 429,
//!   5xx) clears the mark: retrying then cannot duplicate.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::channels::cloud_api::graph::GraphError;
use crate::channels::outbound::{give_up, stored_file};
use crate::domain::MessageKind;
use crate::features::environment::Environment;
use crate::features::inbox::delivery;
use crate::infra::db;
use crate::infra::db::cloud_channels::CloudChannel;
use crate::infra::db::messages::Message;
use crate::infra::jobs::{RetryLater, SEND_ATTEMPTS, send_backoff};
use crate::infra::secrets::SecretsError;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Why a message fails when its channel's stored token cannot be read.
pub const UNREADABLE_TOKEN: &str = "This number's stored access token cannot be read (it was not \
     sealed for this number): remove the number in Settings → WhatsApp numbers and connect \
     it again.";

/// Sends `message` (queued, on a Cloud API channel) in `tx`'s workspace.
/// Marks the newest of a read receipt's messages read (Graph marks the
/// earlier ones with it). A disabled number sends nothing.
pub async fn mark_read(
    env: &Environment,
    mut tx: TenantTx,
    read: &db::messages::ReadReceipt,
) -> anyhow::Result<()> {
    let org_id = tx.org_id();
    let Some(channel) = db::cloud_channels::find(&mut tx, read.channel_id).await? else {
        return Ok(());
    };
    let Some(newest) = read.provider_ids.first() else {
        return Ok(());
    };
    tx.commit().await?;
    if !channel.enabled {
        return Ok(());
    }
    let token = crate::channels::cloud_api::access_token(&env.secrets, org_id, &channel)?;
    env.graph
        .mark_read(&channel.phone_number_id, &token, newest)
        .await?;
    Ok(())
}

pub async fn send(
    env: &Environment,
    mut tx: TenantTx,
    message: &Message,
    attempt: i32,
) -> anyhow::Result<()> {
    let org_id = tx.org_id();
    let Some(channel) = db::cloud_channels::find(&mut tx, message.channel_id).await? else {
        return Ok(());
    };
    if !channel.enabled {
        return give_up(
            tx,
            message,
            "This number is disabled in Settings: nothing is sent from it.",
        )
        .await;
    }
    if let Some(started) = db::messages::send_attempted_at(&mut tx, message.id).await? {
        let window = Duration::from_secs(env.config.whatsapp_send_confirm_secs);
        let waited = OffsetDateTime::now_utc() - started;
        let left = window.saturating_sub(waited.try_into().unwrap_or_default());
        if !left.is_zero() {
            return Err(RetryLater {
                after: left,
                reason: "an earlier attempt may have reached WhatsApp; waiting for its report"
                    .into(),
                waiting: true,
            }
            .into());
        }
        // No report in the window: Graph never took it.
    }
    let token = match crate::channels::cloud_api::access_token(&env.secrets, org_id, &channel) {
        Ok(token) => token,
        // Not this channel's token (copied from another row) or damaged:
        // trying again cannot help. A key missing from the configuration
        // (`UnknownKey`) can be put back, so that error is retried.
        Err(e)
            if matches!(
                e.downcast_ref::<SecretsError>(),
                Some(SecretsError::Tampered | SecretsError::Malformed)
            ) =>
        {
            tracing::warn!(channel_id = %channel.id, error = %e, "channel's access token does not open");
            return give_up(tx, message, UNREADABLE_TOKEN).await;
        }
        Err(e) => return Err(e),
    };
    let body = match request_body(env, &mut tx, &channel, &token, message).await? {
        Ok(body) => body,
        Err(Unsendable::Reason(reason)) => return give_up(tx, message, &reason).await,
        // An upload failed: nothing was sent.
        Err(Unsendable::Graph(e)) => return graph_failed(tx, message, e, attempt).await,
    };

    if !db::channels::take_send_slot(&mut tx, channel.id, env.config.whatsapp_send_rate).await? {
        // The number's share of this second is used up (by any instance).
        let mut byte = [0u8; 1];
        let _ = getrandom::fill(&mut byte);
        return Err(RetryLater {
            after: Duration::from_millis(1000 + u64::from(byte[0]) * 2),
            reason: "the number's send rate is reached".into(),
            waiting: true,
        }
        .into());
    }
    db::messages::set_send_attempt(&mut tx, message.id, true).await?;
    tx.commit().await?;
    let outcome = env
        .graph
        .send_message(&channel.phone_number_id, &token, &body)
        .await;

    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    match outcome {
        Ok(wamid) => {
            db::messages::set_send_attempt(&mut tx, message.id, false).await?;
            delivery::record_sent(&mut tx, channel.id, message.id, &wamid).await?;
            db::conversations::notify(&mut tx, message.conversation_id).await?;
            tx.commit().await?;
            Ok(())
        }
        Err(e) => {
            if !e.is_uncertain() {
                // Graph answered that it did not take it.
                db::messages::set_send_attempt(&mut tx, message.id, false).await?;
            }
            graph_failed(tx, message, e, attempt).await
        }
    }
}

/// A failed Graph call: tried again later when that can help and tries are
/// left, otherwise the message fails with Graph's reason in words.
async fn graph_failed(
    tx: TenantTx,
    message: &Message,
    e: GraphError,
    attempt: i32,
) -> anyhow::Result<()> {
    if e.is_transient() && attempt < SEND_ATTEMPTS {
        // What the caller recorded (a cleared send mark) stays.
        tx.commit().await?;
        return Err(RetryLater {
            after: send_backoff(attempt),
            reason: e.to_string(),
            waiting: false,
        }
        .into());
    }
    let reason = match &e {
        GraphError::Api { .. }
        | GraphError::Status(_)
        | GraphError::TooLarge
        | GraphError::ForeignHost(_) => e.to_string(),
        GraphError::Transport(_) => format!("WhatsApp could not be reached: {e}"),
    };
    give_up(tx, message, &reason).await
}

/// Why a message cannot go out.
enum Unsendable {
    /// In words, for the agent.
    Reason(String),
    /// Uploading its file failed.
    Graph(GraphError),
}

impl Unsendable {
    fn reason(text: &str) -> Unsendable {
        Unsendable::Reason(text.to_owned())
    }
}

/// The Cloud API body for the message (its file uploaded first).
async fn request_body(
    env: &Environment,
    tx: &mut TenantTx,
    channel: &CloudChannel,
    token: &str,
    message: &Message,
) -> anyhow::Result<Result<Value, Unsendable>> {
    let kind = message.kind();
    let quoted = message.quoted_provider_id.as_deref();
    let content = match kind {
        MessageKind::Text => json!({"preview_url": false, "body": message.body}),
        MessageKind::Template => {
            let raw = db::messages::raw(tx, message.id).await?;
            match raw.and_then(|r| r.get("template").cloned()) {
                Some(template) => template,
                None => {
                    return Ok(Err(Unsendable::reason(
                        "The template's request is missing.",
                    )));
                }
            }
        }
        // Reply buttons or a list, as queued (see `outbound::queue_interactive`).
        MessageKind::Interactive => {
            let raw = db::messages::raw(tx, message.id).await?;
            match raw.and_then(|r| r.get("interactive").cloned()) {
                Some(interactive) => interactive,
                None => {
                    return Ok(Err(Unsendable::reason(
                        "The interactive message's content is missing.",
                    )));
                }
            }
        }
        MessageKind::Reaction => match quoted {
            Some(target) => json!({"message_id": target, "emoji": message.body}),
            None => {
                return Ok(Err(Unsendable::reason(
                    "The message reacted to is not on WhatsApp.",
                )));
            }
        },
        MessageKind::Image | MessageKind::Video | MessageKind::Audio | MessageKind::Document => {
            let Some((mime_type, filename, bytes)) = stored_file(env, tx, message).await? else {
                return Ok(Err(Unsendable::reason(
                    "The file to send is no longer stored.",
                )));
            };
            let uploaded = env
                .graph
                .upload_media(
                    &channel.phone_number_id,
                    token,
                    (&mime_type, &filename),
                    bytes,
                )
                .await;
            let media_id = match uploaded {
                Ok(id) => id,
                Err(e) => return Ok(Err(Unsendable::Graph(e))),
            };
            let mut object = json!({ "id": media_id });
            if kind != MessageKind::Audio && !message.body.trim().is_empty() {
                object["caption"] = json!(message.body);
            }
            if kind == MessageKind::Document {
                object["filename"] = json!(filename);
            }
            object
        }
        _ => {
            return Ok(Err(Unsendable::reason(
                "This kind of message cannot be sent on WhatsApp.",
            )));
        }
    };
    let addresses = db::contacts::addresses_of_conversation(tx, message.conversation_id)
        .await?
        .unwrap_or_default();
    let type_name = kind.as_str();
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "type": type_name,
        // Echoed in Meta's reports: how a send whose answer was lost is
        // still recorded (see the module comment).
        "biz_opaque_callback_data": message.id.to_string(),
    });
    // By number; a customer whose number is hidden, by their
    // business-scoped user id (`recipient`; `to` wins when both are given:
    // protocols-field 1.5).
    match (addresses.phone, addresses.user_id) {
        (Some(phone), _) => {
            body["to"] = json!(
                phone
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            )
        }
        (None, Some(user_id)) => body["recipient"] = json!(user_id),
        (None, None) => {
            return Ok(Err(Unsendable::reason(
                "The contact has no phone number to send to.",
            )));
        }
    }
    body[type_name] = content;
    if let (Some(target), false) = (quoted, kind == MessageKind::Reaction) {
        // Shown by WhatsApp as a quote of that message.
        body["context"] = json!({ "message_id": target });
    }
    Ok(Ok(body))
}
