use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::DealForm;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::companies::CompanyFields;
use crate::infra::db::deals::Deal;
use crate::infra::db::memberships::Member;
use crate::infra::db::notes::{Note, NoteSubject};
use crate::infra::db::pipelines::{Pipeline, Stage};
use crate::infra::db::tasks::Task;
use crate::infra::tenancy::capability::{Capability, DeleteRecords};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Template, WebTemplate)]
#[template(path = "deals/new.html")]
struct NewDealPage {
    page: Page,
    pipelines: Vec<Pipeline>,
    pipeline: Pipeline,
    stages: Vec<Stage>,
    members: Vec<Member>,
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
    pipeline: Pipeline,
    stages: Vec<Stage>,
    members: Vec<Member>,
    /// The edit form: the deal's fields, or what was typed.
    form: DealForm,
    errors: Vec<String>,
    notes: Vec<Note>,
    notes_path: String,
    may_delete: bool,
    /// Open tasks about the deal.
    tasks: Vec<Task>,
}

impl DealPage {
    fn stage_name(&self) -> &str {
        self.stages
            .iter()
            .find(|s| s.id == self.deal.stage_id)
            .map_or("", |s| s.name.as_str())
    }
}

/// The form a deal's page starts with.
fn form_of(deal: &Deal) -> DealForm {
    DealForm {
        title: deal.title.clone(),
        value: deal.value.to_string(),
        currency: deal.currency.clone(),
        expected_close: deal
            .expected_close
            .map(|d| d.to_string())
            .unwrap_or_default(),
        owner: deal.owner_id.map(|o| o.to_string()).unwrap_or_default(),
        company: deal.company_name.clone().unwrap_or_default(),
        ..DealForm::default()
    }
}

/// The form's contact (from `contact`, or the conversation's), checked to be
/// this workspace's and visible to the member: its name and company's name.
async fn whom(
    tenant: &mut Tenant,
    form: &mut DealForm,
) -> Result<Option<(String, Option<String>)>> {
    if let Ok(conversation_id) = Uuid::try_parse(form.conversation.trim()) {
        let viewer = tenant.member.user_id;
        let visibility = tenant.member.visibility();
        let conversation =
            db::conversations::find(&mut tenant.tx, conversation_id, viewer, visibility)
                .await?
                .ok_or(AppError::NotFound)?;
        form.contact = conversation.contact_id.to_string();
    } else {
        form.conversation.clear();
    }
    match Uuid::try_parse(form.contact.trim()) {
        Ok(contact_id) => {
            let contact = db::contacts::find(&mut tenant.tx, contact_id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(Some((contact.name, contact.company_name)))
        }
        Err(_) => {
            form.contact.clear();
            Ok(None)
        }
    }
}

/// The form's pipeline (the first when none or an unknown one is named).
async fn pipeline_of(tenant: &mut Tenant, form: &DealForm) -> Result<(Vec<Pipeline>, Pipeline)> {
    let pipelines = db::pipelines::pipelines(&mut tenant.tx).await?;
    let pipeline = pipelines
        .iter()
        .find(|p| p.id.to_string() == form.pipeline.trim())
        .or(pipelines.first())
        .cloned()
        .ok_or(AppError::NotFound)?;
    Ok((pipelines, pipeline))
}

async fn new_page(
    mut tenant: Tenant,
    mut form: DealForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response> {
    let contact = whom(&mut tenant, &mut form).await?;
    let (pipelines, pipeline) = pipeline_of(&mut tenant, &form).await?;
    form.pipeline = pipeline.id.to_string();
    let stages = db::pipelines::stages(&mut tenant.tx, pipeline.id).await?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok((
        status,
        NewDealPage {
            page: tenant.page,
            pipelines,
            pipeline,
            stages,
            members,
            form,
            errors,
            contact_name: contact.map(|(name, _)| name),
        },
    )
        .into_response())
}

/// `?contact=` or `?conversation=` start the deal with them (and their
/// company); `?pipeline=` in that pipeline. The member owns it unless they
/// choose someone else.
pub async fn new(mut tenant: Tenant, Query(mut form): Query<DealForm>) -> Result<Response> {
    if form.currency.is_empty() {
        form.currency = "USD".to_owned();
    }
    form.owner = tenant.member.user_id.to_string();
    if let Some((_, Some(company))) = whom(&mut tenant, &mut form).await? {
        form.company = company;
    }
    new_page(tenant, form, vec![], StatusCode::OK).await
}

/// The company of that name, created if there is none (as on a contact).
async fn company_named(tenant: &mut Tenant, name: Option<String>) -> Result<Option<Uuid>> {
    let Some(name) = name else {
        return Ok(None);
    };
    if let Some(id) = db::companies::find_by_name(&mut tenant.tx, &name).await? {
        return Ok(Some(id));
    }
    let company = CompanyFields {
        name,
        domain: None,
        address: None,
        attributes: serde_json::Map::new(),
    };
    Ok(Some(db::companies::insert(&mut tenant.tx, &company).await?))
}

pub async fn create(
    mut tenant: Tenant,
    HtmlForm(mut form): HtmlForm<DealForm>,
) -> Result<Response> {
    whom(&mut tenant, &mut form).await?;
    let (_, pipeline) = pipeline_of(&mut tenant, &form).await?;
    let stages = db::pipelines::stages(&mut tenant.tx, pipeline.id).await?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let (mut fields, company_name) = match form.parse_new(pipeline.id, &stages, &members) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return new_page(tenant, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    fields.details.company_id = company_named(&mut tenant, company_name).await?;
    let id = db::deals::insert(&mut tenant.tx, &fields).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Deal created.")
        .await?;
    Ok(Redirect::to(&format!("/deals/{id}")).into_response())
}

async fn deal_page(
    mut tenant: Tenant,
    deal: Deal,
    form: DealForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response> {
    let pipeline = db::pipelines::find(&mut tenant.tx, deal.pipeline_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let stages = db::pipelines::stages(&mut tenant.tx, deal.pipeline_id).await?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let viewer = tenant.member.user_id;
    let may_delete = DeleteRecords::allows(tenant.member.role);
    let notes = db::notes::list(
        &mut tenant.tx,
        NoteSubject::Deal(deal.id),
        viewer,
        may_delete,
    )
    .await?;
    let tasks = db::tasks::open_about(&mut tenant.tx, None, Some(deal.id), 20).await?;
    tenant.tx.commit().await?;
    Ok((
        status,
        DealPage {
            page: tenant.page,
            notes_path: format!("/deals/{}/notes", deal.id),
            deal,
            pipeline,
            stages,
            members,
            form,
            errors,
            notes,
            may_delete,
            tasks,
        },
    )
        .into_response())
}

pub async fn show(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let deal = db::deals::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let form = form_of(&deal);
    deal_page(tenant, deal, form, vec![], StatusCode::OK).await
}

/// Saves the details (the stage moves on the board or the deal's stage
/// form, where lost asks for a reason).
pub async fn update(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<DealForm>,
) -> Result<Response> {
    let deal = db::deals::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let checked = match form.details(&members) {
        Ok(checked) => checked,
        Err(errors) => {
            return deal_page(tenant, deal, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let mut details = checked.details;
    details.company_id = company_named(&mut tenant, checked.company_name).await?;
    if !db::deals::update(&mut tenant.tx, deal.id, &details).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Deal saved.")
        .await?;
    Ok(Redirect::to(&format!("/deals/{}", deal.id)).into_response())
}

/// Owners and admins delete deals (with their notes); the board is where
/// one goes after.
pub async fn delete(mut tenant: Tenant<DeleteRecords>, PathId(id): PathId) -> Result<Response> {
    let deal = db::deals::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::deals::delete(&mut tenant.tx, deal.id).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("Deal \"{}\" deleted.", deal.title),
        )
        .await?;
    Ok(Redirect::to(&format!("/deals?pipeline={}", deal.pipeline_id)).into_response())
}
