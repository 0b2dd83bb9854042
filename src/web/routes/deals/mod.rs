//! Deals: the pipeline board (a column per stage, with counts and value
//! totals), the filtered list with totals per stage, a deal's page (edit,
//! notes, delete), creating one (from a conversation or contact too), and
//! moving it between stages (won, or lost with a reason).

mod board;
mod edit;
mod list;

use axum::Router;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::money;
use crate::infra::db::deals::{DealDetails, DealFields};
use crate::infra::db::memberships::Member;
use crate::infra::db::pipelines::Stage;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deals", get(board::show).post(edit::create))
        .route("/deals/list", get(list::show))
        .route("/deals/new", get(edit::new))
        .route("/deals/{id}", get(edit::show).post(edit::update))
        .route("/deals/{id}/delete", post(edit::delete))
        .route("/deals/{id}/stage", post(board::move_deal))
}

/// The deal form as typed (shown back with the errors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DealForm {
    pub title: String,
    pub value: String,
    pub currency: String,
    pub expected_close: String,
    /// A member's user id; empty: nobody.
    pub owner: String,
    /// A company's name: an existing one is linked, a new one is created.
    pub company: String,
    pub pipeline: String,
    pub stage: String,
    pub contact: String,
    pub conversation: String,
}

/// What `DealForm::details` leaves to the caller: the company is found or
/// created by name (`routes::deals::edit`).
pub struct CheckedDetails {
    pub details: DealDetails,
    pub company_name: Option<String>,
}

pub(super) fn parse_date(typed: &str) -> Option<time::Date> {
    time::Date::parse(
        typed,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

impl DealForm {
    /// The fields both new and existing deals have; every problem at once,
    /// each naming its field. `members` are the workspace's (the owner must
    /// be one of them).
    pub fn details(&self, members: &[Member]) -> Result<CheckedDetails, Vec<String>> {
        let mut errors = vec![];
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            errors.push("Title: name the deal.".to_owned());
        } else if title.chars().count() > 200 {
            errors.push("Title is too long (200 characters at most).".to_owned());
        }
        let value = money::parse_amount(&self.value)
            .map_err(|e| errors.push(format!("Value: {e}")))
            .unwrap_or(Decimal::ZERO);
        let currency = money::parse_currency(&self.currency)
            .map_err(|e| errors.push(format!("Currency: {e}")))
            .unwrap_or_default();
        let expected_close = match self.expected_close.trim() {
            "" => None,
            typed => {
                let date = parse_date(typed);
                if date.is_none() {
                    errors.push(format!(
                        "Expected close: \"{typed}\" is not a date (YYYY-MM-DD)."
                    ));
                }
                date
            }
        };
        let owner_id = match self.owner.trim() {
            "" => None,
            typed => {
                let member = members.iter().find(|m| m.user_id.to_string() == typed);
                if member.is_none() {
                    errors.push("Owner: choose a member of this workspace.".to_owned());
                }
                member.map(|m| m.user_id)
            }
        };
        let company_name = Some(self.company.trim().to_owned()).filter(|c| !c.is_empty());
        if company_name
            .as_ref()
            .is_some_and(|c| c.chars().count() > 200)
        {
            errors.push("Company name is too long (200 characters at most).".to_owned());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CheckedDetails {
            details: DealDetails {
                title,
                value,
                currency,
                expected_close,
                owner_id,
                company_id: None,
            },
            company_name,
        })
    }

    /// A new deal: the details, and the stage it starts in (one of the
    /// pipeline's `stages`, not a lost one; the first when none is chosen).
    /// The contact and conversation are checked by the caller (they must be
    /// this workspace's).
    pub fn parse_new(
        &self,
        pipeline_id: Uuid,
        stages: &[Stage],
        members: &[Member],
    ) -> Result<(DealFields, Option<String>), Vec<String>> {
        let checked = self.details(members);
        let mut errors = checked.as_ref().err().cloned().unwrap_or_default();
        let stage = stages
            .iter()
            .find(|s| s.id.to_string() == self.stage.trim())
            .or_else(|| stages.first().filter(|_| self.stage.trim().is_empty()));
        match stage {
            None => errors.push("Stage: choose one of the pipeline's stages.".to_owned()),
            Some(s) if s.outcome.is_lost() => {
                errors.push("Stage: a new deal cannot start lost.".to_owned())
            }
            Some(_) => {}
        }
        match (checked, stage) {
            (Ok(checked), Some(stage)) if errors.is_empty() => Ok((
                DealFields {
                    pipeline_id,
                    stage_id: stage.id,
                    details: checked.details,
                    contact_id: Uuid::try_parse(self.contact.trim()).ok(),
                    conversation_id: Uuid::try_parse(self.conversation.trim()).ok(),
                },
                checked.company_name,
            )),
            _ => Err(errors),
        }
    }
}
