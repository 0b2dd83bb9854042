//! `/api/v1/conversations`: the inbox for integrations, with the inbox's
//! rules (statuses, snooze, assignees who are members, reopening).
//!
//! An API token sees every conversation of its workspace, as an owner does.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, IdPath, present};
use super::{ErrorBody, Page, label_ids, page_limit, rfc3339};
use crate::domain::{ConversationStatus, Priority};
use crate::error::{AppError, ResultExt};
use crate::infra::db;
use crate::infra::db::conversations::{AssigneeFilter, Conversation, ListFilter, Visibility};
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::api_client::{ApiClient, ApiError};
use crate::state::AppState;
use crate::web::routes::inbox::{decode_position, encode_position};

/// Unread counts are per member; the API is no member, so its queries name
/// nobody as the viewer (and the API does not show unread counts).
const NO_VIEWER: Uuid = Uuid::nil();
/// The longest snooze, as in the inbox.
const MAX_SNOOZE_DAYS: i64 = 90;

/// A conversation as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ConversationOut {
    id: Uuid,
    contact_id: Uuid,
    channel_id: Uuid,
    /// `open`, `pending`, `snoozed` or `resolved`.
    status: String,
    /// RFC 3339, UTC; set while `snoozed`.
    #[schema(format = DateTime)]
    snoozed_until: Option<String>,
    /// A member's user id, or `null` when unassigned.
    assignee_id: Option<Uuid>,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    priority: String,
    /// Label names.
    labels: Vec<String>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    last_message_at: String,
}

impl From<Conversation> for ConversationOut {
    fn from(c: Conversation) -> ConversationOut {
        ConversationOut {
            id: c.id,
            contact_id: c.contact_id,
            channel_id: c.channel_id,
            status: c.status.as_str().to_owned(),
            snoozed_until: c.snoozed_until.map(rfc3339),
            assignee_id: c.assignee_id,
            priority: c.priority.as_str().to_owned(),
            labels: c.labels.into_iter().map(|l| l.name).collect(),
            last_message_at: rfc3339(c.last_message_at),
        }
    }
}

/// The list's query parameters (all optional; they combine).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `open`, `pending`, `snoozed` or `resolved`; every status when left out.
    status: String,
    /// A member's user id, or `unassigned`.
    assignee: String,
    /// A label name.
    label: String,
    contact_id: String,
    channel_id: String,
    /// `next_cursor` of the previous page.
    cursor: String,
    /// 1–100, default 25.
    limit: String,
}

/// Lists conversations, most recent activity first.
#[utoipa::path(
    get, path = "/api/v1/conversations", tag = "conversations",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<ConversationOut>),
        (status = 400, description = "A filter, cursor or limit that is not valid", body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn list(
    mut client: ApiClient,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Page<ConversationOut>>, ApiError> {
    let bad = |what: &str, why: &str| AppError::BadRequest(format!("{what}: {why}"));
    let status = match params.status.trim() {
        "" => None,
        s => Some(
            ConversationStatus::parse(s)
                .ok_or_else(|| bad("status", "open, pending, snoozed or resolved."))?,
        ),
    };
    let id = |value: &str, what: &str| match value.trim() {
        "" => Ok(None),
        v => Uuid::try_parse(v)
            .map(Some)
            .map_err(|_| bad(what, "not an id.")),
    };
    // "Mine" with the assignee as the viewer: the query's way to name one.
    let (assignee, viewer) = match params.assignee.trim() {
        "" => (AssigneeFilter::All, NO_VIEWER),
        "unassigned" => (AssigneeFilter::Unassigned, NO_VIEWER),
        v => match Uuid::try_parse(v) {
            Ok(user) => (AssigneeFilter::Mine, user),
            Err(_) => return Err(bad("assignee", "a member's user id, or unassigned.").into()),
        },
    };
    let limit = page_limit(&params.limit)?;
    let label = match params.label.trim() {
        "" => None,
        name => {
            let labels = db::labels::list(&mut client.tx).await?;
            match labels
                .iter()
                .find(|l| l.name.to_lowercase() == name.to_lowercase())
            {
                Some(label) => Some(label.id),
                // No such label: nothing carries it.
                None => {
                    client.tx.commit().await?;
                    return Ok(Json(Page {
                        data: vec![],
                        next_cursor: None,
                    }));
                }
            }
        }
    };
    let filter = ListFilter {
        assignee,
        status,
        label,
        channel: id(&params.channel_id, "channel_id")?,
        contact: id(&params.contact_id, "contact_id")?,
        before: decode_position(&params.cursor)?,
        limit,
    };
    let mut conversations =
        db::conversations::list(&mut client.tx, &filter, viewer, Visibility::All).await?;
    let more = conversations.len() as i64 > limit;
    conversations.truncate(usize::try_from(limit).unwrap_or(0));
    db::conversations::with_labels(&mut client.tx, &mut conversations).await?;
    client.tx.commit().await?;
    let next_cursor = match (more, conversations.last()) {
        (true, Some(last)) => Some(encode_position((last.last_message_at, last.id))),
        _ => None,
    };
    Ok(Json(Page {
        data: conversations
            .into_iter()
            .map(ConversationOut::from)
            .collect(),
        next_cursor,
    }))
}

/// One conversation (its messages: `GET .../messages`).
#[utoipa::path(
    get, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = Uuid, Path, description = "The conversation's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConversationOut),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such conversation in this workspace", body = ErrorBody),
    )
)]
pub async fn show(
    mut client: ApiClient,
    IdPath(id): IdPath,
) -> Result<Json<ConversationOut>, ApiError> {
    let conversation = find(&mut client.tx, id).await?;
    client.tx.commit().await?;
    Ok(Json(conversation.into()))
}

/// Whom to start a conversation with: `contact_id`, or `phone` (with the
/// `name` for a new contact).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ConversationStart {
    /// One of the workspace's channels.
    channel_id: Option<Uuid>,
    /// A contact of the workspace (or give `phone`).
    contact_id: Option<Uuid>,
    /// E.164, or national in the workspace's country; a number no contact
    /// has becomes a contact.
    phone: Option<String>,
    /// The new contact's name (with `phone`).
    name: Option<String>,
}

/// Starts a conversation (the first message: `POST .../messages`, a
/// template where WhatsApp's 24-hour window is closed). The contact's
/// unresolved conversation on that channel is continued if there is one.
#[utoipa::path(
    post, path = "/api/v1/conversations", tag = "conversations",
    request_body = ConversationStart,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Opened", body = ConversationOut),
        (status = 200, description = "The contact's unresolved conversation on that channel, continued", body = ConversationOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such contact in this workspace", body = ErrorBody),
        (status = 422, description = "Invalid (the reason is named)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    mut client: ApiClient,
    ApiJson(input): ApiJson<ConversationStart>,
) -> Result<axum::response::Response, ApiError> {
    use crate::features::inbox::start::{self, Recipient};
    use axum::response::IntoResponse;
    let channel_id = input.channel_id.ok_or_else(|| {
        AppError::Unprocessable("channel_id: pick one of the workspace's channels.".into())
    })?;
    let recipient = match (input.contact_id, input.phone.as_deref()) {
        (Some(id), None) => Recipient::Contact(id),
        (None, Some(phone)) => {
            let country = db::orgs::default_country(&mut client.tx).await?;
            let phone = crate::domain::PhoneE164::parse(phone, country)
                .map_err(|reason| AppError::Unprocessable(format!("phone: {reason}")))?;
            let name = input.name.unwrap_or_default();
            Recipient::Phone {
                name: name.trim().chars().take(200).collect(),
                phone,
            }
        }
        _ => {
            return Err(AppError::Unprocessable("Give either contact_id or phone.".into()).into());
        }
    };
    let started = start::start(&state.config, &mut client.tx, None, channel_id, recipient).await?;
    let conversation = find(&mut client.tx, started.conversation_id).await?;
    client.tx.commit().await?;
    let body = ConversationOut::from(conversation);
    Ok(if started.continued {
        Json(body).into_response()
    } else {
        super::created(
            format!("/api/v1/conversations/{}", started.conversation_id),
            body,
        )
    })
}

/// What an update may change; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ConversationUpdate {
    /// `open`, `pending`, `resolved`, or `snoozed` (with `snoozed_until`).
    /// Reopening a resolved conversation while the contact has another
    /// unresolved one on the channel is a 409.
    status: Option<String>,
    /// RFC 3339; only with `status: snoozed`, at most 90 days ahead.
    #[schema(format = DateTime)]
    snoozed_until: Option<String>,
    /// A member's user id; `null` unassigns.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    assignee_id: Option<Option<Uuid>>,
    /// Label names (all of them: replaces the set); `null` or `[]` clears.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    labels: Option<Option<Vec<String>>>,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    priority: Option<String>,
}

/// Changes status, assignee, labels or priority.
#[utoipa::path(
    patch, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = Uuid, Path, description = "The conversation's id")),
    request_body = ConversationUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConversationOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Reopening while another conversation of the contact is open", body = ErrorBody),
        (status = 422, description = "Invalid (the field is named)", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    mut client: ApiClient,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<ConversationUpdate>,
) -> Result<Json<ConversationOut>, ApiError> {
    let tx = &mut client.tx;
    let conversation = find(tx, id).await?;
    let invalid = |m: &str| AppError::Unprocessable(m.to_owned());

    // Everything is checked before anything changes.
    let status = match (
        input.status.as_deref().map(ConversationStatus::parse),
        input.snoozed_until.as_deref(),
    ) {
        (None, None) => None,
        (Some(Some(ConversationStatus::Snoozed)), Some(until)) => {
            Some((ConversationStatus::Snoozed, Some(snooze_end(until)?)))
        }
        (Some(Some(ConversationStatus::Snoozed)), None) => {
            return Err(invalid("snoozed_until: give the time the snooze ends.").into());
        }
        (Some(Some(status)), None) => Some((status, None)),
        (Some(Some(_)) | None, Some(_)) => {
            return Err(invalid("snoozed_until: only with status snoozed.").into());
        }
        (Some(None), _) => {
            return Err(invalid("status: open, pending, snoozed or resolved.").into());
        }
    };
    let priority = match input.priority.as_deref().map(str::trim) {
        None => None,
        Some(p) => Some(
            Priority::parse(p)
                .ok_or_else(|| invalid("priority: none, low, medium, high or urgent."))?,
        ),
    };
    let labels = match &input.labels {
        None => None,
        Some(names) => Some(label_ids(tx, names.as_deref().unwrap_or_default(), "labels").await?),
    };

    if let Some((status, snoozed_until)) = status {
        if !status.is_resolved()
            && conversation.status.is_resolved()
            && db::conversations::other_active(
                tx,
                conversation.channel_id,
                conversation.contact_id,
                id,
            )
            .await?
            .is_some()
        {
            return Err(AppError::Conflict(
                "status: this contact already has an unresolved conversation on this channel; \
                 continue there."
                    .into(),
            )
            .into());
        }
        crate::features::inbox::snooze::set_status(tx, &state.secrets, id, status, snoozed_until)
            .await
            .on_constraint("conversations_one_active_key", reopen_conflict)?;
    }
    if let Some(assignee) = input.assignee_id
        && !db::conversations::assign(tx, id, assignee).await?
    {
        return Err(invalid("assignee_id: not a member of this workspace.").into());
    }
    if let Some(priority) = priority {
        db::conversations::set_priority(tx, id, priority).await?;
    }
    if let Some(labels) = labels {
        db::conversations::set_labels(tx, id, &labels).await?;
    }
    let conversation = find(tx, id).await?;
    client.tx.commit().await?;
    Ok(Json(conversation.into()))
}

/// The conversation with its labels, or 404.
pub(super) async fn find(tx: &mut TenantTx, id: Uuid) -> Result<Conversation, AppError> {
    let mut conversation = db::conversations::find(tx, id, NO_VIEWER, Visibility::All)
        .await?
        .ok_or(AppError::NotFound)?;
    db::conversations::with_labels(tx, std::slice::from_mut(&mut conversation)).await?;
    Ok(conversation)
}

/// A snooze's end: in the future, at most [`MAX_SNOOZE_DAYS`] ahead.
fn snooze_end(typed: &str) -> Result<OffsetDateTime, AppError> {
    let at = OffsetDateTime::parse(typed.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            AppError::Unprocessable(format!(
                "snoozed_until: “{typed}” is not an RFC 3339 time (like 2030-01-31T09:00:00Z)."
            ))
        })?;
    let now = OffsetDateTime::now_utc();
    if at <= now || at > now + Duration::days(MAX_SNOOZE_DAYS) {
        return Err(AppError::Unprocessable(format!(
            "snoozed_until: between now and {MAX_SNOOZE_DAYS} days ahead."
        )));
    }
    Ok(at)
}

/// A reopen raced by the contact's new conversation hits the one-active
/// index: the same answer as the check.
fn reopen_conflict() -> AppError {
    AppError::Conflict(
        "status: this contact already has an unresolved conversation on this channel.".into(),
    )
}
