//! What a member does to a conversation: reply, note, status, assignee.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::visible_conversation;
use crate::domain::MessageKind;
use crate::domain::mention::mentioned;
use crate::domain::{ConversationStatus, Priority};
use crate::error::{AppError, Result};
use crate::features::inbox::attachment;
use crate::features::inbox::outbound::{self, Outgoing};
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use crate::web::upload::UploadedFile;

const WINDOW_CLOSED: &str = "The customer last wrote more than 24 hours ago: WhatsApp delivers \
    only approved templates until they write again. Pick a template instead (your text is kept here).";

/// WhatsApp's limit for a text message body.
const MAX_TEXT: usize = 4096;

/// Commits what the member did and goes back to the conversation.
async fn back(tenant: Tenant, conversation_id: Uuid) -> Result<Redirect> {
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/inbox/{conversation_id}")))
}

/// Queues the member's message to the customer, then [`back`].
async fn queue(
    state: &AppState,
    mut tenant: Tenant,
    conversation: &Conversation,
    outgoing: &Outgoing<'_>,
) -> Result<Response> {
    let author = Some(tenant.member.user_id);
    outbound::queue(
        &mut tenant.tx,
        &state.secrets,
        conversation,
        author,
        outgoing,
    )
    .await?;
    Ok(back(tenant, conversation.id).await?.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TextForm {
    text: String,
    /// The message this reply quotes, if any.
    reply_to: String,
}

/// A reply or note that could not be saved, shown back so nothing typed is lost.
#[derive(Template, WebTemplate)]
#[template(path = "inbox/not_sent.html")]
pub struct NotSentPage {
    page: Page,
    action: String,
    back: String,
    text: String,
    reply_to: String,
    error: String,
}

fn check_text(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        Some("The message is empty: type something to send.".into())
    } else if trimmed.chars().count() > MAX_TEXT {
        Some(format!(
            "The message is too long ({MAX_TEXT} characters at most)."
        ))
    } else {
        None
    }
}

fn not_sent(tenant: Tenant, id: Uuid, what: &str, form: TextForm, error: String) -> Response {
    let page = NotSentPage {
        page: tenant.page,
        action: format!("/inbox/{id}/{what}"),
        back: format!("/inbox/{id}"),
        text: form.text,
        reply_to: form.reply_to,
        error,
    };
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

pub async fn reply(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<TextForm>,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    tenant.member.must_be_writable()?;
    let reply_to = answered(&mut tenant, &conversation, &form.reply_to).await?;
    if let Some(error) = check_text(&form.text) {
        return Ok(not_sent(tenant, conversation.id, "messages", form, error));
    }
    if outbound::window_closed(&mut tenant.tx, &conversation).await? {
        let error = WINDOW_CLOSED.to_owned();
        return Ok(not_sent(tenant, conversation.id, "messages", form, error));
    }
    let text = super::suggestions::expand_canned(&mut tenant, &conversation, &form.text).await?;
    if let Some(error) = check_text(&text) {
        return Ok(not_sent(tenant, conversation.id, "messages", form, error));
    }
    let outgoing = Outgoing::text(&text, reply_to);
    queue(&state, tenant, &conversation, &outgoing).await
}

/// The id of the message a reply or reaction points at (see
/// [`super::answerable`]).
async fn answered(
    tenant: &mut Tenant,
    conversation: &Conversation,
    id: &str,
) -> Result<Option<Uuid>> {
    let message = super::answerable(&mut tenant.tx, conversation.id, id).await?;
    Ok(message.map(|m| m.id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReactionForm {
    message_id: String,
    emoji: String,
}

pub async fn react(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ReactionForm>,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    tenant.member.must_be_writable()?;
    let target = answered(&mut tenant, &conversation, &form.message_id)
        .await?
        .ok_or_else(|| AppError::BadRequest("Pick the message to react to.".into()))?;
    let emoji = outbound::reaction_emoji(&form.emoji)
        .ok_or_else(|| AppError::Unprocessable("A reaction is one emoji.".into()))?;
    if outbound::window_closed(&mut tenant.tx, &conversation).await? {
        return Err(AppError::Unprocessable(WINDOW_CLOSED_REACTION.into()));
    }
    let outgoing = Outgoing {
        kind: MessageKind::Reaction,
        text: &emoji,
        reply_to: Some(target),
        media: None,
    };
    queue(&state, tenant, &conversation, &outgoing).await
}

const WINDOW_CLOSED_REACTION: &str = "The customer last wrote more than 24 hours ago: \
    WhatsApp delivers only approved templates until they write again, not reactions.";

/// A reply with a file (a multipart form: `file`, `text` for the caption,
/// `reply_to`; its CSRF token in the query string).
pub async fn attach(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    mut multipart: Multipart,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    tenant.member.must_be_writable()?;
    let (file, fields) = crate::web::upload::read_attachment(&mut multipart, &state.media).await?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let (caption, reply_to) = (field("text"), field("reply_to"));
    let reply_to = answered(&mut tenant, &conversation, reply_to).await?;
    let Some(UploadedFile {
        filename,
        declared,
        content,
    }) = file
    else {
        return Err(AppError::Unprocessable("Choose a file to send.".into()));
    };
    let attached = attachment::classify(declared.as_deref(), &content.head, content.size)
        .map_err(AppError::Unprocessable)?;
    let caption = caption.trim();
    attachment::check_caption(attached.kind, caption).map_err(AppError::Unprocessable)?;
    if outbound::window_closed(&mut tenant.tx, &conversation).await? {
        return Err(AppError::Unprocessable(WINDOW_CLOSED.into()));
    }
    let stored = db::media::store(
        &mut tenant.tx,
        &state.media,
        Some(&attached.mime_type),
        &filename,
        content,
    )
    .await?;
    let outgoing = Outgoing {
        kind: attached.kind,
        text: caption,
        reply_to,
        media: Some(serde_json::json!({
            "url": format!("/media/{}", stored.id),
            "mime_type": stored.content_type,
            "filename": filename,
        })),
    };
    queue(&state, tenant, &conversation, &outgoing).await
}

pub async fn note(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<TextForm>,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    if let Some(error) = check_text(&form.text) {
        return Ok(not_sent(tenant, conversation.id, "notes", form, error));
    }
    let author = tenant.member.user_id;
    let text = form.text.trim();
    let note = outbound::add_note(&mut tenant.tx, &conversation, author, text).await?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let mentioned = mentioned(text, members.iter().map(|m| (m.user_id, m.name.as_str())));
    db::mentions::record(&mut tenant.tx, note, &mentioned).await?;
    Ok(back(tenant, conversation.id).await?.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    /// With `snoozed`: how long, in hours.
    snooze_hours: String,
}

pub async fn status(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<StatusForm>,
) -> Result<Redirect> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    let bad_status =
        || AppError::Unprocessable("Pick a status: open, pending, snoozed or resolved.".into());
    let status = ConversationStatus::parse(&form.status).ok_or_else(bad_status)?;
    let snoozed_until = match status {
        ConversationStatus::Snoozed => {
            let hours: i64 = form
                .snooze_hours
                .trim()
                .parse()
                .ok()
                .filter(|h| (1..=24 * 90).contains(h))
                .ok_or_else(|| {
                    AppError::Unprocessable("Snooze for between 1 hour and 90 days.".into())
                })?;
            Some(OffsetDateTime::now_utc() + Duration::hours(hours))
        }
        _ => None,
    };
    // A resolved conversation reopened while the contact has started a new one.
    if !status.is_resolved()
        && conversation.status.is_resolved()
        && db::conversations::other_active(
            &mut tenant.tx,
            conversation.channel_id,
            conversation.contact_id,
            conversation.id,
        )
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "This contact already has an open conversation on this channel; continue there.".into(),
        ));
    }
    crate::features::inbox::snooze::set_status(
        &mut tenant.tx,
        &state.secrets,
        conversation.id,
        status,
        snoozed_until,
    )
    .await?;
    back(tenant, conversation.id).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignForm {
    /// A member's user id, `me`, or empty for nobody.
    assignee: String,
}

pub async fn assign(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<AssignForm>,
) -> Result<Redirect> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    let assignee = match form.assignee.trim() {
        "" => None,
        "me" => Some(tenant.member.user_id),
        other => Some(
            Uuid::try_parse(other)
                .map_err(|_| AppError::Unprocessable("Pick a member of this workspace.".into()))?,
        ),
    };
    if !db::conversations::assign(&mut tenant.tx, conversation.id, assignee).await? {
        return Err(AppError::Unprocessable(
            "Pick a member of this workspace.".into(),
        ));
    }
    back(tenant, conversation.id).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PriorityForm {
    priority: String,
}

pub async fn priority(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<PriorityForm>,
) -> Result<Redirect> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    let priority = Priority::parse(form.priority.trim()).ok_or_else(|| {
        AppError::Unprocessable("Pick a priority: none, low, medium, high or urgent.".into())
    })?;
    db::conversations::set_priority(&mut tenant.tx, conversation.id, priority).await?;
    back(tenant, conversation.id).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LabelsForm {
    /// The ticked labels' ids (the field repeats).
    labels: Vec<String>,
}

pub async fn labels(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<LabelsForm>,
) -> Result<Redirect> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    let label_ids = form
        .labels
        .iter()
        .map(|l| Uuid::try_parse(l.trim()))
        .collect::<std::result::Result<Vec<Uuid>, _>>()
        .map_err(|_| AppError::Unprocessable("Pick labels from the list.".into()))?;
    db::conversations::set_labels(&mut tenant.tx, conversation.id, &label_ids).await?;
    back(tenant, conversation.id).await
}
