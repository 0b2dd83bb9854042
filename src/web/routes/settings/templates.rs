//! Creating and deleting a Cloud API number's message templates, for owners
//! and admins: a new template is checked against Meta's rules, submitted to
//! Graph for review and kept as PENDING (status webhooks and the periodic
//! sync move it on); deleting removes it at Meta, then here. The list with
//! each one's review status is on the number's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::channels::cloud_api::template_create::{BUTTON_ROWS, CATEGORIES, NewTemplateForm};
use crate::channels::cloud_api::templates::GraphTemplate;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::cloud_channels::CloudChannel;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Template, WebTemplate)]
#[template(path = "settings/template_new.html")]
pub struct NewTemplatePage {
    page: Page,
    channel: CloudChannel,
    form: NewTemplateForm,
    errors: Vec<String>,
    categories: [&'static str; 3],
    rows: Vec<usize>,
}

impl NewTemplatePage {
    /// Row `i` of a button list, for the form.
    fn cell<'a>(&self, list: &'a [String], i: &usize) -> &'a str {
        list.get(*i).map(String::as_str).unwrap_or_default()
    }
}

fn new_page(
    page: Page,
    channel: CloudChannel,
    form: NewTemplateForm,
    errors: Vec<String>,
) -> NewTemplatePage {
    NewTemplatePage {
        page,
        channel,
        form,
        errors,
        categories: CATEGORIES,
        rows: (0..BUTTON_ROWS).collect(),
    }
}

/// The workspace's channel with this id, or 404.
async fn found(tenant: &mut Tenant<ManageSettings>, id: uuid::Uuid) -> Result<CloudChannel> {
    db::cloud_channels::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn new(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Response> {
    let channel = found(&mut tenant, id).await?;
    tenant.tx.commit().await?;
    let form = NewTemplateForm {
        language: "en_US".into(),
        category: "UTILITY".into(),
        parameter_format: "POSITIONAL".into(),
        ..NewTemplateForm::default()
    };
    Ok(new_page(tenant.page, channel, form, vec![]).into_response())
}

/// Checks the template, submits it to Graph and keeps it as Meta answered
/// (PENDING); the form again with the reasons otherwise, Meta's own
/// message included.
pub async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<NewTemplateForm>,
) -> Result<Response> {
    let channel = found(&mut tenant, id).await?;
    let refused = |page: Page, channel, form, errors| {
        let page = new_page(page, channel, form, errors);
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let request = match form.request() {
        Ok(request) => request,
        Err(errors) => {
            tenant.tx.commit().await?;
            return refused(tenant.page, channel, form, errors);
        }
    };
    let token =
        crate::channels::cloud_api::access_token(&state.secrets, tenant.member.org_id, &channel)
            .map_err(AppError::Internal)?;
    let created = match state
        .graph
        .create_template(&channel.waba_id, &token, &request)
        .await
    {
        Ok(created) => created,
        Err(e) => {
            tenant.tx.commit().await?;
            let errors = vec![format!("WhatsApp did not take the template: {e}")];
            return refused(tenant.page, channel, form, errors);
        }
    };
    let listed = GraphTemplate {
        id: Some(created.id),
        name: form.name.trim().to_owned(),
        language: form.language.trim().to_owned(),
        status: created.status.unwrap_or_else(|| "PENDING".to_owned()),
        category: form.category.trim().to_ascii_uppercase(),
        parameter_format: Some(form.parameter_format.trim().to_ascii_uppercase())
            .filter(|f| f == "NAMED"),
        components: request["components"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    };
    db::templates::upsert(&mut tenant.tx, channel.id, &listed.to_stored()).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!(
                "Template {} submitted: Meta reviews it (usually within minutes).",
                listed.name
            ),
        )
        .await?;
    Ok(Redirect::to(&format!("/settings/channels/{}", channel.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    name: String,
    language: String,
}

/// Deletes the template (this language) at Meta, then here.
pub async fn delete(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<DeleteForm>,
) -> Result<Response> {
    let channel = found(&mut tenant, id).await?;
    let template = db::templates::find(&mut tenant.tx, channel.id, &form.name, &form.language)
        .await?
        .ok_or(AppError::NotFound)?;
    let token =
        crate::channels::cloud_api::access_token(&state.secrets, tenant.member.org_id, &channel)
            .map_err(AppError::Internal)?;
    let deleted = state
        .graph
        .delete_template(
            &channel.waba_id,
            &token,
            &template.name,
            template.graph_id.as_deref(),
        )
        .await;
    let (kind, message) = match deleted {
        Ok(()) => {
            db::templates::delete(
                &mut tenant.tx,
                channel.id,
                &template.name,
                &template.language,
            )
            .await?;
            (
                FlashKind::Success,
                format!(
                    "Template {} ({}) deleted.",
                    template.name, template.language
                ),
            )
        }
        Err(e) => (
            FlashKind::Error,
            format!("WhatsApp did not delete the template: {e}"),
        ),
    };
    tenant.tx.commit().await?;
    tenant.session.flash(kind, message).await?;
    Ok(Redirect::to(&format!("/settings/channels/{}", channel.id)).into_response())
}
