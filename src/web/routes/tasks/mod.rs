//! Tasks: to-dos and calls with a due time (on the workspace's clock), an
//! assignee and the contact or deal they are about; "my day" (overdue,
//! today, the week ahead, undated), the day's call plan with each contact's
//! context, and reminders at the due time (`crate::features::reminders`).

mod day;
mod edit;

use axum::Router;
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{TaskKind, local_time};
use crate::infra::db::memberships::Member;
use crate::infra::db::tasks::TaskFields;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(day::my_day).post(edit::create))
        .route("/tasks/new", get(edit::new))
        .route("/tasks/calls", get(day::call_plan))
        .route("/tasks/{id}", get(edit::show).post(edit::update))
        .route("/tasks/{id}/done", post(edit::mark_done))
        .route("/tasks/{id}/delete", post(edit::delete))
}

/// The task form as typed (shown back with the errors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TaskForm {
    /// `todo` or `call`.
    pub kind: String,
    pub title: String,
    pub details: String,
    /// `YYYY-MM-DDTHH:MM` on the workspace's clock; empty: no due time.
    pub due: String,
    /// A member's user id; empty: nobody.
    pub assignee: String,
    pub contact: String,
    pub deal: String,
}

impl TaskForm {
    /// Every problem at once, each naming its field. The contact and deal
    /// are checked by the caller (they must be this workspace's).
    pub fn parse(&self, members: &[Member], time_zone: &str) -> Result<TaskFields, Vec<String>> {
        let mut errors = vec![];
        let kind = match self.kind.trim() {
            "" => TaskKind::Todo,
            typed => TaskKind::parse(typed).unwrap_or_else(|| {
                errors.push("Kind: a to-do or a call.".to_owned());
                TaskKind::Todo
            }),
        };
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            errors.push("Title: say what is to be done.".to_owned());
        } else if title.chars().count() > 200 {
            errors.push("Title is too long (200 characters at most).".to_owned());
        }
        let details = Some(self.details.trim().to_owned()).filter(|d| !d.is_empty());
        if details.as_ref().is_some_and(|d| d.chars().count() > 5000) {
            errors.push("Details are too long (5,000 characters at most).".to_owned());
        }
        let due_at = match self.due.trim() {
            "" if kind.is_call() => {
                errors.push("Due: a call needs a time, so it lands in a call plan.".to_owned());
                None
            }
            "" => None,
            typed => local_time::parse(typed, time_zone)
                .map_err(|e| errors.push(format!("Due: {e}")))
                .ok(),
        };
        let assignee_id = match self.assignee.trim() {
            "" => None,
            typed => {
                let member = members.iter().find(|m| m.user_id.to_string() == typed);
                if member.is_none() {
                    errors.push("Assignee: choose a member of this workspace.".to_owned());
                }
                member.map(|m| m.user_id)
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TaskFields {
            kind,
            title,
            details,
            due_at,
            assignee_id,
            contact_id: Uuid::try_parse(self.contact.trim()).ok(),
            deal_id: Uuid::try_parse(self.deal.trim()).ok(),
        })
    }
}
