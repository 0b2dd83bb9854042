use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::TaskForm;
use crate::domain::local_time;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::memberships::Member;
use crate::infra::db::tasks::Task;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Template, WebTemplate)]
#[template(path = "tasks/task.html")]
struct TaskPage {
    page: Page,
    /// `None` while creating.
    task: Option<Task>,
    form: TaskForm,
    errors: Vec<String>,
    members: Vec<Member>,
    /// What the task is about, when it starts from a contact or deal.
    contact_name: Option<String>,
    deal_title: Option<String>,
    time_zone: String,
}

impl TaskPage {
    fn done_at(&self) -> Option<String> {
        let task = self.task.as_ref()?;
        task.done_at
            .map(|at| local_time::shown(at, &self.time_zone))
    }
}

/// The form's contact and deal, checked to be this workspace's (404
/// otherwise); a deal's contact when only the deal is named.
async fn about(
    tenant: &mut Tenant,
    form: &mut TaskForm,
) -> Result<(Option<String>, Option<String>)> {
    let mut deal_title = None;
    match Uuid::try_parse(form.deal.trim()) {
        Ok(id) => {
            let deal = db::deals::find(&mut tenant.tx, id)
                .await?
                .ok_or(AppError::NotFound)?;
            if form.contact.trim().is_empty()
                && let Some(contact) = deal.contact_id
            {
                form.contact = contact.to_string();
            }
            deal_title = Some(deal.title);
        }
        Err(_) => form.deal.clear(),
    }
    let contact_name = match Uuid::try_parse(form.contact.trim()) {
        Ok(id) => Some(
            db::contacts::find(&mut tenant.tx, id)
                .await?
                .ok_or(AppError::NotFound)?
                .name,
        ),
        Err(_) => {
            form.contact.clear();
            None
        }
    };
    Ok((contact_name, deal_title))
}

async fn render(
    mut tenant: Tenant,
    task: Option<Task>,
    mut form: TaskForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response> {
    let (contact_name, deal_title) = match &task {
        Some(t) => (t.contact_name.clone(), t.deal_title.clone()),
        None => about(&mut tenant, &mut form).await?,
    };
    let members = db::memberships::list(&mut tenant.tx).await?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok((
        status,
        TaskPage {
            page: tenant.page,
            task,
            form,
            errors,
            members,
            contact_name,
            deal_title,
            time_zone,
        },
    )
        .into_response())
}

/// `?contact=`, `?deal=` and `?kind=call` start the form; the member is the
/// assignee unless they choose someone else.
pub async fn new(tenant: Tenant, Query(mut form): Query<TaskForm>) -> Result<Response> {
    form.assignee = tenant.member.user_id.to_string();
    render(tenant, None, form, vec![], StatusCode::OK).await
}

pub async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant,
    HtmlForm(mut form): HtmlForm<TaskForm>,
) -> Result<Response> {
    about(&mut tenant, &mut form).await?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let fields = match form.parse(&members, &time_zone) {
        Ok(fields) => fields,
        Err(errors) => {
            return render(tenant, None, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let id = db::tasks::insert(&mut tenant.tx, &fields, tenant.member.user_id).await?;
    if let Some(due_at) = fields.due_at {
        crate::features::reminders::schedule(&mut tenant.tx, &state.secrets, id, due_at).await?;
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Task added.")
        .await?;
    Ok(Redirect::to(&format!("/tasks/{id}")).into_response())
}

fn form_of(task: &Task, time_zone: &str) -> TaskForm {
    TaskForm {
        kind: task.kind.to_string(),
        title: task.title.clone(),
        details: task.details.clone().unwrap_or_default(),
        due: task
            .due_at
            .map(|at| local_time::input_value(at, time_zone))
            .unwrap_or_default(),
        assignee: task.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
        contact: task.contact_id.map(|c| c.to_string()).unwrap_or_default(),
        deal: task.deal_id.map(|d| d.to_string()).unwrap_or_default(),
    }
}

pub async fn show(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let task = db::tasks::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let form = form_of(&task, &time_zone);
    render(tenant, Some(task), form, vec![], StatusCode::OK).await
}

/// Saves the task; a new due time gets its own reminder (the old one's job
/// finds the task due at another time and does nothing).
pub async fn update(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<TaskForm>,
) -> Result<Response> {
    let task = db::tasks::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let fields = match form.parse(&members, &time_zone) {
        Ok(fields) => fields,
        Err(errors) => {
            return render(
                tenant,
                Some(task),
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    db::tasks::update(&mut tenant.tx, task.id, &fields).await?;
    if let Some(due_at) = fields.due_at.filter(|due| Some(*due) != task.due_at) {
        crate::features::reminders::schedule(&mut tenant.tx, &state.secrets, task.id, due_at)
            .await?;
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Task saved.")
        .await?;
    Ok(Redirect::to(&format!("/tasks/{}", task.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneForm {
    /// `yes` (done) or `no` (open again).
    done: String,
    /// A path within wacrm to go back to (my day, the call plan).
    back: String,
}

pub async fn mark_done(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<DoneForm>,
) -> Result<Response> {
    let done = match form.done.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(AppError::Unprocessable("Done: yes or no.".to_owned()));
        }
    };
    if !db::tasks::set_done(&mut tenant.tx, id, done).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    // Only paths of ours, never another site.
    let back = match crate::web::routes::safe_next(&form.back) {
        Some(back) if back.starts_with("/tasks") => back.to_owned(),
        _ => format!("/tasks/{id}"),
    };
    Ok(Redirect::to(&back).into_response())
}

pub async fn delete(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    if !db::tasks::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Task deleted.")
        .await?;
    Ok(Redirect::to("/tasks").into_response())
}
