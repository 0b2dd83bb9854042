//! Sending a template from a conversation whose 24-hour window closed: the
//! form asks for each value the template takes (header, body, buttons;
//! see [`Shape`]), "Preview" shows the header and body filled in without
//! sending (no script needed), and values that do not fit come back on the
//! same page with the reasons.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::channels::cloud_api::templates::{Param, Shape};
use crate::error::{AppError, Result};
use crate::features::inbox::outbound;
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TemplateForm {
    name: String,
    language: String,
    /// One value per parameter of the template, in its order.
    values: Vec<String>,
}

/// One field of the form: the parameter and the value typed so far.
pub struct Field {
    pub param: Param,
    pub value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/template_send.html")]
pub struct TemplateSendPage {
    page: Page,
    conversation: Conversation,
    template: db::templates::Template,
    fields: Vec<Field>,
    header: Option<String>,
    body: String,
    errors: Vec<String>,
}

/// The form again, filled in, with the template's texts previewed.
fn page(
    page: Page,
    conversation: Conversation,
    template: db::templates::Template,
    shape: &Shape,
    values: &[String],
    errors: Vec<String>,
) -> TemplateSendPage {
    let (header, body) = shape.preview(values);
    let fields = shape
        .params
        .iter()
        .enumerate()
        .map(|(i, param)| Field {
            param: param.clone(),
            value: values.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    TemplateSendPage {
        page,
        conversation,
        template,
        fields,
        header,
        body,
        errors,
    }
}

/// The conversation and its number's sendable template named by the form.
async fn chosen(
    tenant: &mut Tenant,
    id: uuid::Uuid,
    form: &TemplateForm,
) -> Result<(Conversation, db::templates::Template, Shape)> {
    let conversation = super::visible_conversation(tenant, id).await?;
    let unknown = || AppError::Unprocessable(outbound::TemplateRefused::Unknown.to_string());
    let template = db::templates::find(
        &mut tenant.tx,
        conversation.channel_id,
        &form.name,
        &form.language,
    )
    .await?
    .filter(db::templates::Template::can_send)
    .ok_or_else(unknown)?;
    let shape = template.shape().map_err(|_| unknown())?;
    Ok((conversation, template, shape))
}

/// Shows the template filled with the values typed, without sending.
pub async fn preview(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<TemplateForm>,
) -> Result<Response> {
    let (conversation, template, shape) = chosen(&mut tenant, id, &form).await?;
    tenant.tx.commit().await?;
    Ok(page(
        tenant.page,
        conversation,
        template,
        &shape,
        &form.values,
        vec![],
    )
    .into_response())
}

/// Sends an approved template with its values (the way to write to a
/// customer outside the 24-hour window); values that do not fit show the
/// form again with the reasons.
pub async fn send(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<TemplateForm>,
) -> Result<Response> {
    let (conversation, template, shape) = chosen(&mut tenant, id, &form).await?;
    tenant.member.must_be_writable()?;
    let author = Some(tenant.member.user_id);
    let queued = outbound::queue_approved_template(
        &mut tenant.tx,
        &state.secrets,
        (&conversation).into(),
        author,
        &template,
        &form.values,
    )
    .await;
    match queued {
        Ok(_) => {
            tenant.tx.commit().await?;
            Ok(Redirect::to(&format!("/inbox/{}", conversation.id)).into_response())
        }
        Err(outbound::TemplateRefused::Values { reasons, .. }) => {
            tenant.tx.commit().await?;
            let shown = page(
                tenant.page,
                conversation,
                template,
                &shape,
                &form.values,
                reasons,
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, shown).into_response())
        }
        Err(outbound::TemplateRefused::Failed(e)) => Err(AppError::Internal(e)),
        Err(refused) => Err(AppError::Unprocessable(refused.to_string())),
    }
}
