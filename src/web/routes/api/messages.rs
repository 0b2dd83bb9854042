//! A conversation's messages: read newest first, send a text (queued, then
//! carried out by the job worker through the conversation's channel), add a
//! private note. Integrations write as no member: their messages and notes
//! are stored as sent by a bot.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::conversations::find as find_conversation;
use super::extract::{ApiJson, ApiQuery, IdPath};
use super::{ErrorBody, Page, page_limit, rfc3339};
use crate::domain::mention::mentioned;
use crate::domain::{DeliveryStatus, MessageKind};
use crate::error::AppError;
use crate::features::inbox::attachment;
use crate::features::inbox::outbound::{self, Outgoing};
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::db::messages::{Message, PageEnd};
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::api_client::{ApiClient, ApiError};
use crate::state::AppState;
use crate::web::routes::inbox::{decode_position, encode_position};

/// WhatsApp's limit for a text message body.
const MAX_TEXT: usize = 4096;

/// A message (or a private note) as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    id: Uuid,
    conversation_id: Uuid,
    /// `in` (from the contact) or `out`.
    direction: String,
    /// `text`, `image`, `audio`, `video`, `document`, `sticker`,
    /// `location`, `contacts`, `reaction`, `interactive`, `template`,
    /// `note` (private, never sent) or `unknown`.
    kind: String,
    /// The text, or a media message's caption.
    text: String,
    /// A private note: seen by the team only.
    private: bool,
    /// `contact`, `member` or `bot` (the API's own messages).
    sender_kind: String,
    /// Typed on the business's own (linked) phone rather than in wacrm:
    /// a `member`'s message with no member named.
    from_phone: bool,
    /// An outgoing message's delivery: `queued` → `sent` → `delivered` →
    /// `read`, or `failed` (see `error`). A message from the contact, and a
    /// private note, has arrived where it is going: `delivered`.
    status: String,
    /// Why it failed, or `null`.
    error: Option<String>,
    /// The channel's id for it, once sent.
    provider_message_id: Option<String>,
    /// The message it quotes or reacts to, if wacrm has it.
    reply_to_id: Option<Uuid>,
    /// Where a media message's file is served (to members), once stored.
    media_url: Option<String>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> MessageOut {
        let media_url = m
            .media_url()
            .filter(|u| u.starts_with("/media/"))
            .map(str::to_owned);
        // Inbound messages and notes are stored as `received`; the API's
        // statuses are those of a delivery.
        let status = if m.status == DeliveryStatus::Received {
            DeliveryStatus::Delivered
        } else {
            m.status
        };
        MessageOut {
            media_url,
            id: m.id,
            conversation_id: m.conversation_id,
            direction: m.direction.as_str().to_owned(),
            kind: m.kind.as_str().to_owned(),
            text: m.body,
            private: m.private,
            sender_kind: m.sender_kind.as_str().to_owned(),
            from_phone: m.from_phone,
            status: status.as_str().to_owned(),
            error: m.error,
            provider_message_id: m.provider_message_id,
            reply_to_id: m.reply_to_id,
            created_at: rfc3339(m.created_at),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `next_cursor` of the previous page (older messages).
    cursor: String,
    /// 1–100, default 25.
    limit: String,
}

/// The conversation's messages and notes, newest first.
#[utoipa::path(
    get, path = "/api/v1/conversations/{id}/messages", tag = "messages",
    params(("id" = Uuid, Path, description = "The conversation's id"), ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<MessageOut>),
        (status = 400, description = "Bad cursor or limit", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such conversation in this workspace", body = ErrorBody),
    )
)]
pub async fn list(
    mut client: ApiClient,
    IdPath(id): IdPath,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Page<MessageOut>>, ApiError> {
    let conversation = find_conversation(&mut client.tx, id).await?;
    let limit = page_limit(&params.limit)?;
    let end = match decode_position(&params.cursor)? {
        Some(position) => PageEnd::Before(position),
        None => PageEnd::Latest,
    };
    // Oldest first for display: turned around, the extra one is last.
    let mut messages = db::messages::page(&mut client.tx, conversation.id, end, limit + 1).await?;
    client.tx.commit().await?;
    messages.reverse();
    let more = messages.len() as i64 > limit;
    messages.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = match (more, messages.last()) {
        (true, Some(last)) => Some(encode_position((last.created_at, last.id))),
        _ => None,
    };
    Ok(Json(Page {
        data: messages.into_iter().map(MessageOut::from).collect(),
        next_cursor,
    }))
}

/// A message to send, one of: a text, a file uploaded through
/// `POST /api/v1/media` (with a caption), a reaction, or (on a WhatsApp
/// number, e.g. outside the 24-hour window) an approved template.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SendMessage {
    /// At most 4,096 characters.
    text: Option<String>,
    template: Option<TemplateMessage>,
    media: Option<MediaMessage>,
    reaction: Option<ReactionMessage>,
    /// With a text or media: the message of this conversation it quotes.
    reply_to: Option<Uuid>,
}

/// A stored file sent as an image, video, audio or document (by its type).
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct MediaMessage {
    /// The id `POST /api/v1/media` gave.
    id: Uuid,
    /// At most 1,024 characters; not for audio.
    caption: Option<String>,
}

/// An emoji reaction to a message of this conversation.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct ReactionMessage {
    message_id: Uuid,
    /// One emoji.
    emoji: String,
}

/// A synced, approved template of the conversation's number.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct TemplateMessage {
    name: String,
    /// e.g. `en_US`.
    language: String,
    /// The values of the body's `{{1}}`, `{{2}}` ... in order.
    variables: Vec<String>,
}

/// Sends a text or a template: stored as `queued` and carried out through
/// the conversation's channel; poll the messages for its status.
#[utoipa::path(
    post, path = "/api/v1/conversations/{id}/messages", tag = "messages",
    params(("id" = Uuid, Path, description = "The conversation's id")),
    request_body = SendMessage,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = MessageOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "No text, too long, outside the 24-hour window, or not an approved template (the field is named)", body = ErrorBody),
    )
)]
pub async fn send(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut client: ApiClient,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<SendMessage>,
) -> Result<Response, ApiError> {
    let conversation = find_conversation(&mut client.tx, id).await?;
    crate::infra::tenancy::standing::must_be_writable(&client.standing)?;
    let given = [
        input.text.is_some(),
        input.template.is_some(),
        input.media.is_some(),
        input.reaction.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(AppError::Unprocessable(
            "text: give one of text, media, reaction or template.".into(),
        )
        .into());
    }
    let reply_to = match input.reply_to {
        Some(_) if input.template.is_some() || input.reaction.is_some() => {
            return Err(AppError::Unprocessable(
                "reply_to: only a text or media message quotes another.".into(),
            )
            .into());
        }
        Some(target) => Some(answerable(&mut client.tx, &conversation, target, "reply_to").await?),
        None => None,
    };
    let window_closed = outbound::window_closed(&mut client.tx, &conversation).await?;
    let closed = |field: &str| {
        AppError::Unprocessable(format!(
            "{field}: the customer last wrote more than 24 hours ago; WhatsApp delivers only \
             approved templates until they write again."
        ))
    };
    let mut outgoing = Outgoing::text("", reply_to);
    let caption;
    let emoji;
    if let Some(template) = &input.template {
        let queued = outbound::queue_template(
            &mut client.tx,
            &state.secrets,
            &conversation,
            None,
            (&template.name, &template.language),
            &template.variables,
        )
        .await;
        let message_id = match queued {
            Ok(id) => id,
            Err(outbound::TemplateRefused::Failed(e)) => return Err(AppError::Internal(e).into()),
            Err(refused) => return Err(AppError::Unprocessable(refused.to_string()).into()),
        };
        return accepted(client, message_id).await;
    } else if let Some(reaction) = &input.reaction {
        let target = answerable(
            &mut client.tx,
            &conversation,
            reaction.message_id,
            "reaction",
        )
        .await?;
        emoji = outbound::reaction_emoji(&reaction.emoji).ok_or_else(|| {
            AppError::Unprocessable("reaction: the emoji must be one emoji.".into())
        })?;
        if window_closed {
            return Err(closed("reaction").into());
        }
        outgoing.kind = MessageKind::Reaction;
        outgoing.text = &emoji;
        outgoing.reply_to = Some(target);
    } else if let Some(media) = &input.media {
        let file = db::media::get(&mut client.tx, media.id)
            .await?
            .ok_or_else(|| {
                AppError::Unprocessable(
                    "media: no such file; upload it with POST /api/v1/media first.".into(),
                )
            })?;
        caption = media
            .caption
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let kind = attachment::kind_of(&file.content_type);
        attachment::check_caption(kind, &caption)
            .map_err(|e| AppError::Unprocessable(format!("media: {e}")))?;
        if window_closed {
            return Err(closed("media").into());
        }
        outgoing.kind = kind;
        outgoing.text = &caption;
        outgoing.media = Some(serde_json::json!({
            "url": format!("/media/{}", media.id),
            "mime_type": file.content_type,
            "filename": file.filename,
        }));
    } else {
        outgoing.text = checked_text(input.text.as_deref())?;
        if window_closed {
            return Err(closed("text").into());
        }
    }
    let message_id = outbound::queue(
        &mut client.tx,
        &state.secrets,
        &conversation,
        None,
        &outgoing,
    )
    .await?;
    accepted(client, message_id).await
}

/// 202 with the queued message.
async fn accepted(mut client: ApiClient, message_id: Uuid) -> Result<Response, ApiError> {
    let message = find_message(&mut client.tx, message_id).await?;
    client.tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(MessageOut::from(message))).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewNote {
    /// At most 4,096 characters; `@Name` mentions a member.
    text: Option<String>,
}

/// Adds a private note (never sent to the contact).
#[utoipa::path(
    post, path = "/api/v1/conversations/{id}/notes", tag = "messages",
    params(("id" = Uuid, Path, description = "The conversation's id")),
    request_body = NewNote,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = MessageOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "No text, or too long", body = ErrorBody),
    )
)]
pub async fn note(
    mut client: ApiClient,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<NewNote>,
) -> Result<Response, ApiError> {
    let conversation = find_conversation(&mut client.tx, id).await?;
    let text = checked_text(input.text.as_deref())?;
    let note_id = outbound::add_integration_note(&mut client.tx, &conversation, text).await?;
    let members = db::memberships::list(&mut client.tx).await?;
    let mentioned = mentioned(text, members.iter().map(|m| (m.user_id, m.name.as_str())));
    db::mentions::record(&mut client.tx, note_id, &mentioned).await?;
    let message = find_message(&mut client.tx, note_id).await?;
    client.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(MessageOut::from(message))).into_response())
}

/// A message of this conversation a reply or reaction can point at (named
/// by `field` when it is not).
async fn answerable(
    tx: &mut TenantTx,
    conversation: &Conversation,
    id: Uuid,
    field: &str,
) -> Result<Uuid, AppError> {
    match db::messages::find(tx, id).await? {
        Some(m) if m.conversation_id == conversation.id && m.can_be_answered() => Ok(m.id),
        _ => Err(AppError::Unprocessable(format!(
            "{field}: no message of this conversation that can be answered has this id."
        ))),
    }
}

/// The text trimmed: not empty, not over [`MAX_TEXT`].
fn checked_text(text: Option<&str>) -> Result<&str, AppError> {
    let text = text.unwrap_or_default().trim();
    if text.is_empty() {
        return Err(AppError::Unprocessable(
            "text: the message is empty.".into(),
        ));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(AppError::Unprocessable(format!(
            "text: too long ({MAX_TEXT} characters at most)."
        )));
    }
    Ok(text)
}

async fn find_message(tx: &mut TenantTx, id: Uuid) -> Result<Message, AppError> {
    db::messages::find(tx, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("message {id} vanished")))
}
