//! WhatsApp numbers (Cloud API channels), for owners and admins: connect
//! one (its token and app secret are sealed and never shown again), see the
//! callback URL and verify token to paste into Meta's dashboard, check the
//! connection, disable, delete.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::channels::cloud_api::connect::{self, ConnectError, NumberSettings};
use crate::channels::cloud_api::templates::GraphTemplate;
use crate::error::{AppError, Result};
use crate::features::audit;
use crate::features::billing::limits::{self, Counted};
use crate::infra::db;
use crate::infra::db::cloud_channels::CloudChannel;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Template, WebTemplate)]
#[template(path = "settings/channels.html")]
pub struct ChannelsPage {
    page: Page,
    channels: Vec<CloudChannel>,
    form: NumberSettings,
    errors: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/channel.html")]
pub struct ChannelPage {
    page: Page,
    channel: CloudChannel,
    callback_url: String,
    conversations: i64,
    messages: i64,
    /// The outcome of "check connection", if just run.
    check: Option<std::result::Result<String, String>>,
    templates: Vec<db::templates::Template>,
    /// Some template is in review: the list polls for its outcome.
    polling: bool,
}

/// The number's templates alone, as the page shows them: what htmx polls
/// while any is in review.
#[derive(Template, WebTemplate)]
#[template(path = "settings/channel_templates.html")]
pub struct TemplateList {
    page: Page,
    channel: CloudChannel,
    templates: Vec<db::templates::Template>,
    polling: bool,
}

fn any_in_review(templates: &[db::templates::Template]) -> bool {
    templates.iter().any(db::templates::Template::in_review)
}

async fn list_page(
    status: StatusCode,
    mut tenant: Tenant<ManageSettings>,
    form: NumberSettings,
    errors: Vec<String>,
) -> Result<Response> {
    let channels = db::cloud_channels::list(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    let page = ChannelsPage {
        page: tenant.page,
        channels,
        form: form.without_secrets(),
        errors,
    };
    Ok((status, page).into_response())
}

pub async fn index(tenant: Tenant<ManageSettings>) -> Result<Response> {
    list_page(StatusCode::OK, tenant, NumberSettings::default(), vec![]).await
}

pub async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<NumberSettings>,
) -> Result<Response> {
    limits::check_one(&state.config, &mut tenant.tx, Counted::Channels).await??;
    let connected = match connect::connect(&mut tenant.tx, &state.secrets, &form).await {
        Ok(connected) => connected,
        Err(ConnectError::Invalid(errors)) => {
            return list_page(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await;
        }
        Err(ConnectError::NumberTaken) => {
            let errors = vec![connect::NUMBER_TAKEN.to_owned()];
            return list_page(StatusCode::CONFLICT, tenant, form, errors).await;
        }
        Err(ConnectError::Failed(e)) => return Err(AppError::Internal(e)),
    };
    let id = connected.id;
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "channel.connected",
        &form.name,
        &[("channel", &id.to_string()), ("kind", "whatsapp_cloud")],
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Number added. Paste the callback URL and verify token below into Meta's dashboard.",
        )
        .await?;
    Ok(Redirect::to(&format!("/settings/channels/{id}")).into_response())
}

async fn detail_page(
    state: &AppState,
    mut tenant: Tenant<ManageSettings>,
    channel: CloudChannel,
    check: Option<std::result::Result<String, String>>,
) -> Result<Response> {
    let (conversations, messages) = db::cloud_channels::history(&mut tenant.tx, channel.id).await?;
    let templates = db::templates::list(&mut tenant.tx, channel.id).await?;
    tenant.tx.commit().await?;
    let callback_url = state.url(&format!("/webhooks/whatsapp/{}", channel.id));
    Ok(ChannelPage {
        page: tenant.page,
        channel,
        callback_url,
        conversations,
        messages,
        check,
        polling: any_in_review(&templates),
        templates,
    }
    .into_response())
}

/// The template list of the number's page, current (status webhooks and
/// syncs change it); polled by the page while a template is in review.
pub async fn template_list(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Response> {
    let channel = found(&mut tenant, id).await?;
    let templates = db::templates::list(&mut tenant.tx, channel.id).await?;
    tenant.tx.commit().await?;
    Ok(TemplateList {
        page: tenant.page,
        channel,
        polling: any_in_review(&templates),
        templates,
    }
    .into_response())
}

pub async fn show(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Response> {
    let channel = found(&mut tenant, id).await?;
    detail_page(&state, tenant, channel, None).await
}

/// The channel's access token, opened.
fn access_token(state: &AppState, org_id: Uuid, channel: &CloudChannel) -> Result<String> {
    crate::channels::cloud_api::access_token(&state.secrets, org_id, channel)
        .map_err(AppError::Internal)
}

/// The workspace's channel with this id, or 404.
async fn found(tenant: &mut Tenant<ManageSettings>, id: Uuid) -> Result<CloudChannel> {
    db::cloud_channels::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Reads the business account's templates from the Graph API and keeps
/// them (replacing the last sync).
pub async fn sync_templates(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Response> {
    let channel = found(&mut tenant, id).await?;
    let token = access_token(&state, tenant.member.org_id, &channel)?;
    match state.graph.templates(&channel.waba_id, &token).await {
        Ok(templates) => {
            let stored: Vec<_> = templates.iter().map(GraphTemplate::to_stored).collect();
            db::templates::replace(&mut tenant.tx, channel.id, &stored).await?;
            tenant.tx.commit().await?;
            tenant
                .session
                .flash(
                    FlashKind::Success,
                    format!("{} templates synced from WhatsApp.", templates.len()),
                )
                .await?;
        }
        Err(e) => {
            tenant.tx.commit().await?;
            tenant
                .session
                .flash(
                    FlashKind::Error,
                    format!("The templates could not be read: {e}"),
                )
                .await?;
        }
    }
    Ok(Redirect::to(&format!("/settings/channels/{}", channel.id)).into_response())
}

/// Asks the Graph API about the number with the stored token: its name as
/// WhatsApp shows it, or Graph's error in words.
pub async fn check(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Response> {
    let mut channel = found(&mut tenant, id).await?;
    let token = access_token(&state, tenant.member.org_id, &channel)?;
    let outcome = match state
        .graph
        .phone_number(&channel.phone_number_id, &token)
        .await
    {
        Ok(number) => {
            let shown = match (number.verified_name, number.display_phone_number) {
                (Some(name), Some(phone)) => format!("{name} ({phone})"),
                (Some(one), None) | (None, Some(one)) => one,
                (None, None) => "the number (WhatsApp gave no name)".to_owned(),
            };
            db::cloud_channels::set_display_name(&mut tenant.tx, channel.id, &shown).await?;
            channel.display_name = Some(shown.clone());
            Ok(shown)
        }
        Err(e) => Err(e.to_string()),
    };
    detail_page(&state, tenant, channel, Some(outcome)).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EnabledForm {
    enabled: String,
}

pub async fn set_enabled(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<EnabledForm>,
) -> Result<Redirect> {
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::Unprocessable("Choose enable or disable.".into())),
    };
    if !db::cloud_channels::set_enabled(&mut tenant.tx, id, enabled).await? {
        return Err(AppError::NotFound);
    }
    let action = if enabled {
        "channel.enabled"
    } else {
        "channel.disabled"
    };
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        action,
        &id.to_string(),
        &[],
    )
    .await?;
    tenant.tx.commit().await?;
    let said = if enabled {
        "Number enabled: messages are received and sent again."
    } else {
        "Number disabled: nothing is sent, and Meta holds new messages (it retries for several days) until it is enabled again."
    };
    tenant.session.flash(FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/settings/channels/{id}")))
}

pub async fn delete(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Redirect> {
    if !db::cloud_channels::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "channel.disconnected",
        &id.to_string(),
        &[("kind", "whatsapp_cloud")],
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Number deleted, with its conversations and messages.",
        )
        .await?;
    Ok(Redirect::to("/settings/channels"))
}
