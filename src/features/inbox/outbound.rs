//! A member's reply leaving: stored as queued and handed to the job queue,
//! which sends it through the conversation's channel after commit.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{DeliveryStatus, MessageKind};
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::channels::ChannelKind;
use crate::infra::db::conversations::Conversation;
use crate::infra::db::messages::NewMessage;
use crate::infra::jobs::{self, RetryLater};
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::bootstrap;

/// A message leaving: its kind and text (a caption for media, the emoji
/// of a reaction), the message it answers or reacts to, and for media the
/// stored file (`{"url": "/media/{id}", "mime_type", "filename"}`).
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub kind: MessageKind,
    pub text: &'a str,
    pub reply_to: Option<Uuid>,
    pub media: Option<serde_json::Value>,
}

impl<'a> Outgoing<'a> {
    pub fn text(text: &'a str, reply_to: Option<Uuid>) -> Outgoing<'a> {
        Outgoing {
            kind: MessageKind::Text,
            text,
            reply_to,
            media: None,
        }
    }
}

/// A reaction's emoji trimmed, if it is one emoji (a few code points at
/// most, nothing else).
pub fn reaction_emoji(emoji: &str) -> Option<String> {
    let emoji = emoji.trim();
    let valid = !emoji.is_empty()
        && emoji.chars().count() <= 10
        && !emoji
            .chars()
            .any(|c| c.is_ascii() || c.is_whitespace() || c.is_control());
    valid.then(|| emoji.to_owned())
}

/// Queues a text reply; the send job runs once the transaction commits.
pub async fn queue_reply(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    conversation: &Conversation,
    author: Uuid,
    text: &str,
) -> anyhow::Result<Uuid> {
    queue(
        tx,
        secrets,
        conversation,
        Some(author),
        &Outgoing::text(text, None),
    )
    .await
}

/// Queues a text the bot or an automation rule sends: cut to WhatsApp's
/// 4,096 characters and marked automated.
pub async fn queue_automated(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    target: impl Into<Target>,
    text: &str,
) -> anyhow::Result<Uuid> {
    let text: String = text.chars().take(4096).collect();
    let id = queue_to(
        tx,
        secrets,
        target.into(),
        None,
        &Outgoing::text(&text, None),
    )
    .await?;
    mark_automated(tx, id).await?;
    Ok(id)
}

/// Marks a queued message as sent by the bot or a rule, not a person.
pub async fn mark_automated(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update messages set automated = true where org_id = $1 and id = $2",
        tx.org_id(),
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Where a message goes: its conversation and that conversation's channel.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub conversation_id: Uuid,
    pub channel_id: Uuid,
}

impl From<&Conversation> for Target {
    fn from(conversation: &Conversation) -> Target {
        Target {
            conversation_id: conversation.id,
            channel_id: conversation.channel_id,
        }
    }
}

/// Queues any message a member (`author`) or an integration (`None`) sends;
/// the send job runs once the transaction commits.
pub async fn queue(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    conversation: &Conversation,
    author: Option<Uuid>,
    outgoing: &Outgoing<'_>,
) -> anyhow::Result<Uuid> {
    queue_to(tx, secrets, conversation.into(), author, outgoing).await
}

/// [`queue`] to a conversation known by its ids.
pub async fn queue_to(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    target: Target,
    author: Option<Uuid>,
    outgoing: &Outgoing<'_>,
) -> anyhow::Result<Uuid> {
    let id = store_with(tx, target, author, outgoing, DeliveryStatus::Queued, None).await?;
    let job = SendMessage {
        org_id: tx.org_id(),
        message_id: id,
    };
    jobs::enqueue(tx.conn(), secrets, &job).await?;
    Ok(id)
}

/// Whether this is a WhatsApp conversation outside its 24-hour window
/// (only templates reach the customer then).
pub async fn window_closed(tx: &mut TenantTx, conversation: &Conversation) -> sqlx::Result<bool> {
    let cloud = db::cloud_channels::find(tx, conversation.channel_id).await?;
    Ok(cloud.is_some()
        && !crate::channels::cloud_api::window::is_open(
            conversation.last_inbound_at,
            OffsetDateTime::now_utc(),
        ))
}

/// Why a template cannot be sent, in words (the field first).
#[derive(Debug, thiserror::Error)]
pub enum TemplateRefused {
    #[error(
        "template: not an approved template of this number (sync its templates, then pick one)."
    )]
    Unknown,
    /// Values that do not fit the template, each reason on its own.
    #[error("variables: {name} needs {expected} value(s). {}", reasons.join(" "))]
    Values {
        name: String,
        expected: usize,
        reasons: Vec<String>,
    },
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Queues the approved template `name` in `language` of the conversation's
/// number with its values (`values`, in the order of its parameters:
/// header, body, buttons; see [`crate::channels::cloud_api::templates::Shape`]).
pub async fn queue_template(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    conversation: &Conversation,
    author: Option<Uuid>,
    (name, language): (&str, &str),
    values: &[String],
) -> Result<Uuid, TemplateRefused> {
    let template = db::templates::find(tx, conversation.channel_id, name, language)
        .await
        .map_err(anyhow::Error::from)?
        .filter(db::templates::Template::can_send)
        .ok_or(TemplateRefused::Unknown)?;
    queue_approved_template(tx, secrets, conversation.into(), author, &template, values).await
}

/// The send request and shown text of `template` with `values`, or why
/// they do not fit it.
pub fn template_message(
    template: &db::templates::Template,
    values: &[String],
) -> Result<(serde_json::Value, String), TemplateRefused> {
    let refused = |expected, reasons| TemplateRefused::Values {
        name: template.name.clone(),
        expected,
        reasons,
    };
    let shape = template.shape().map_err(|what| {
        refused(
            0,
            vec![format!(
                "{} has {what}, which wacrm cannot fill.",
                template.name
            )],
        )
    })?;
    shape
        .build(&template.name, &template.language, values)
        .map_err(|reasons| refused(shape.params.len(), reasons))
}

/// Queues `template` (approved, checked by the caller) with its values, in
/// the order of its parameters.
pub async fn queue_approved_template(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    target: Target,
    author: Option<Uuid>,
    template: &db::templates::Template,
    values: &[String],
) -> Result<Uuid, TemplateRefused> {
    let (request, shown) = template_message(template, values)?;
    let outgoing = Outgoing {
        kind: MessageKind::Template,
        text: &shown,
        reply_to: None,
        media: None,
    };
    let id = store_with(
        tx,
        target,
        author,
        &outgoing,
        DeliveryStatus::Queued,
        Some(serde_json::json!({ "template": request })),
    )
    .await
    .map_err(anyhow::Error::from)?;
    let job = SendMessage {
        org_id: tx.org_id(),
        message_id: id,
    };
    jobs::enqueue(tx.conn(), secrets, &job).await?;
    Ok(id)
}

/// Queues an interactive message (reply buttons or a list, checked by
/// the caller against Meta's limits, window and channel): shown as its
/// body and choices, sent as the Cloud API `interactive` object kept in
/// `raw`.
pub async fn queue_interactive(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    conversation: &Conversation,
    author: Option<Uuid>,
    message: &crate::domain::interactive::Interactive,
) -> anyhow::Result<Uuid> {
    let shown = message.shown();
    let outgoing = Outgoing {
        kind: MessageKind::Interactive,
        text: &shown,
        reply_to: None,
        media: None,
    };
    let raw = serde_json::json!({ "interactive": message.request() });
    let id = store_with(
        tx,
        conversation.into(),
        author,
        &outgoing,
        DeliveryStatus::Queued,
        Some(raw),
    )
    .await?;
    let job = SendMessage {
        org_id: tx.org_id(),
        message_id: id,
    };
    jobs::enqueue(tx.conn(), secrets, &job).await?;
    Ok(id)
}

/// A private note in the conversation: stored, never sent.
pub async fn add_note(
    tx: &mut TenantTx,
    conversation: &Conversation,
    author: Uuid,
    text: &str,
) -> sqlx::Result<Uuid> {
    store_note(tx, conversation, Some(author), text).await
}

/// A private note: stored, never sent.
async fn store_note(
    tx: &mut TenantTx,
    conversation: &Conversation,
    author: Option<Uuid>,
    text: &str,
) -> sqlx::Result<Uuid> {
    let note = Outgoing {
        kind: MessageKind::Note,
        text,
        reply_to: None,
        media: None,
    };
    store_with(
        tx,
        conversation.into(),
        author,
        &note,
        DeliveryStatus::Received,
        None,
    )
    .await
}

/// Stores a message of ours; `author` is the member who wrote it, `None`
/// for an integration (stored as sent by a bot); `raw` is a payload kept
/// beside it.
async fn store_with(
    tx: &mut TenantTx,
    target: Target,
    author: Option<Uuid>,
    outgoing: &Outgoing<'_>,
    status: DeliveryStatus,
    raw: Option<serde_json::Value>,
) -> sqlx::Result<Uuid> {
    let now = OffsetDateTime::now_utc();
    let id = db::messages::insert(
        tx,
        &NewMessage {
            conversation_id: target.conversation_id,
            channel_id: target.channel_id,
            inbound: false,
            kind: outgoing.kind,
            body: outgoing.text,
            media: outgoing.media.clone(),
            sender_user_id: author,
            private: outgoing.kind == MessageKind::Note,
            provider_message_id: None,
            status,
            raw,
            created_at: Some(now),
            reply_to_id: outgoing.reply_to,
        },
    )
    .await?
    // No provider id, so no conflict: always inserted.
    .ok_or(sqlx::Error::RowNotFound)?;
    let preview = outgoing.kind.preview(outgoing.text);
    db::conversations::record_message(tx, target.conversation_id, false, &preview, now).await?;
    Ok(id)
}

/// The send job: carries a queued message out through its channel. Safe to
/// run twice: a message no longer queued is left alone. `attempt` counts
/// this job's tries, from 1.
pub async fn send(
    env: &Environment,
    org_id: Uuid,
    message_id: Uuid,
    attempt: i32,
) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(message) = db::messages::find(&mut tx, message_id).await? else {
        return Ok(());
    };
    if message.status != DeliveryStatus::Queued {
        return Ok(());
    }
    if db::messages::earlier_still_queued(&mut tx, &message).await? {
        return Err(RetryLater {
            after: std::time::Duration::from_secs(1),
            reason: "an earlier message of this conversation is still being sent".into(),
            waiting: true,
        }
        .into());
    }
    let Some(channel) = db::channels::find(&mut tx, message.channel_id).await? else {
        return Ok(());
    };
    match channel.kind {
        // The simulator reads replies from the database: handing over is
        // immediate, and it reports delivered and read as its page shows them.
        ChannelKind::Sandbox => {
            db::messages::mark_sent(&mut tx, message.id, &format!("sandbox.{}", message.id))
                .await?;
        }
        ChannelKind::WhatsappCloud => {
            return crate::channels::cloud_api::sender::send(env, tx, &message, attempt).await;
        }
        ChannelKind::WhatsappWeb => {
            return crate::channels::whatsapp_web::sender::send(env, tx, &message, attempt).await;
        }
    }
    db::conversations::notify(&mut tx, message.conversation_id).await?;
    tx.commit().await?;
    Ok(())
}

/// A private note an integration adds through the JSON API (from no member).
pub async fn add_integration_note(
    tx: &mut TenantTx,
    conversation: &Conversation,
    text: &str,
) -> sqlx::Result<Uuid> {
    store_note(tx, conversation, None, text).await
}

/// The send job: a queued reply, sent through its conversation's channel (`kind: send_message`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SendMessage {
    pub org_id: Uuid,
    pub message_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for SendMessage {
    const KIND: &'static str = "send_message";
    const QUEUE: &'static str = "messages";
    const MAX_ATTEMPTS: i32 = crate::infra::jobs::SEND_ATTEMPTS;
    type Context = Environment;

    async fn run(&self, env: &Environment, attempt: i32) -> anyhow::Result<()> {
        send(env, self.org_id, self.message_id, attempt).await
    }
}
