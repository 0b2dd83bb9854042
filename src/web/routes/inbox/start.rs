//! "New conversation": an agent writes first, from a contact's page, from
//! the inbox or to a number typed in. The conversation opens in the inbox,
//! whose composer (or, with the 24-hour window closed, its templates)
//! sends the first message.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::PhoneE164;
use crate::error::{AppError, Result};
use crate::features::inbox::start::{self, Recipient};
use crate::infra::db;
use crate::infra::db::channels::Channel;
use crate::infra::db::contacts::Contact;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

/// The longest name kept for a contact made from a typed number.
const MAX_NAME: usize = 200;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StartForm {
    /// A contact's id (from their page), or empty for a typed number.
    contact: String,
    phone: String,
    name: String,
    channel: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/new.html")]
pub struct NewConversationPage {
    page: Page,
    form: StartForm,
    contact: Option<Contact>,
    channels: Vec<Channel>,
    errors: Vec<String>,
}

impl NewConversationPage {
    fn is_picked(&self, channel: &Uuid) -> bool {
        self.form.channel == channel.to_string()
    }
}

async fn page_with(
    mut tenant: Tenant,
    form: StartForm,
    errors: Vec<String>,
) -> Result<NewConversationPage> {
    let contact = match form.contact.trim() {
        "" => None,
        id => {
            let id = Uuid::try_parse(id).map_err(|_| AppError::NotFound)?;
            Some(
                db::contacts::find(&mut tenant.tx, id)
                    .await?
                    .ok_or(AppError::NotFound)?,
            )
        }
    };
    let channels = db::channels::list(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok(NewConversationPage {
        page: tenant.page,
        form,
        contact,
        channels,
        errors,
    })
}

pub async fn new(tenant: Tenant, Query(form): Query<StartForm>) -> Result<NewConversationPage> {
    page_with(tenant, form, vec![]).await
}

pub async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant,
    HtmlForm(form): HtmlForm<StartForm>,
) -> Result<Response> {
    let refused = |tenant, form, error: String| async move {
        let page = page_with(tenant, form, vec![error]).await?;
        Ok::<Response, AppError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let Ok(channel_id) = Uuid::try_parse(form.channel.trim()) else {
        return refused(tenant, form, start::NO_CHANNEL.into()).await;
    };
    let recipient = match form.contact.trim() {
        "" => {
            let country = db::orgs::default_country(&mut tenant.tx).await?;
            match PhoneE164::parse(&form.phone, country) {
                Ok(phone) => Recipient::Phone {
                    name: form.name.trim().chars().take(MAX_NAME).collect(),
                    phone,
                },
                Err(reason) => return refused(tenant, form, reason).await,
            }
        }
        id => Recipient::Contact(Uuid::try_parse(id).map_err(|_| AppError::NotFound)?),
    };
    let started = match start::start(
        &state.config,
        &mut tenant.tx,
        Some(tenant.member.user_id),
        channel_id,
        recipient,
    )
    .await
    {
        Ok(started) => started,
        Err(AppError::Unprocessable(reason)) => return refused(tenant, form, reason).await,
        Err(e) => return Err(e),
    };
    tenant.tx.commit().await?;
    let message = match (&started.known_contact, started.continued) {
        (Some(name), _) if !name.is_empty() => {
            format!("That number is {name}'s: write to them here.")
        }
        (_, true) => "You already have a conversation open with them: go on here.".into(),
        _ => "Write the first message.".into(),
    };
    tenant.session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/inbox/{}", started.conversation_id)).into_response())
}
