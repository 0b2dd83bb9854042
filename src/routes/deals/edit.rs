use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::DealForm;
use crate::db;
use crate::db::deals::{Deal, Pipeline, Stage};
use crate::domain::money;
use crate::error::{AppError, Result};
use crate::tenancy::member::{Page, Tenant};
use crate::web::form::HtmlForm;

#[derive(Template, WebTemplate)]
#[template(path = "deals/new.html")]
struct NewDealPage {
    page: Page,
    pipeline: Pipeline,
    stages: Vec<Stage>,
    form: DealForm,
    errors: Vec<String>,
    /// Whom the deal is with, when it starts from a contact or conversation.
    contact_name: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "deals/deal.html")]
struct DealPage {
    page: Page,
    deal: Deal,
    stages: Vec<Stage>,
}

impl DealPage {
    fn amount(&self) -> String {
        money::shown(self.deal.value, &self.deal.currency)
    }

    fn stage_name(&self) -> &str {
        self.stages
            .iter()
            .find(|s| s.id == self.deal.stage_id)
            .map_or("", |s| s.name.as_str())
    }
}

/// The form's contact (from `contact`, or the conversation's), checked to be
/// this workspace's and visible to the member; its name.
async fn whom(tenant: &mut Tenant, form: &mut DealForm) -> Result<Option<String>> {
    if let Ok(conversation_id) = Uuid::try_parse(form.conversation.trim()) {
        let viewer = tenant.member.user_id;
        let visibility = tenant.member.visibility();
        let conversation =
            db::conversations::find(&mut tenant.tx, conversation_id, viewer, visibility)
                .await?
                .ok_or(AppError::NotFound)?;
        form.contact = conversation.contact_id.to_string();
        return Ok(Some(conversation.contact_name));
    }
    form.conversation.clear();
    match Uuid::try_parse(form.contact.trim()) {
        Ok(contact_id) => {
            let contact = db::contacts::find(&mut tenant.tx, contact_id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(Some(contact.name))
        }
        Err(_) => {
            form.contact.clear();
            Ok(None)
        }
    }
}

async fn form_page(
    mut tenant: Tenant,
    mut form: DealForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response> {
    let contact_name = whom(&mut tenant, &mut form).await?;
    let pipeline = db::deals::pipelines(&mut tenant.tx)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    let stages = db::deals::stages(&mut tenant.tx, pipeline.id).await?;
    tenant.tx.commit().await?;
    Ok((
        status,
        NewDealPage {
            page: tenant.page,
            pipeline,
            stages,
            form,
            errors,
            contact_name,
        },
    )
        .into_response())
}

/// `?contact=` or `?conversation=` start the deal with them.
pub async fn new(tenant: Tenant, Query(mut form): Query<DealForm>) -> Result<Response> {
    if form.currency.is_empty() {
        form.currency = "USD".to_owned();
    }
    form_page(tenant, form, vec![], StatusCode::OK).await
}

pub async fn create(
    mut tenant: Tenant,
    HtmlForm(mut form): HtmlForm<DealForm>,
) -> Result<Response> {
    whom(&mut tenant, &mut form).await?;
    let pipeline = db::deals::pipelines(&mut tenant.tx)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    let stages = db::deals::stages(&mut tenant.tx, pipeline.id).await?;
    let fields = match form.parse(pipeline.id, &stages, tenant.member.user_id) {
        Ok(fields) => fields,
        Err(errors) => {
            return form_page(tenant, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let id = db::deals::insert(&mut tenant.tx, &fields).await?;
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/deals/{id}")).into_response())
}

pub async fn show(mut tenant: Tenant, Path(id): Path<String>) -> Result<Response> {
    let id = Uuid::try_parse(id.trim()).map_err(|_| AppError::NotFound)?;
    let deal = db::deals::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let stages = db::deals::stages(&mut tenant.tx, deal.pipeline_id).await?;
    tenant.tx.commit().await?;
    Ok(DealPage {
        page: tenant.page,
        deal,
        stages,
    }
    .into_response())
}
