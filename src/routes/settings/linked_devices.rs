//! WhatsApp Web channels (linked devices), for owners and admins: link a
//! phone by QR code or pairing code, watch the session's state live,
//! unlink, link again.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::AppState;
use crate::db;
use crate::db::web_sessions::{Listed, WebSession, WebStatus};
use crate::error::{AppError, Result};
use crate::tenancy::capability::ManageSettings;
use crate::tenancy::member::{Page, Tenant};
use crate::whatsapp_web::store::SessionStore;

#[derive(Template, WebTemplate)]
#[template(path = "settings/linked_devices.html")]
pub struct ListPage {
    page: Page,
    devices: Vec<Listed>,
    form: LinkForm,
    errors: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/linked_device.html")]
pub struct DevicePage {
    page: Page,
    name: String,
    view: StatusView,
}

/// The part of the page that follows the session (polled by htmx).
#[derive(Template, WebTemplate)]
#[template(path = "settings/linked_device_status.html")]
pub struct StatusView {
    channel_id: Uuid,
    status: WebStatus,
    /// The QR code to scan, as SVG (made here from the session's code).
    qr_svg: Option<String>,
    pair_code: Option<String>,
    phone: Option<String>,
    display_name: Option<String>,
    csrf_token: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinkForm {
    name: String,
    /// Link by a code typed on this phone instead of a scan.
    phone: String,
}

/// A phone number as WhatsApp wants it: digits with the country code.
fn pair_phone(input: &str) -> std::result::Result<Option<String>, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    if !trimmed.chars().all(allowed) || !(6..=15).contains(&digits.len()) {
        return Err(format!(
            "“{trimmed}” is not a phone number: give it with its country code, e.g. +1 650 555 1234."
        ));
    }
    Ok(Some(digits))
}

fn channel_id(id: &str) -> Result<Uuid> {
    Uuid::try_parse(id).map_err(|_| AppError::NotFound)
}

async fn list_page(
    status: StatusCode,
    mut tenant: Tenant<ManageSettings>,
    form: LinkForm,
    errors: Vec<String>,
) -> Result<Response> {
    let devices = db::web_sessions::list(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok((
        status,
        ListPage {
            page: tenant.page,
            devices,
            form,
            errors,
        },
    )
        .into_response())
}

pub async fn index(tenant: Tenant<ManageSettings>) -> Result<Response> {
    list_page(StatusCode::OK, tenant, LinkForm::default(), vec![]).await
}

pub async fn create(
    mut tenant: Tenant<ManageSettings>,
    Form(form): Form<LinkForm>,
) -> Result<Response> {
    let mut errors = vec![];
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("Give the phone a name of up to 100 characters.".to_owned());
    }
    let phone = pair_phone(&form.phone).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return list_page(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await;
    }
    let id = db::web_sessions::create(&mut tenant.tx, name, phone.as_deref()).await?;
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/settings/linked-devices/{id}")).into_response())
}

/// The workspace's linked-device channel with this id (name, session), or 404.
async fn found(tenant: &mut Tenant<ManageSettings>, id: &str) -> Result<(String, WebSession)> {
    let id = channel_id(id)?;
    let name = db::web_sessions::name(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let session = db::web_sessions::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((name, session))
}

fn status_view(
    state: &AppState,
    org_id: Uuid,
    page: &Page,
    session: WebSession,
) -> Result<StatusView> {
    let now = OffsetDateTime::now_utc();
    let current = |expires: Option<OffsetDateTime>| expires.is_some_and(|at| at > now);
    let waiting = session.status == WebStatus::Waiting;
    let qr_svg = match (
        &session.qr_sealed,
        waiting && current(session.qr_expires_at),
    ) {
        (Some(sealed), true) => {
            let purpose = crate::whatsapp_web::events::qr_purpose(session.channel_id);
            let code = state
                .secrets
                .open(org_id, &purpose, sealed)
                .map_err(|e| AppError::Internal(e.into()))?;
            Some(qr_svg(&code)?)
        }
        _ => None,
    };
    let pair_code = session
        .pair_code
        .filter(|_| waiting && current(session.pair_code_expires_at));
    Ok(StatusView {
        channel_id: session.channel_id,
        status: session.status,
        qr_svg,
        pair_code,
        phone: session.phone,
        display_name: session.display_name,
        csrf_token: page.csrf_token.clone(),
    })
}

/// A QR code as an SVG image (black on white, a quiet zone around it).
fn qr_svg(code: &[u8]) -> Result<String> {
    let qr = qrcode::QrCode::new(code).map_err(|e| AppError::Internal(e.into()))?;
    Ok(qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(264, 264)
        .quiet_zone(true)
        .build())
}

pub async fn show(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    Path(id): Path<String>,
) -> Result<Response> {
    let (name, session) = found(&mut tenant, &id).await?;
    tenant.tx.commit().await?;
    let view = status_view(&state, tenant.member.org_id, &tenant.page, session)?;
    Ok(DevicePage {
        page: tenant.page,
        name,
        view,
    }
    .into_response())
}

/// Only the session's part of the page (htmx polls it).
pub async fn status(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    Path(id): Path<String>,
) -> Result<Response> {
    let (_, session) = found(&mut tenant, &id).await?;
    tenant.tx.commit().await?;
    Ok(status_view(&state, tenant.member.org_id, &tenant.page, session)?.into_response())
}

/// Unlinks the phone: the process running the session logs it out (the
/// phone's "Linked devices" list drops wacrm) and forgets its keys.
pub async fn unlink(
    mut tenant: Tenant<ManageSettings>,
    Path(id): Path<String>,
) -> Result<Redirect> {
    let (_, session) = found(&mut tenant, &id).await?;
    db::web_sessions::set_status(&mut tenant.tx, session.channel_id, WebStatus::Unlinked).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash("success", "Unlinked: wacrm no longer receives or sends this phone's messages. The conversations stay.")
        .await?;
    Ok(Redirect::to(&format!(
        "/settings/linked-devices/{}",
        session.channel_id
    )))
}

/// Links again after a logout, an unlink or an expired code.
pub async fn relink(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    Path(id): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Response> {
    let (_, session) = found(&mut tenant, &id).await?;
    let phone = pair_phone(&form.phone).map_err(AppError::Unprocessable)?;
    if !session.status.is_over() {
        return Err(AppError::Conflict(
            "This phone is still linked or being linked.".into(),
        ));
    }
    if !db::web_sessions::relink(&mut tenant.tx, session.channel_id, phone.as_deref()).await? {
        return Err(AppError::Conflict(
            "The last session is still closing; try again in a few seconds.".into(),
        ));
    }
    // Nobody runs it: the old keys can go.
    let store = SessionStore::new(
        state.pool.clone(),
        state.secrets.clone(),
        tenant.member.org_id,
        session.channel_id,
    );
    tenant.tx.commit().await?;
    store
        .clear()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(Redirect::to(&format!("/settings/linked-devices/{}", session.channel_id)).into_response())
}
