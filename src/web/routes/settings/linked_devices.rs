//! WhatsApp Web channels (linked devices), for owners and admins: link a
//! phone by QR code or pairing code, watch the session's state live,
//! unlink, link again.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::channels::waha::client::{WahaSession, Webhook};
use crate::channels::waha::{API_KEY_PURPOSE, WEBHOOK_KEY_PURPOSE, network};
use crate::channels::whatsapp_web::store::SessionStore;
use crate::domain::WahaStatus;
use crate::error::{AppError, Result};
use crate::features::audit;
use crate::features::billing::limits::{self, Counted};
use crate::infra::db;
use crate::infra::db::waha_bridges::WahaBridge;
use crate::infra::db::web_sessions::{Listed, RunsOn, WebSession, WebStatus};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use crate::web::qr::qr_svg;
use url::Url;

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
    /// Whether its group chats are shown (see `linked_device_groups`).
    shows_groups: bool,
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
    /// The session runs on the workspace's WAHA server.
    on_waha: bool,
    /// Why the WAHA server could not be asked, if it could not.
    problem: Option<String>,
    /// Why the session is paused (replaced, banned, refused), and since when.
    paused: Option<(String, String)>,
    /// Days of chat history imported when linked, and messages so far.
    history_days: u16,
    history_imported: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinkForm {
    name: String,
    /// Link by a code typed on this phone instead of a scan.
    phone: String,
    /// `waha` to run the session on the workspace's WAHA server.
    runs_on: String,
    waha_url: String,
    waha_api_key: String,
    waha_session: String,
    /// Days of chat history to import when linked; empty for the default.
    history_days: String,
}

/// Days of chats a newly linked phone imports unless told otherwise.
const DEFAULT_HISTORY_DAYS: u16 = 30;

impl LinkForm {
    /// The history field as the form shows it.
    fn history_days_shown(&self) -> String {
        match self.history_days.trim() {
            "" => DEFAULT_HISTORY_DAYS.to_string(),
            given => given.to_owned(),
        }
    }
    fn on_waha(&self) -> bool {
        self.runs_on == "waha"
    }

    /// The WAHA session's name: `default` unless given.
    fn waha_session_name(&self) -> &str {
        match self.waha_session.trim() {
            "" => "default",
            name => name,
        }
    }
}

/// Where a WAHA-run phone's server is, checked; the reasons otherwise.
fn waha_target(state: &AppState, form: &LinkForm, errors: &mut Vec<String>) -> Option<Url> {
    let url = match Url::parse(form.waha_url.trim()) {
        Ok(url) => match network::refuse(&url, state.config.waha_allow_private_networks) {
            Some(reason) => {
                errors.push(format!("WAHA server: {reason}"));
                None
            }
            None => Some(url),
        },
        Err(_) => {
            errors
                .push("Give the WAHA server's address, e.g. https://waha.example.com.".to_owned());
            None
        }
    };
    let key = form.waha_api_key.trim();
    if key.is_empty() || key.len() > 500 {
        errors.push("Give the WAHA server's API key (its WAHA_API_KEY).".to_owned());
    }
    let name = form.waha_session_name();
    let valid_name = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_name {
        errors.push("A WAHA session name has up to 64 letters, digits, - and _.".to_owned());
    }
    url
}

/// Days of history to import: 0 to 365, the default when left empty.
fn history_days(input: &str) -> std::result::Result<u16, String> {
    match input.trim() {
        "" => Ok(DEFAULT_HISTORY_DAYS),
        given => given
            .parse::<u16>()
            .ok()
            .filter(|days| *days <= 365)
            .ok_or_else(|| {
                format!("“{given}” is not a number of days of history: give 0 (none) to 365.")
            }),
    }
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
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(mut form): HtmlForm<LinkForm>,
) -> Result<Response> {
    let mut errors = vec![];
    let name = form.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("Give the phone a name of up to 100 characters.".to_owned());
    }
    let phone = pair_phone(&form.phone).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let history_days = history_days(&form.history_days).unwrap_or_else(|e| {
        errors.push(e);
        0
    });
    let waha_url = form
        .on_waha()
        .then(|| waha_target(&state, &form, &mut errors))
        .flatten();
    // The key is never shown again, even on a page with errors.
    let api_key = std::mem::take(&mut form.waha_api_key).trim().to_owned();
    if !errors.is_empty() {
        return list_page(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await;
    }
    limits::check_one(&state.config, &mut tenant.tx, Counted::Channels).await??;
    let id = Uuid::now_v7();
    let org_id = tenant.member.org_id;
    let bridge = match waha_url {
        None => None,
        Some(url) => {
            let taken = db::waha_bridges::using_session(
                &mut tenant.tx,
                url.as_str(),
                form.waha_session_name(),
            )
            .await?;
            if taken.is_some() {
                let errors = vec![format!(
                    "The WAHA session “{}” on that server is already one of your linked phones: open it there and use “Link again”, or give another session name.",
                    form.waha_session_name()
                )];
                return list_page(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await;
            }
            let session = WahaSession {
                http: &state.waha_http,
                base_url: url.clone(),
                api_key: api_key.clone(),
                name: form.waha_session_name().to_owned(),
            };
            let webhook_key = crate::infra::tokens::random_secret().map_err(AppError::Internal)?;
            // WAHA is set up first: a server that refuses leaves nothing behind.
            if let Err(e) = set_up_waha(&state, &session, id, &webhook_key).await {
                let errors = vec![format!("The WAHA server could not be set up: {e}.")];
                return list_page(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await;
            }
            let bridge = WahaBridge {
                channel_id: id,
                base_url: url.to_string(),
                session_name: session.name.clone(),
                api_key_sealed: state.secrets.seal(
                    org_id,
                    API_KEY_PURPOSE,
                    id,
                    api_key.as_bytes(),
                )?,
                waha_status: None,
                webhook_key_sealed: state.secrets.seal(
                    org_id,
                    WEBHOOK_KEY_PURPOSE,
                    id,
                    webhook_key.as_bytes(),
                )?,
            };
            Some(bridge)
        }
    };
    let runs_on = if bridge.is_some() {
        RunsOn::Waha
    } else {
        RunsOn::Wacrm
    };
    db::web_sessions::create(
        &mut tenant.tx,
        id,
        &name,
        phone.as_deref(),
        history_days,
        runs_on,
    )
    .await?;
    if let Some(bridge) = &bridge {
        db::waha_bridges::create(&mut tenant.tx, bridge).await?;
    }
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "channel.connected",
        &name,
        &[("channel", &id.to_string()), ("kind", "whatsapp_web")],
    )
    .await?;
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/settings/linked-devices/{id}")).into_response())
}

/// Creates (or updates) the WAHA session with this channel's webhook and
/// starts it.
async fn set_up_waha(
    state: &AppState,
    session: &WahaSession<'_>,
    channel_id: Uuid,
    webhook_key: &str,
) -> std::result::Result<(), crate::channels::waha::client::WahaError> {
    let url = state.url(&crate::channels::waha::webhook_path(channel_id));
    let webhook = Webhook {
        url: &url,
        hmac_key: webhook_key,
    };
    session.set_up(&webhook).await
}

/// The channel's WAHA session, if it runs on WAHA.
async fn waha_of<'a>(
    state: &'a AppState,
    tenant: &mut Tenant<ManageSettings>,
    channel_id: Uuid,
) -> Result<Option<(WahaBridge, WahaSession<'a>)>> {
    let Some(bridge) = db::waha_bridges::find(&mut tenant.tx, channel_id).await? else {
        return Ok(None);
    };
    let session = crate::channels::waha::sender::session(
        &state.secrets,
        &state.waha_http,
        tenant.member.org_id,
        &bridge,
    )
    .map_err(AppError::Internal)?;
    Ok(Some((bridge, session)))
}

/// The workspace's linked-device channel with this id (name, session), or 404.
async fn found(tenant: &mut Tenant<ManageSettings>, id: Uuid) -> Result<(String, WebSession)> {
    let name = db::web_sessions::name(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let session = db::web_sessions::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((name, session))
}

/// The session's view; for a phone on WAHA waiting for a scan, with the
/// QR code WAHA shows now (asked for on each look: WAHA rotates it and
/// sends no event for that).
async fn current_view(
    state: &AppState,
    org_id: Uuid,
    page: &Page,
    session: WebSession,
    waha: Option<(WahaBridge, WahaSession<'_>)>,
) -> Result<StatusView> {
    let waiting_for_scan = session.status == WebStatus::Waiting && session.pair_phone.is_none();
    let mut view = status_view(state, org_id, page, session)?;
    view.on_waha = waha.is_some();
    let shows_qr = |bridge: &WahaBridge| bridge.waha_status == Some(WahaStatus::ScanQrCode);
    if let Some((_, waha)) = waha.filter(|(bridge, _)| waiting_for_scan && shows_qr(bridge)) {
        match waha.qr().await {
            Ok(Some(code)) => view.qr_svg = Some(qr_svg(code.as_bytes())?),
            Ok(None) => {}
            Err(e) => view.problem = Some(e.to_string()),
        }
    }
    Ok(view)
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
            let purpose = crate::channels::whatsapp_web::events::qr_purpose(session.channel_id);
            let code = state
                .secrets
                .open(org_id, &purpose, session.channel_id, sealed)
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
        on_waha: false,
        problem: None,
        paused: session
            .problem
            .map(|why| (why, session.problem_at.map(since).unwrap_or_default())),
        history_days: session.history_days,
        history_imported: session.history_imported,
    })
}

/// When a problem began, as the page says it (UTC).
fn since(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

pub async fn show(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Response> {
    let (name, session) = found(&mut tenant, id).await?;
    let waha = waha_of(&state, &mut tenant, session.channel_id).await?;
    let shows_groups = db::channels::shows_groups(&mut tenant.tx, id).await?;
    tenant.tx.commit().await?;
    let view = current_view(&state, tenant.member.org_id, &tenant.page, session, waha).await?;
    Ok(DevicePage {
        page: tenant.page,
        name,
        view,
        shows_groups,
    }
    .into_response())
}

/// Only the session's part of the page (htmx polls it).
pub async fn status(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Response> {
    let (_, session) = found(&mut tenant, id).await?;
    let waha = waha_of(&state, &mut tenant, session.channel_id).await?;
    tenant.tx.commit().await?;
    Ok(
        current_view(&state, tenant.member.org_id, &tenant.page, session, waha)
            .await?
            .into_response(),
    )
}

/// Unlinks the phone: the process running the session logs it out (the
/// phone's "Linked devices" list drops wacrm) and forgets its keys.
pub async fn unlink(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Redirect> {
    let (_, session) = found(&mut tenant, id).await?;
    let waha = waha_of(&state, &mut tenant, session.channel_id).await?;
    db::web_sessions::set_status(&mut tenant.tx, session.channel_id, WebStatus::Unlinked).await?;
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "channel.disconnected",
        &session.channel_id.to_string(),
        &[("kind", "whatsapp_web")],
    )
    .await?;
    tenant.tx.commit().await?;
    let logged_out = match waha {
        Some((_, waha)) => waha.log_out().await,
        None => Ok(()),
    };
    let (level, text) = match logged_out {
        Ok(()) => (FlashKind::Success, "Unlinked: wacrm no longer receives or sends this phone's messages. The conversations stay.".to_owned()),
        Err(e) => (FlashKind::Error, format!("Unlinked in wacrm, but the WAHA server did not log the phone out ({e}): remove the linked device on the phone.")),
    };
    tenant.session.flash(level, text).await?;
    Ok(Redirect::to(&format!(
        "/settings/linked-devices/{}",
        session.channel_id
    )))
}

/// Links again after a logout, an unlink or an expired code.
pub async fn relink(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<LinkForm>,
) -> Result<Response> {
    let (_, session) = found(&mut tenant, id).await?;
    let phone = pair_phone(&form.phone).map_err(AppError::Unprocessable)?;
    if !session.status.is_over() {
        return Err(AppError::Conflict(
            "This phone is still linked or being linked.".into(),
        ));
    }
    if let Some((bridge, waha)) = waha_of(&state, &mut tenant, session.channel_id).await? {
        let key = state
            .secrets
            .open(
                tenant.member.org_id,
                WEBHOOK_KEY_PURPOSE,
                bridge.channel_id,
                &bridge.webhook_key_sealed,
            )
            .map_err(|e| AppError::Internal(e.into()))?;
        let key = String::from_utf8(key).map_err(|e| AppError::Internal(e.into()))?;
        db::web_sessions::wait_again(&mut tenant.tx, session.channel_id, phone.as_deref()).await?;
        if let Err(e) = set_up_waha(&state, &waha, session.channel_id, &key).await {
            return Err(AppError::Unprocessable(format!(
                "The WAHA server could not be set up: {e}."
            )));
        }
        tenant.tx.commit().await?;
        return Ok(
            Redirect::to(&format!("/settings/linked-devices/{}", session.channel_id))
                .into_response(),
        );
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

/// A new pairing code for a phone on WAHA being linked by code (the owner
/// asks: the one shown expired or was mistyped). WAHA's events never ask
/// for a second one while the first is valid (each request replaces it).
pub async fn new_code(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Redirect> {
    let (_, session) = found(&mut tenant, id).await?;
    let phone = match (&session.pair_phone, session.status) {
        (Some(phone), WebStatus::Waiting) => phone.clone(),
        _ => {
            return Err(AppError::Conflict(
                "This phone is not being linked by a code.".into(),
            ));
        }
    };
    let Some((_, waha)) = waha_of(&state, &mut tenant, session.channel_id).await? else {
        return Err(AppError::Conflict(
            "A new code comes by itself for a phone run by wacrm.".into(),
        ));
    };
    let code = waha
        .request_code(&phone)
        .await
        .map_err(|e| AppError::Unprocessable(format!("The WAHA server gave no code: {e}.")))?;
    let expires_at = OffsetDateTime::now_utc() + crate::channels::waha::PAIR_CODE_VALID;
    db::web_sessions::show_pair_code(&mut tenant.tx, session.channel_id, &code, expires_at).await?;
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/settings/linked-devices/{}",
        session.channel_id
    )))
}

/// Restarts the WAHA session of a phone whose connection was lost (the
/// owner's retry, after wacrm's own restart did not bring it back).
pub async fn reconnect(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Redirect> {
    let (_, session) = found(&mut tenant, id).await?;
    if session.status != WebStatus::Disconnected {
        return Err(AppError::Conflict(
            "This phone's connection is not lost.".into(),
        ));
    }
    let Some((_, waha)) = waha_of(&state, &mut tenant, session.channel_id).await? else {
        return Err(AppError::Conflict(
            "A phone run by wacrm reconnects by itself.".into(),
        ));
    };
    tenant.tx.commit().await?;
    let (level, text) = match waha.restart().await {
        Ok(()) => (
            FlashKind::Success,
            "The WAHA server is restarting the session; this page follows.".to_owned(),
        ),
        Err(e) => (
            FlashKind::Error,
            format!("The WAHA server did not restart the session: {e}."),
        ),
    };
    tenant.session.flash(level, text).await?;
    Ok(Redirect::to(&format!(
        "/settings/linked-devices/{}",
        session.channel_id
    )))
}
