//! Acting on the conversations ticked in the list at once: assign, add a
//! label, resolve, snooze, mark read. Every ticked conversation must be one
//! the member may see, or nothing changes (404, as for one alone).

use axum::extract::State;
use axum::response::Redirect;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::view::ListParams;
use super::visible_conversation;
use crate::domain::ConversationStatus;
use crate::error::{AppError, Result};
use crate::features::inbox::snooze;
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::db::labels::Tagged;
use crate::infra::tenancy::member::Tenant;
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

/// More than a list page holds (50): a hand-made form asking for more is
/// refused rather than held open for long.
const MAX_TICKED: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BulkForm {
    /// The ticked conversations (the field repeats).
    ids: Vec<String>,
    /// `resolve`, `read`, `snooze:<hours>`, `assign:me|none|<user id>`,
    /// `label:<label id>`.
    action: String,
    /// The list's query string, to return to the same view.
    back: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Resolve,
    MarkRead,
    Snooze { hours: i64 },
    Assign(Option<Uuid>),
    AddLabel(Uuid),
}

fn parse_action(action: &str, me: Uuid) -> Result<Action> {
    let bad = || AppError::Unprocessable("Pick what to do with the ticked conversations.".into());
    let (verb, value) = action.trim().split_once(':').unwrap_or((action.trim(), ""));
    match (verb, value) {
        ("resolve", "") => Ok(Action::Resolve),
        ("read", "") => Ok(Action::MarkRead),
        ("snooze", hours) => hours
            .parse()
            .ok()
            .filter(|h| (1..=24 * 90).contains(h))
            .map(|hours| Action::Snooze { hours })
            .ok_or_else(|| {
                AppError::Unprocessable("Snooze for between 1 hour and 90 days.".into())
            }),
        ("assign", "me") => Ok(Action::Assign(Some(me))),
        ("assign", "none") => Ok(Action::Assign(None)),
        ("assign", id) => Uuid::try_parse(id)
            .map(|id| Action::Assign(Some(id)))
            .map_err(|_| bad()),
        ("label", id) => Uuid::try_parse(id).map(Action::AddLabel).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// The ticked ids, each once; an id that is not one is a conversation that
/// does not exist.
fn parse_ids(ids: &[String]) -> Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Err(AppError::Unprocessable(
            "Tick at least one conversation first.".into(),
        ));
    }
    if ids.len() > MAX_TICKED {
        return Err(AppError::Unprocessable(format!(
            "Tick at most {MAX_TICKED} conversations at once."
        )));
    }
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        let id = Uuid::try_parse(id.trim()).map_err(|_| AppError::NotFound)?;
        if !parsed.contains(&id) {
            parsed.push(id);
        }
    }
    Ok(parsed)
}

fn plural(count: usize) -> String {
    match count {
        1 => "1 conversation".into(),
        n => format!("{n} conversations"),
    }
}

pub async fn apply(
    State(state): State<AppState>,
    mut tenant: Tenant,
    HtmlForm(form): HtmlForm<BulkForm>,
) -> Result<Redirect> {
    let ids = parse_ids(&form.ids)?;
    let action = parse_action(&form.action, tenant.member.user_id)?;
    let mut conversations: Vec<Conversation> = Vec::with_capacity(ids.len());
    for id in ids {
        conversations.push(visible_conversation(&mut tenant, id).await?);
    }
    let mut skipped = 0;
    let done = match action {
        Action::Resolve => {
            for c in &conversations {
                snooze::set_status(
                    &mut tenant.tx,
                    &state.secrets,
                    c.id,
                    ConversationStatus::Resolved,
                    None,
                )
                .await?;
            }
            format!("{} resolved.", plural(conversations.len()))
        }
        Action::Snooze { hours } => {
            let until = OffsetDateTime::now_utc() + Duration::hours(hours);
            for c in &conversations {
                // A resolved one waits on nobody; snoozing would reopen it.
                if c.status.is_resolved() {
                    skipped += 1;
                    continue;
                }
                snooze::set_status(
                    &mut tenant.tx,
                    &state.secrets,
                    c.id,
                    ConversationStatus::Snoozed,
                    Some(until),
                )
                .await?;
            }
            format!("{} snoozed.", plural(conversations.len() - skipped))
        }
        Action::MarkRead => {
            // Read for this member only: no read receipt goes to the
            // customer, since nobody has read their messages.
            for c in &conversations {
                db::conversations::mark_read(&mut tenant.tx, c.id, tenant.member.user_id).await?;
            }
            format!("{} marked read.", plural(conversations.len()))
        }
        Action::Assign(assignee) => {
            for c in &conversations {
                if !db::conversations::assign(&mut tenant.tx, c.id, assignee).await? {
                    return Err(AppError::Unprocessable(
                        "Pick a member of this workspace.".into(),
                    ));
                }
            }
            match assignee {
                Some(_) => format!("{} assigned.", plural(conversations.len())),
                None => format!("{} unassigned.", plural(conversations.len())),
            }
        }
        Action::AddLabel(label) => {
            if !db::labels::list(&mut tenant.tx)
                .await?
                .iter()
                .any(|l| l.id == label)
            {
                return Err(AppError::Unprocessable(
                    "Pick a label from the list.".into(),
                ));
            }
            let ids: Vec<Uuid> = conversations.iter().map(|c| c.id).collect();
            let mut current = db::labels::of(&mut tenant.tx, Tagged::Conversation, &ids).await?;
            for id in ids {
                let mut labels: Vec<Uuid> = current
                    .remove(&id)
                    .unwrap_or_default()
                    .iter()
                    .map(|l| l.id)
                    .collect();
                if !labels.contains(&label) {
                    labels.push(label);
                    db::conversations::set_labels(&mut tenant.tx, id, &labels).await?;
                }
            }
            format!("Label added to {}.", plural(conversations.len()))
        }
    };
    tenant.tx.commit().await?;
    let message = match skipped {
        0 => done,
        n => format!("{done} {} already resolved, left as they were.", plural(n)),
    };
    tenant.session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(&back_to(&form.back)))
}

/// The list the member came from, rebuilt from its known filters only (the
/// field is typed by the client: never a redirect elsewhere).
fn back_to(query: &str) -> String {
    let params: ListParams = serde_html_form::from_str(query).unwrap_or_default();
    match params.query() {
        q if q.is_empty() => "/inbox".into(),
        q => format!("/inbox?{q}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_and_anything_else_is_refused() {
        let me = Uuid::from_u128(7);
        let other = Uuid::from_u128(9);
        assert_eq!(parse_action("resolve", me).ok(), Some(Action::Resolve));
        assert_eq!(parse_action(" read ", me).ok(), Some(Action::MarkRead));
        assert_eq!(
            parse_action("snooze:24", me).ok(),
            Some(Action::Snooze { hours: 24 })
        );
        assert_eq!(
            parse_action("assign:me", me).ok(),
            Some(Action::Assign(Some(me)))
        );
        assert_eq!(
            parse_action("assign:none", me).ok(),
            Some(Action::Assign(None))
        );
        assert_eq!(
            parse_action(&format!("assign:{other}"), me).ok(),
            Some(Action::Assign(Some(other)))
        );
        assert_eq!(
            parse_action(&format!("label:{other}"), me).ok(),
            Some(Action::AddLabel(other))
        );
        for bad in [
            "",
            "delete",
            "snooze:0",
            "snooze:9999",
            "snooze:x",
            "assign:",
            "label:x",
            "resolve:now",
        ] {
            assert!(parse_action(bad, me).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_way_back_keeps_only_the_lists_filters() {
        assert_eq!(
            back_to("assignee=mine&status=all"),
            "/inbox?assignee=mine&status=all"
        );
        assert_eq!(back_to(""), "/inbox");
        assert_eq!(back_to("//evil.example/x"), "/inbox");
        assert_eq!(
            back_to("status=open&next=https://evil.example"),
            "/inbox?status=open"
        );
    }

    #[test]
    fn ids_are_required_bounded_and_deduplicated() {
        assert!(parse_ids(&[]).is_err());
        let id = Uuid::from_u128(1).to_string();
        assert_eq!(
            parse_ids(&[id.clone(), id.clone()]).map(|v| v.len()).ok(),
            Some(1)
        );
        assert!(matches!(
            parse_ids(&["nope".into()]),
            Err(AppError::NotFound)
        ));
        let many: Vec<String> = (0..=MAX_TICKED as u128)
            .map(|n| Uuid::from_u128(n).to_string())
            .collect();
        assert!(parse_ids(&many).is_err());
    }
}
