//! Campaigns and their recipients.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::ChannelKind;

pub use crate::domain::campaign_state::{CampaignState, RecipientState};

mod crud;
mod queue;
mod segment;
mod stats;

pub use crud::*;
pub use queue::*;
pub use segment::*;
pub use stats::*;

/// Where a template variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableSource {
    /// `first_name`, `name`, `phone`, `email`, `company`, `attribute` (its
    /// `key`) or `text` (the same `text` for everyone).
    pub source: String,
    #[serde(default)]
    pub key: String,
    /// The fixed text, or what to use when the contact's field is empty.
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub channel_id: Uuid,
    pub channel_kind: ChannelKind,
    pub channel_name: String,
    pub label_ids: Vec<Uuid>,
    pub attribute_key: Option<String>,
    pub attribute_value: Option<String>,
    pub wrote_within_days: Option<i32>,
    pub silent_for_days: Option<i32>,
    pub template_name: Option<String>,
    pub template_language: Option<String>,
    pub variables: sqlx::types::Json<Vec<VariableSource>>,
    pub body: Option<String>,
    pub rate_per_minute: i32,
    pub state: CampaignState,
    pub state_reason: Option<String>,
    pub scheduled_at: Option<OffsetDateTime>,
    pub started_at: Option<OffsetDateTime>,
    pub resumed_at: Option<OffsetDateTime>,
    pub queued_since_resume: i32,
    pub dispatch_run: i32,
    pub finished_at: Option<OffsetDateTime>,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

impl Campaign {
    pub fn segment(&self) -> Segment {
        Segment {
            label_ids: self.label_ids.clone(),
            attribute: self
                .attribute_key
                .clone()
                .map(|k| (k, self.attribute_value.clone().unwrap_or_default())),
            wrote_within_days: self.wrote_within_days,
            silent_for_days: self.silent_for_days,
        }
    }

    pub fn is_draft(&self) -> bool {
        self.state.is_draft()
    }
}
