//! What an owner or admin does to a campaign: test it, start or schedule
//! it, pause, resume, cancel, delete.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::found;
use crate::domain::{MessageKind, PhoneE164, local_time};
use crate::error::{AppError, Result};
use crate::features::campaigns::message::{self, Made};
use crate::features::inbox::outbound::{self, Outgoing, Target};
use crate::infra::db;
use crate::infra::db::campaigns::{Campaign, CampaignState};
use crate::infra::db::contacts::{Handle, Sender};
use crate::infra::jobs;
use crate::infra::tenancy::capability::RunCampaigns;
use crate::infra::tenancy::member::Tenant;
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// The campaign, locked until the transaction ends (a state change waits
/// for a dispatch step, and the other way round).
async fn locked(tenant: &mut Tenant<RunCampaigns>, id: Uuid) -> Result<Campaign> {
    db::campaigns::lock(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

fn back(campaign: &Campaign) -> Response {
    Redirect::to(&format!("/campaigns/{}", campaign.id)).into_response()
}

fn wrong_state(campaign: &Campaign, wanted: &str) -> AppError {
    AppError::Conflict(format!(
        "The campaign is {}: it can only be {wanted} {}.",
        campaign.state,
        match wanted {
            "started" | "scheduled" => "as a draft",
            "paused" => "while it runs",
            "resumed" => "while it is paused",
            "moved back to draft" => "while it is scheduled",
            "deleted" => "as a draft, or once done or canceled",
            _ => "now",
        }
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TestForm {
    phone: String,
    /// The contact whose data fills the message.
    preview: String,
}

/// Sends the message, made with a segment contact's data, to the member's
/// own number (a conversation in the inbox like any other).
pub async fn test_send(
    State(state): State<AppState>,
    mut tenant: Tenant<RunCampaigns>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<TestForm>,
) -> Result<Response> {
    let campaign = found(&mut tenant, id).await?;
    let country = db::orgs::default_country(&mut tenant.tx).await?;
    let phone = PhoneE164::parse(&form.phone, country)
        .map_err(|e| AppError::Unprocessable(format!("Your number: {e}")))?;
    let content = message::prepare(&mut tenant.tx, &campaign)
        .await?
        .map_err(AppError::Unprocessable)?;
    let sample = db::campaigns::sample(&mut tenant.tx, &campaign.segment(), 1).await?;
    let contact_id = Uuid::try_parse(&form.preview)
        .ok()
        .or(sample.first().map(|(id, _, _)| *id))
        .ok_or_else(|| {
            AppError::Unprocessable(
                "The segment has no contact to fill the message with: widen it first.".into(),
            )
        })?;
    let data = db::campaigns::contact_for_preview(&mut tenant.tx, contact_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let made = content
        .make_for(&data)
        .map_err(|why| AppError::Unprocessable(format!("{why}: pick another contact.")))?;
    let me = db::contacts::find_or_create(
        &mut tenant.tx,
        &[Sender {
            handle: Handle::Phone(phone.as_str()),
            profile_name: Some("Campaign tests"),
        }],
    )
    .await?;
    let me = me
        .get(phone.as_str())
        .ok_or_else(|| AppError::Conflict("That number's contact was just removed.".into()))?;
    let opened = db::conversations::find_or_open_all(
        &mut tenant.tx,
        campaign.channel_id,
        &BTreeMap::from([(me.id, OffsetDateTime::now_utc())]),
    )
    .await?;
    let conversation_id = *opened
        .get(&me.id)
        .ok_or_else(|| AppError::Conflict("No conversation could be opened.".into()))?;
    let target = Target {
        conversation_id,
        channel_id: campaign.channel_id,
    };
    let author = Some(tenant.member.user_id);
    match &made {
        Made::Template {
            template, values, ..
        } => {
            outbound::queue_approved_template(
                &mut tenant.tx,
                &state.secrets,
                target,
                author,
                template,
                values,
            )
            .await
            .map_err(|e| AppError::Unprocessable(e.to_string()))?;
        }
        Made::Text(text) => {
            let outgoing = Outgoing {
                kind: MessageKind::Text,
                text,
                reply_to: None,
                media: None,
            };
            outbound::queue_to(&mut tenant.tx, &state.secrets, target, author, &outgoing).await?;
        }
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!(
                "Test sent to {phone} with {}'s data: it is in the inbox.",
                data.name
            ),
        )
        .await?;
    Ok(back(&campaign))
}

/// A draft ready to go, or why not (its message, the plan's room).
async fn check_ready(
    state: &AppState,
    tenant: &mut Tenant<RunCampaigns>,
    campaign: &Campaign,
    verb: &str,
) -> Result<()> {
    if !campaign.is_draft() {
        return Err(wrong_state(campaign, verb));
    }
    message::prepare(&mut tenant.tx, campaign)
        .await?
        .map_err(AppError::Unprocessable)?;
    let (everyone, skipped) = db::campaigns::audience(&mut tenant.tx, &campaign.segment()).await?;
    if everyone - skipped == 0 {
        return Err(AppError::Unprocessable(
            "The segment has no contact to send to (after opted-out, blocked and number-less \
             contacts): widen it first."
                .into(),
        ));
    }
    let room = crate::features::billing::limits::room(
        &state.config,
        &mut tenant.tx,
        crate::features::billing::limits::Counted::CampaignRecipients,
    )
    .await?;
    match room {
        Ok(Some(room)) if room < everyone - skipped => Err(AppError::PlanLimit(format!(
            "This campaign would reach about {} contacts, and the plan allows {room} more \
             campaign recipients this month. Narrow the segment, or upgrade in Settings → Billing.",
            everyone - skipped
        ))),
        Err(over) => Err(AppError::PlanLimit(over.to_string())),
        Ok(_) => Ok(()),
    }
}

pub async fn start(
    State(state): State<AppState>,
    mut tenant: Tenant<RunCampaigns>,
    PathId(id): PathId,
) -> Result<Response> {
    let campaign = found(&mut tenant, id).await?;
    check_ready(&state, &mut tenant, &campaign, "started").await?;
    db::campaigns::schedule(&mut tenant.tx, campaign.id, OffsetDateTime::now_utc()).await?;
    let job = crate::features::campaigns::StartCampaign {
        org_id: tenant.member.org_id,
        campaign_id: campaign.id,
    };
    jobs::enqueue(tenant.tx.conn(), &state.secrets, &job).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Campaign starting: its recipients are being listed.",
        )
        .await?;
    Ok(back(&campaign))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScheduleForm {
    send_at: String,
}

pub async fn schedule(
    State(state): State<AppState>,
    mut tenant: Tenant<RunCampaigns>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ScheduleForm>,
) -> Result<Response> {
    let campaign = found(&mut tenant, id).await?;
    let zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let at = local_time::parse(&form.send_at, &zone)
        .map_err(|e| AppError::Unprocessable(format!("Start at: {e}")))?;
    let now = OffsetDateTime::now_utc();
    if at <= now {
        return Err(AppError::Unprocessable(
            "Start at: pick a time in the future (or start it now).".into(),
        ));
    }
    if at > now + time::Duration::days(366) {
        return Err(AppError::Unprocessable(
            "Start at: within a year from now.".into(),
        ));
    }
    check_ready(&state, &mut tenant, &campaign, "scheduled").await?;
    db::campaigns::schedule(&mut tenant.tx, campaign.id, at).await?;
    let job = crate::features::campaigns::StartCampaign {
        org_id: tenant.member.org_id,
        campaign_id: campaign.id,
    };
    jobs::enqueue_at(tenant.tx.conn(), &state.secrets, &job, Some(at)).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!(
                "Campaign scheduled for {} ({zone}).",
                local_time::shown(at, &zone)
            ),
        )
        .await?;
    Ok(back(&campaign))
}

/// A scheduled campaign back to draft (its start job then does nothing).
pub async fn unschedule(mut tenant: Tenant<RunCampaigns>, PathId(id): PathId) -> Result<Response> {
    let campaign = locked(&mut tenant, id).await?;
    if !campaign.state.is_scheduled() {
        return Err(wrong_state(&campaign, "moved back to draft"));
    }
    db::campaigns::set_state(&mut tenant.tx, campaign.id, CampaignState::Draft, None).await?;
    tenant.tx.commit().await?;
    Ok(back(&campaign))
}

pub async fn pause(mut tenant: Tenant<RunCampaigns>, PathId(id): PathId) -> Result<Response> {
    let campaign = locked(&mut tenant, id).await?;
    if !campaign.state.is_running() {
        return Err(wrong_state(&campaign, "paused"));
    }
    let who = tenant.page.user_name.clone().unwrap_or_default();
    let reason = format!(
        "Paused by {who}. Messages already handed to WhatsApp (at most a few seconds' worth) still go."
    );
    db::campaigns::set_state(
        &mut tenant.tx,
        campaign.id,
        CampaignState::Paused,
        Some(&reason),
    )
    .await?;
    tenant.tx.commit().await?;
    Ok(back(&campaign))
}

pub async fn resume(
    State(state): State<AppState>,
    mut tenant: Tenant<RunCampaigns>,
    PathId(id): PathId,
) -> Result<Response> {
    let campaign = locked(&mut tenant, id).await?;
    if !campaign.state.is_paused() {
        return Err(wrong_state(&campaign, "resumed"));
    }
    let run = db::campaigns::run(&mut tenant.tx, campaign.id).await?;
    crate::features::campaigns::enqueue_dispatch(&mut tenant.tx, &state.secrets, campaign.id, run)
        .await?;
    tenant.tx.commit().await?;
    Ok(back(&campaign))
}

pub async fn cancel(mut tenant: Tenant<RunCampaigns>, PathId(id): PathId) -> Result<Response> {
    let campaign = locked(&mut tenant, id).await?;
    if campaign.state.is_finished() {
        return Err(AppError::Conflict(format!(
            "The campaign is already {}.",
            campaign.state
        )));
    }
    let skipped = db::campaigns::skip_pending(
        &mut tenant.tx,
        campaign.id,
        "Campaign canceled before this recipient's turn",
    )
    .await?;
    db::campaigns::set_state(&mut tenant.tx, campaign.id, CampaignState::Canceled, None).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("Campaign canceled: {skipped} recipients will not get it."),
        )
        .await?;
    Ok(back(&campaign))
}

pub async fn delete(mut tenant: Tenant<RunCampaigns>, PathId(id): PathId) -> Result<Response> {
    let campaign = found(&mut tenant, id).await?;
    if !db::campaigns::delete(&mut tenant.tx, campaign.id).await? {
        return Err(wrong_state(&campaign, "deleted"));
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("Campaign “{}” deleted.", campaign.name),
        )
        .await?;
    Ok(Redirect::to("/campaigns").into_response())
}
