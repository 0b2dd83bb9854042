//! The shared inbox: the conversation list, one conversation with its
//! messages and composer, and the contact beside it.

mod actions;
mod ai;
mod bulk;
mod interactive;
mod live;
mod start;
mod suggestions;
mod template_form;
mod view;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use base64::Engine;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::db::messages::Message;
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::member::Tenant;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(view::index))
        .route("/inbox/events", get(live::events))
        .route("/inbox/bulk", post(bulk::apply))
        .route("/inbox/new", get(start::new).post(start::create))
        .route("/inbox/{id}", get(view::show))
        .route("/inbox/{id}/suggestions", get(suggestions::suggest))
        .route("/inbox/{id}/messages", post(actions::reply))
        .route("/inbox/{id}/notes", post(actions::note))
        .route("/inbox/{id}/reactions", post(actions::react))
        .route(
            "/inbox/{id}/attachments",
            post(actions::attach).layer(DefaultBodyLimit::max(
                crate::features::inbox::attachment::MAX_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/inbox/{id}/template",
            // A header's file comes with the form.
            post(template_form::send).layer(DefaultBodyLimit::max(
                crate::features::inbox::attachment::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/inbox/{id}/template/preview", post(template_form::preview))
        .route(
            "/inbox/{id}/interactive",
            get(interactive::form).post(interactive::send),
        )
        .route("/inbox/{id}/status", post(actions::status))
        .route("/inbox/{id}/assign", post(actions::assign))
        .route("/inbox/{id}/priority", post(actions::priority))
        .route("/inbox/{id}/labels", post(actions::labels))
        .route("/inbox/{id}/ai/draft", post(ai::draft))
        .route("/inbox/{id}/ai/summary", post(ai::summary))
        .route("/inbox/{id}/ai/translate", post(ai::translate))
}

/// The message of this conversation a reply or reaction points at (`None`
/// for an empty value); one of another conversation, or that cannot be
/// pointed at (a note, one not sent yet), is not found.
async fn answerable(tx: &mut TenantTx, conversation_id: Uuid, id: &str) -> Result<Option<Message>> {
    let id = id.trim();
    if id.is_empty() {
        return Ok(None);
    }
    let id = Uuid::try_parse(id).map_err(|_| {
        AppError::BadRequest("The message to answer is not valid; pick it again.".into())
    })?;
    match db::messages::find(tx, id).await? {
        Some(m) if m.conversation_id == conversation_id && m.can_be_answered() => Ok(Some(m)),
        _ => Err(AppError::NotFound),
    }
}

/// A `(time, id)` keyset position as an opaque page link parameter.
pub fn encode_position((at, id): (OffsetDateTime, Uuid)) -> String {
    let raw = format!("{}:{id}", at.unix_timestamp_nanos());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

pub fn decode_position(param: &str) -> Result<Option<(OffsetDateTime, Uuid)>> {
    let param = param.trim();
    if param.is_empty() {
        return Ok(None);
    }
    let bad = || {
        AppError::BadRequest("That page link is not valid; start again from the first page.".into())
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(param)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (nanos, id) = raw.split_once(':').ok_or_else(bad)?;
    let nanos: i128 = nanos.parse().map_err(|_| bad())?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?;
    let id = Uuid::try_parse(id).map_err(|_| bad())?;
    Ok(Some((at, id)))
}

/// The conversation `id` if the member may see it (agents may be limited
/// to theirs and the unassigned); 404 otherwise, as for one that does not
/// exist.
pub(crate) async fn visible_conversation(tenant: &mut Tenant, id: Uuid) -> Result<Conversation> {
    let viewer = tenant.member.user_id;
    let visibility = tenant.member.visibility();
    db::conversations::find(&mut tenant.tx, id, viewer, visibility)
        .await?
        .ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_garbage_is_refused() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_456_789)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let position = (at, Uuid::nil());
        assert_eq!(
            decode_position(&encode_position(position)).ok().flatten(),
            Some(position)
        );
        assert!(decode_position("").ok().flatten().is_none());
        for bad in ["%%", "bm9wZQ", "MTI6bm90LWEtdXVpZA"] {
            assert!(decode_position(bad).is_err(), "{bad}");
        }
    }
}
