//! Scheduled messages ("send later"): stored with a job due at their time,
//! which queues the text as a reply then, in one transaction with the row
//! becoming `sent`, so a crash or a second job sends nothing twice. When
//! WhatsApp's 24-hour window is closed by then, the chosen template goes
//! instead; without one the row fails with why, and a private note in the
//! conversation tells the members, so nothing is dropped unseen.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::features::environment::Environment;
use crate::features::inbox::outbound::{self, Outgoing, TemplateRefused};
use crate::infra::db;
use crate::infra::db::conversations::{Conversation, Visibility};
use crate::infra::db::scheduled::{Draft, Fallback, Scheduled};
use crate::infra::jobs;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Stores a message to send at `draft.send_at`, with its job.
pub async fn schedule(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    conversation_id: Uuid,
    author: Uuid,
    draft: &Draft,
) -> anyhow::Result<Uuid> {
    let id = db::scheduled::insert(tx, conversation_id, author, draft).await?;
    enqueue(tx, secrets, id, draft.send_at).await?;
    Ok(id)
}

/// Changes a waiting message; a new time gets its own job (the old one
/// finds it not due and does nothing). False when it is no longer waiting.
pub async fn change(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    before: &Scheduled,
    draft: &Draft,
) -> anyhow::Result<bool> {
    if !db::scheduled::update(tx, before.id, draft).await? {
        return Ok(false);
    }
    if draft.send_at != before.send_at {
        enqueue(tx, secrets, before.id, draft.send_at).await?;
    }
    Ok(true)
}

/// Sends a waiting message at once; false when it is no longer waiting.
pub async fn send_now(tx: &mut TenantTx, secrets: &SecretBox, id: Uuid) -> anyhow::Result<bool> {
    match db::scheduled::move_to_now(tx, id).await? {
        Some(at) => {
            enqueue(tx, secrets, id, at).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

async fn enqueue(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    id: Uuid,
    at: OffsetDateTime,
) -> anyhow::Result<()> {
    let job = SendScheduled {
        org_id: tx.org_id(),
        scheduled_id: id,
    };
    jobs::enqueue_at(tx.conn(), secrets, &job, Some(at)).await?;
    Ok(())
}

/// Why `fallback` cannot go out on this channel, if it cannot: not an
/// approved template of the number, or values that do not fit it (as
/// [`outbound::queue_template`] would refuse it at send time).
pub async fn fallback_refused(
    tx: &mut TenantTx,
    channel_id: Uuid,
    fallback: &Fallback,
) -> sqlx::Result<Option<String>> {
    let template = db::templates::find(tx, channel_id, &fallback.name, &fallback.language)
        .await?
        // Any template the inbox can send (named, header, buttons): its
        // values are checked here as the send will check them.
        .filter(db::templates::Template::can_send);
    let Some(template) = template else {
        return Ok(Some(TemplateRefused::Unknown.to_string()));
    };
    Ok(outbound::template_message(&template, &fallback.values)
        .err()
        .map(|refused| refused.to_string()))
}

/// What became of a due message.
enum Outcome {
    Sent { message_id: Uuid, reason: String },
    NotSent(String),
}

/// The job: sends the message if it is still waiting and due. On the job's
/// last try an error fails the row (with a note) rather than leave it
/// waiting for ever.
pub async fn send(env: &Environment, org_id: Uuid, id: Uuid, last_try: bool) -> anyhow::Result<()> {
    let sent = send_if_due(env, org_id, id).await;
    if let Err(e) = &sent
        && last_try
    {
        tracing::warn!(%org_id, scheduled_id = %id, error = %format!("{e:#}"), "giving up a scheduled message");
        let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
        if let Some(due) = db::scheduled::lock_due(&mut tx, id).await? {
            let reason =
                "sending it failed after several tries. Send it by hand, or schedule it again.";
            not_sent(&mut tx, &due, reason).await?;
        }
        tx.commit().await?;
    }
    sent
}

async fn send_if_due(env: &Environment, org_id: Uuid, id: Uuid) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(due) = db::scheduled::lock_due(&mut tx, id).await? else {
        // Sent, canceled, moved later (its own job comes then) or gone.
        return Ok(());
    };
    match deliver(env, &mut tx, &due).await? {
        Outcome::Sent { message_id, reason } => {
            db::scheduled::mark_sent(&mut tx, due.id, message_id, &reason).await?;
        }
        Outcome::NotSent(reason) => not_sent(&mut tx, &due, &reason).await?,
    }
    tx.commit().await?;
    Ok(())
}

/// Queues the text, or the fallback template when the window is closed;
/// says why not when neither may go.
async fn deliver(env: &Environment, tx: &mut TenantTx, due: &Scheduled) -> anyhow::Result<Outcome> {
    let Some(conversation) = conversation(tx, due).await? else {
        return Ok(Outcome::NotSent("its conversation is gone.".into()));
    };
    let standing =
        crate::infra::tenancy::standing::of_workspace(&env.config, &env.clock, tx).await?;
    if let Some(reason) = standing.read_only_reason() {
        return Ok(Outcome::NotSent(reason));
    }
    let unreachable: bool = sqlx::query_scalar!(r#"select opted_out or blocked as "unreachable!" from contacts where org_id = $1 and id = $2"#, tx.org_id(), conversation.contact_id)
    .fetch_optional(tx.conn())
    .await?
    .unwrap_or(true);
    if unreachable {
        return Ok(Outcome::NotSent(
            "the contact opted out of messages or is blocked.".into(),
        ));
    }
    if !outbound::window_closed(tx, &conversation).await? {
        let text = Outgoing::text(&due.body, None);
        let message_id =
            outbound::queue(tx, &env.secrets, &conversation, due.author_id, &text).await?;
        return Ok(Outcome::Sent {
            message_id,
            reason: String::new(),
        });
    }
    let Some(fallback) = due.fallback() else {
        return Ok(Outcome::NotSent(
            "WhatsApp's 24-hour window was closed (the customer last wrote more than 24 hours \
             before) and no fallback template was chosen."
                .into(),
        ));
    };
    let queued = outbound::queue_template(
        tx,
        &env.secrets,
        &conversation,
        due.author_id,
        (&fallback.name, &fallback.language),
        &fallback.values,
    )
    .await;
    match queued {
        Ok(message_id) => Ok(Outcome::Sent {
            message_id,
            reason: format!(
                "The 24-hour window was closed: sent as template {}.",
                fallback.name
            ),
        }),
        Err(TemplateRefused::Failed(e)) => Err(e),
        Err(refused) => Ok(Outcome::NotSent(format!(
            "WhatsApp's 24-hour window was closed and the fallback template could not go: {refused}"
        ))),
    }
}

async fn conversation(tx: &mut TenantTx, due: &Scheduled) -> sqlx::Result<Option<Conversation>> {
    let viewer = due.author_id.unwrap_or(Uuid::nil());
    db::conversations::find(tx, due.conversation_id, viewer, Visibility::All).await
}

/// Fails the row with `reason`, and says so in the conversation with a
/// private note (how members notice) holding the text, to send it by hand.
async fn not_sent(tx: &mut TenantTx, due: &Scheduled, reason: &str) -> anyhow::Result<()> {
    let reason = capitalized(reason);
    if !db::scheduled::mark_failed(tx, due.id, &reason).await? {
        return Ok(());
    }
    if let Some(conversation) = conversation(tx, due).await? {
        let note = format!(
            "The scheduled message was not sent. {reason} It said: “{}”",
            due.body
        );
        outbound::add_integration_note(tx, &conversation, &note).await?;
        db::conversations::notify(tx, conversation.id).await?;
    }
    Ok(())
}

fn capitalized(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A scheduled message due now (if it still is: an edit queues another) (`kind: send_scheduled`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SendScheduled {
    pub org_id: Uuid,
    pub scheduled_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for SendScheduled {
    const KIND: &'static str = "send_scheduled";
    const QUEUE: &'static str = "scheduled";
    type Context = Environment;

    async fn run(&self, env: &Environment, attempt: i32) -> anyhow::Result<()> {
        let last_try = attempt >= Self::MAX_ATTEMPTS;
        send(env, self.org_id, self.scheduled_id, last_try).await
    }
}
