//! Campaigns (owners and admins): compose, preview, test, start or
//! schedule, then watch and control; the report and its CSV.

mod control;
mod form;
mod opt_out;
mod progress;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::local_time;
use crate::error::{AppError, Result};
use crate::features::campaigns::message::{self, Made, SOURCES};
use crate::infra::db;
use crate::infra::db::campaigns::{Campaign, Counts, Listed, Pending};
use crate::infra::db::channels::ChannelKind;
use crate::infra::tenancy::capability::RunCampaigns;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use form::CampaignForm;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(index).post(create))
        .route("/campaigns/new", get(new))
        .route("/campaigns/opt-out", get(opt_out::show).post(opt_out::save))
        .route("/campaigns/{id}", get(show).post(update))
        .route("/campaigns/{id}/test", post(control::test_send))
        .route("/campaigns/{id}/start", post(control::start))
        .route("/campaigns/{id}/schedule", post(control::schedule))
        .route("/campaigns/{id}/unschedule", post(control::unschedule))
        .route("/campaigns/{id}/pause", post(control::pause))
        .route("/campaigns/{id}/resume", post(control::resume))
        .route("/campaigns/{id}/cancel", post(control::cancel))
        .route("/campaigns/{id}/delete", post(control::delete))
        .route("/campaigns/{id}/progress", get(progress::fragment))
        .route("/campaigns/{id}/events", get(progress::events))
        .route("/campaigns/{id}/recipients.csv", get(progress::export))
}

async fn found(tenant: &mut Tenant<RunCampaigns>, id: Uuid) -> Result<Campaign> {
    db::campaigns::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns/index.html")]
pub struct IndexPage {
    page: Page,
    campaigns: Vec<Listed>,
    time_zone: String,
}

impl IndexPage {
    fn when(&self, c: &Listed) -> String {
        c.started_at
            .or(c.scheduled_at)
            .map(|at| local_time::shown(at, &self.time_zone))
            .unwrap_or_default()
    }
}

async fn time_zone(tenant: &mut Tenant<RunCampaigns>) -> Result<String> {
    Ok(db::orgs::time_zone(&mut tenant.tx).await?)
}

async fn index(mut tenant: Tenant<RunCampaigns>) -> Result<Response> {
    let campaigns = db::campaigns::list(&mut tenant.tx).await?;
    let time_zone = time_zone(&mut tenant).await?;
    tenant.tx.commit().await?;
    Ok(IndexPage {
        page: tenant.page,
        campaigns,
        time_zone,
    }
    .into_response())
}

/// What a draft's form offers to choose from.
pub struct Choices {
    channels: Vec<(String, String, bool)>,
    labels: Vec<(Uuid, String)>,
    attributes: Vec<(String, String)>,
    /// `name|language` and how it reads, of every number.
    templates: Vec<(String, String)>,
}

async fn choices(tenant: &mut Tenant<RunCampaigns>) -> Result<Choices> {
    let tx = &mut tenant.tx;
    let channels = db::channels::list(tx).await?;
    let mut templates = vec![];
    for channel in channels
        .iter()
        .filter(|c| c.kind == ChannelKind::WhatsappCloud)
    {
        for t in db::templates::list(tx, channel.id).await? {
            if t.can_send() {
                // The variable rows fill its values in this order.
                let values: Vec<String> = t
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(i, p)| format!("{}. {}", i + 1, p.label))
                    .collect();
                templates.push((
                    format!("{}|{}", t.name, t.language),
                    format!(
                        "{} ({}, {} value(s){}{}) · {}: {}",
                        t.name,
                        t.language,
                        values.len(),
                        if values.is_empty() { "" } else { ": " },
                        values.join(", "),
                        channel.name,
                        t.body
                    ),
                ));
            }
        }
    }
    Ok(Choices {
        channels: channels
            .iter()
            .map(|c| {
                (
                    c.id.to_string(),
                    c.name.clone(),
                    c.kind == ChannelKind::WhatsappCloud,
                )
            })
            .collect(),
        labels: db::labels::list(tx)
            .await?
            .into_iter()
            .map(|l| (l.id, l.name))
            .collect(),
        attributes: db::attributes::list(tx, db::attributes::Entity::Contact)
            .await?
            .into_iter()
            .map(|a| (a.key, a.label))
            .collect(),
        templates,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns/edit.html")]
pub struct EditPage {
    page: Page,
    /// `None`: a new campaign.
    campaign: Option<Campaign>,
    form: CampaignForm,
    errors: Vec<String>,
    choices: Choices,
    sources: [(&'static str, &'static str); 7],
    audience: Option<(i64, i64)>,
    sample: Vec<(Uuid, String, Option<String>)>,
    preview: Option<Preview>,
    /// Now, in the workspace's zone (the schedule field's minimum).
    now_local: String,
    linked_phone_rate: i32,
}

impl EditPage {
    fn action(&self) -> String {
        match &self.campaign {
            Some(c) => format!("/campaigns/{}", c.id),
            None => "/campaigns".to_owned(),
        }
    }
}

/// The message as a contact of the segment gets it.
pub struct Preview {
    contact_id: Uuid,
    contact: String,
    /// The message, or why this contact would be skipped.
    text: std::result::Result<String, String>,
}

fn preview_of(content: &message::Content, contact: &Pending) -> Preview {
    Preview {
        contact_id: contact.contact_id,
        contact: match &contact.phone {
            Some(phone) => format!("{} ({phone})", contact.name),
            None => contact.name.clone(),
        },
        text: content.make_for(contact).map(|made| match made {
            Made::Template { shown, .. } => shown,
            Made::Text(text) => text,
        }),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShowParams {
    /// The contact to preview with.
    preview: String,
}

async fn edit_page(
    status: StatusCode,
    mut tenant: Tenant<RunCampaigns>,
    campaign: Option<Campaign>,
    form: CampaignForm,
    errors: Vec<String>,
    preview_contact: Option<Uuid>,
) -> Result<Response> {
    let choices = choices(&mut tenant).await?;
    let (mut audience, mut sample, mut preview) = (None, vec![], None);
    if let Some(c) = &campaign {
        let segment = c.segment();
        audience = Some(db::campaigns::audience(&mut tenant.tx, &segment).await?);
        sample = db::campaigns::sample(&mut tenant.tx, &segment, 20).await?;
        let chosen = preview_contact
            .filter(|id| sample.iter().any(|(s, _, _)| s == id))
            .or(sample.first().map(|(id, _, _)| *id));
        preview = match (chosen, message::prepare(&mut tenant.tx, c).await?) {
            (Some(id), Ok(content)) => db::campaigns::contact_for_preview(&mut tenant.tx, id)
                .await?
                .map(|contact| preview_of(&content, &contact)),
            (_, Err(why)) => Some(Preview {
                contact_id: Uuid::nil(),
                contact: String::new(),
                text: Err(why),
            }),
            (None, Ok(_)) => None,
        };
    }
    let zone = time_zone(&mut tenant).await?;
    tenant.tx.commit().await?;
    let page = EditPage {
        page: tenant.page,
        campaign,
        form,
        errors,
        choices,
        sources: SOURCES,
        audience,
        sample,
        preview,
        now_local: local_time::input_value(time::OffsetDateTime::now_utc(), &zone),
        linked_phone_rate: crate::features::campaigns::LINKED_PHONE_RATE_PER_MINUTE,
    };
    Ok((status, page).into_response())
}

async fn new(tenant: Tenant<RunCampaigns>) -> Result<Response> {
    edit_page(
        StatusCode::OK,
        tenant,
        None,
        CampaignForm::default(),
        vec![],
        None,
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant<RunCampaigns>,
    HtmlForm(typed): HtmlForm<CampaignForm>,
) -> Result<Response> {
    let fields = match form::parse(&mut tenant.tx, &typed, &state.config).await? {
        Ok(fields) => fields,
        Err(errors) => {
            return edit_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                None,
                typed,
                errors,
                None,
            )
            .await;
        }
    };
    let id = db::campaigns::insert(&mut tenant.tx, &fields, tenant.member.user_id).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Campaign saved as a draft: check the preview, send yourself a test, then start it.",
        )
        .await?;
    Ok(Redirect::to(&format!("/campaigns/{id}")).into_response())
}

/// A draft's form and preview; a started campaign's progress and report.
async fn show(
    State(state): State<AppState>,
    mut tenant: Tenant<RunCampaigns>,
    PathId(id): PathId,
    Query(params): Query<ShowParams>,
) -> Result<Response> {
    let campaign = found(&mut tenant, id).await?;
    if campaign.is_draft() {
        let form = CampaignForm::of(&campaign);
        let chosen = Uuid::try_parse(&params.preview).ok();
        return edit_page(StatusCode::OK, tenant, Some(campaign), form, vec![], chosen).await;
    }
    progress::page(&state, tenant, campaign).await
}

async fn update(
    State(state): State<AppState>,
    mut tenant: Tenant<RunCampaigns>,
    PathId(id): PathId,
    HtmlForm(typed): HtmlForm<CampaignForm>,
) -> Result<Response> {
    let campaign = found(&mut tenant, id).await?;
    if !campaign.is_draft() {
        return Err(AppError::Conflict(
            "This campaign has started: it can no longer be changed (pause or cancel it instead)."
                .into(),
        ));
    }
    let fields = match form::parse(&mut tenant.tx, &typed, &state.config).await? {
        Ok(fields) => fields,
        Err(errors) => {
            return edit_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                Some(campaign),
                typed,
                errors,
                None,
            )
            .await;
        }
    };
    db::campaigns::update(&mut tenant.tx, campaign.id, &fields).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Campaign saved.")
        .await?;
    Ok(Redirect::to(&format!("/campaigns/{}", campaign.id)).into_response())
}

/// Counts as the page shows them: each state with its share.
pub fn shares(counts: &Counts) -> Vec<(&'static str, i64, String)> {
    let total = counts.total().max(1) as f64;
    [
        ("Waiting", counts.pending),
        ("Queued", counts.queued),
        ("Sent", counts.sent),
        ("Delivered", counts.delivered),
        ("Read", counts.read),
        ("Replied", counts.replied),
        ("Failed", counts.failed),
        ("Skipped", counts.skipped),
    ]
    .into_iter()
    .map(|(what, n)| (what, n, format!("{:.1} %", n as f64 * 100.0 / total)))
    .collect()
}
