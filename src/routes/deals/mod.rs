//! Deals: the pipeline board (a column per stage, with counts and value
//! totals), a deal's page, creating one (from a conversation or contact
//! too), and moving it between stages (won, or lost with a reason).

mod board;
mod edit;

use axum::Router;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::db::deals::{DealFields, Stage};
use crate::domain::money;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deals", get(board::show).post(edit::create))
        .route("/deals/new", get(edit::new))
        .route("/deals/{id}", get(edit::show))
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
    pub stage: String,
    pub contact: String,
    pub conversation: String,
}

impl DealForm {
    /// Every problem at once, each naming its field. `stages` are the
    /// pipeline's; the contact and conversation are checked by the caller
    /// (they must be this workspace's).
    pub fn parse(
        &self,
        pipeline_id: Uuid,
        stages: &[Stage],
        owner: Uuid,
    ) -> Result<DealFields, Vec<String>> {
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
            typed => time::Date::parse(
                typed,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| {
                errors.push(format!(
                    "Expected close: \"{typed}\" is not a date (YYYY-MM-DD)."
                ))
            })
            .ok(),
        };
        let stage = stages
            .iter()
            .find(|s| s.id.to_string() == self.stage.trim())
            .or_else(|| stages.first().filter(|_| self.stage.trim().is_empty()));
        let Some(stage) = stage else {
            errors.push("Stage: choose one of the pipeline's stages.".to_owned());
            return Err(errors);
        };
        if stage.outcome == "lost" {
            errors.push("Stage: a new deal cannot start lost.".to_owned());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DealFields {
            pipeline_id,
            stage_id: stage.id,
            title,
            value,
            currency,
            expected_close,
            owner_id: Some(owner),
            contact_id: Uuid::try_parse(self.contact.trim()).ok(),
            conversation_id: Uuid::try_parse(self.conversation.trim()).ok(),
        })
    }
}
