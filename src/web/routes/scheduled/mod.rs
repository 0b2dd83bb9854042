//! Scheduled messages ("send later"): scheduled from a conversation's
//! composer at a time in the workspace's time zone, listed for the
//! workspace, and changed, canceled or sent at once until they go. Every
//! member who can see the conversation may do each.

mod edit;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::routing::{get, post};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::local_time;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::conversations::{Conversation, Visibility};
use crate::infra::db::scheduled::{Draft, Fallback, Scheduled};
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::routes::inbox::visible_conversation;

/// Upcoming messages listed (the soonest).
const UPCOMING_SHOWN: i64 = 200;
/// Sent, failed and canceled ones listed (the latest).
const RECENT_SHOWN: i64 = 50;
/// WhatsApp's limit for a text message body.
const MAX_TEXT: usize = 4096;
/// The furthest ahead a message may be scheduled.
const MAX_AHEAD: Duration = Duration::days(366);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox/{id}/schedule", post(edit::create))
        .route("/scheduled", get(index))
        .route("/scheduled/{id}", get(edit::show).post(edit::update))
        .route("/scheduled/{id}/cancel", post(edit::cancel))
        .route("/scheduled/{id}/send-now", post(edit::send_now))
}

/// A scheduled message with its time on the workspace's clock.
pub struct Row {
    pub item: Scheduled,
    pub when: String,
}

impl Row {
    fn all(items: Vec<Scheduled>, time_zone: &str) -> Vec<Row> {
        items
            .into_iter()
            .map(|item| Row {
                when: local_time::shown(item.send_at, time_zone),
                item,
            })
            .collect()
    }
}

/// An approved template offered as the fallback: `value` is `name|language`.
pub struct TemplateChoice {
    pub value: String,
    pub name: String,
    pub language: String,
    pub body: String,
    /// What each of its values is (header, body, buttons), in the order
    /// of the value lines.
    pub values: Vec<String>,
}

impl TemplateChoice {
    /// Its values named in order, for the option's text.
    pub fn values_shown(&self) -> String {
        self.values.join(", ")
    }
}

/// The sendable templates of a conversation's number (none off Cloud API).
async fn template_choices(tx: &mut TenantTx, channel_id: Uuid) -> Result<Vec<TemplateChoice>> {
    let templates = db::templates::list(tx, channel_id).await?;
    Ok(templates
        .into_iter()
        .filter(db::templates::Template::can_send)
        .map(|t| TemplateChoice {
            value: format!("{}|{}", t.name, t.language),
            values: t.fields().into_iter().map(|p| p.label).collect(),
            name: t.name,
            language: t.language,
            body: t.body,
        })
        .collect())
}

/// The workspace's IANA time zone.
async fn time_zone(tx: &mut TenantTx) -> Result<String> {
    Ok(db::orgs::time_zone(tx).await?)
}

/// What the conversation page shows beside its composer: this
/// conversation's upcoming messages and the "send later" form's choices.
pub struct ComposerPart {
    pub upcoming: Vec<Row>,
    /// A Cloud API number: a fallback template can be chosen.
    pub cloud: bool,
    pub templates: Vec<TemplateChoice>,
    pub time_zone: String,
    /// The earliest time the field offers (now, on the workspace's clock).
    pub earliest: String,
}

pub async fn composer_part(
    tx: &mut TenantTx,
    conversation: &Conversation,
    viewer: Uuid,
    visibility: Visibility,
) -> Result<ComposerPart> {
    let time_zone = time_zone(tx).await?;
    let upcoming =
        db::scheduled::upcoming(tx, viewer, visibility, Some(conversation.id), 20).await?;
    let cloud = db::cloud_channels::find(tx, conversation.channel_id)
        .await?
        .is_some();
    let templates = template_choices(tx, conversation.channel_id).await?;
    Ok(ComposerPart {
        upcoming: Row::all(upcoming, &time_zone),
        cloud,
        templates,
        earliest: local_time::input_value(OffsetDateTime::now_utc(), &time_zone),
        time_zone,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "scheduled/index.html")]
pub struct ListPage {
    page: Page,
    time_zone: String,
    upcoming: Vec<Row>,
    recent: Vec<Row>,
}

async fn index(mut tenant: Tenant) -> Result<ListPage> {
    let viewer = tenant.member.user_id;
    let visibility = tenant.member.visibility();
    let time_zone = time_zone(&mut tenant.tx).await?;
    let upcoming =
        db::scheduled::upcoming(&mut tenant.tx, viewer, visibility, None, UPCOMING_SHOWN).await?;
    let recent = db::scheduled::recent(&mut tenant.tx, viewer, visibility, RECENT_SHOWN).await?;
    tenant.tx.commit().await?;
    Ok(ListPage {
        page: tenant.page,
        upcoming: Row::all(upcoming, &time_zone),
        recent: Row::all(recent, &time_zone),
        time_zone,
    })
}

/// The scheduled message `id` if the member may see its conversation.
async fn visible(tenant: &mut Tenant, id: Uuid) -> Result<Scheduled> {
    let viewer = tenant.member.user_id;
    let visibility = tenant.member.visibility();
    db::scheduled::find(&mut tenant.tx, id, viewer, visibility)
        .await?
        .ok_or(AppError::NotFound)
}

/// The "send later" form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ScheduleForm {
    text: String,
    /// A `datetime-local` value, on the workspace's clock.
    send_at: String,
    /// The fallback template as `name|language`; empty for none.
    template: String,
    /// Its values in order: a field each, or lines of one field.
    values: Vec<String>,
    /// A local path to go back to afterwards.
    return_to: String,
}

impl ScheduleForm {
    /// The form filled from a waiting message, for editing.
    fn of(item: &Scheduled, time_zone: &str) -> ScheduleForm {
        let fallback = item.fallback();
        ScheduleForm {
            text: item.body.clone(),
            send_at: local_time::input_value(item.send_at, time_zone),
            template: fallback
                .as_ref()
                .map(|f| format!("{}|{}", f.name, f.language))
                .unwrap_or_default(),
            values: fallback.map(|f| f.values).unwrap_or_default(),
            return_to: String::new(),
        }
    }

    /// The values, one a line (the form's textarea).
    pub fn values_text(&self) -> String {
        self.values().join("\n")
    }

    fn values(&self) -> Vec<String> {
        self.values
            .iter()
            .flat_map(|field| field.lines())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Where to go afterwards: the local path given, else `default`.
    fn return_to(&self, default: &str) -> String {
        super::safe_next(self.return_to.trim())
            .unwrap_or(default)
            .to_owned()
    }

    /// The message to store, or every reason it cannot be (in words).
    async fn parse(
        &self,
        tx: &mut TenantTx,
        channel_id: Uuid,
        time_zone: &str,
    ) -> Result<std::result::Result<Draft, Vec<String>>> {
        let mut errors = Vec::new();
        let body = self.text.trim();
        if body.is_empty() {
            errors.push("The message is empty: type something to send.".to_owned());
        } else if body.chars().count() > MAX_TEXT {
            errors.push(format!(
                "The message is too long ({MAX_TEXT} characters at most)."
            ));
        }
        let now = OffsetDateTime::now_utc();
        let send_at = match local_time::parse(&self.send_at, time_zone) {
            Ok(at) if at <= now => {
                errors.push(format!(
                    "Pick a time in the future (it is {} now in {time_zone}).",
                    local_time::shown(now, time_zone)
                ));
                None
            }
            Ok(at) if at > now + MAX_AHEAD => {
                errors.push("Pick a time within a year from now.".to_owned());
                None
            }
            Ok(at) => Some(at),
            Err(e) => {
                errors.push(format!("Time: {e}"));
                None
            }
        };
        let fallback = match self.template.trim() {
            "" => None,
            chosen => match chosen.split_once('|') {
                Some((name, language)) if !name.is_empty() && !language.is_empty() => {
                    let fallback = Fallback {
                        name: name.to_owned(),
                        language: language.to_owned(),
                        values: self.values(),
                    };
                    if let Some(refused) = crate::features::inbox::scheduled::fallback_refused(
                        tx, channel_id, &fallback,
                    )
                    .await?
                    {
                        errors.push(format!("Fallback {refused}"));
                    }
                    Some(fallback)
                }
                _ => {
                    errors.push("Fallback template: pick one from the list.".to_owned());
                    None
                }
            },
        };
        Ok(match send_at {
            Some(send_at) if errors.is_empty() => Ok(Draft {
                body: body.to_owned(),
                send_at,
                fallback,
            }),
            _ => Err(errors),
        })
    }
}
