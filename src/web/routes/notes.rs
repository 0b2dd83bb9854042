//! Notes on a contact, a company or a deal: add, and delete one's own (owners and
//! admins may delete anyone's).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::notes::{Deleted, NoteSubject};
use crate::infra::tenancy::capability::{Capability, DeleteRecords};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

const MAX_CHARS: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contacts/{id}/notes", post(add_to_contact))
        .route(
            "/contacts/{id}/notes/{note}/delete",
            post(delete_from_contact),
        )
        .route("/companies/{id}/notes", post(add_to_company))
        .route(
            "/companies/{id}/notes/{note}/delete",
            post(delete_from_company),
        )
        .route("/deals/{id}/notes", post(add_to_deal))
        .route("/deals/{id}/notes/{note}/delete", post(delete_from_deal))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteForm {
    body: String,
}

/// A note that could not be saved, shown back so nothing typed is lost.
#[derive(Template, WebTemplate)]
#[template(path = "notes/invalid.html")]
pub struct InvalidNotePage {
    page: Page,
    action: String,
    back: String,
    body: String,
    error: String,
}

fn subject_path(subject: NoteSubject) -> String {
    match subject {
        NoteSubject::Contact(id) => format!("/contacts/{id}"),
        NoteSubject::Company(id) => format!("/companies/{id}"),
        NoteSubject::Deal(id) => format!("/deals/{id}"),
    }
}

async fn add(mut tenant: Tenant, subject: NoteSubject, form: NoteForm) -> Result<Response> {
    let back = subject_path(subject);
    let body = form.body.trim();
    let error = if body.is_empty() {
        Some("The note is empty: type something to save.".to_owned())
    } else if body.chars().count() > MAX_CHARS {
        Some(format!(
            "The note is too long ({MAX_CHARS} characters at most)."
        ))
    } else {
        None
    };
    if let Some(error) = error {
        let page = InvalidNotePage {
            page: tenant.page,
            action: format!("{back}/notes"),
            back,
            body: form.body,
            error,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let author = tenant.member.user_id;
    if !db::notes::insert(&mut tenant.tx, subject, author, body).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Note added.")
        .await?;
    Ok(Redirect::to(&format!("{back}#notes")).into_response())
}

async fn delete(mut tenant: Tenant, subject: NoteSubject, note: Uuid) -> Result<Redirect> {
    let viewer = tenant.member.user_id;
    let moderator = DeleteRecords::allows(tenant.member.role);
    match db::notes::delete(&mut tenant.tx, subject, note, viewer, moderator).await? {
        Deleted::Yes => {}
        Deleted::NotFound => return Err(AppError::NotFound),
        Deleted::NotYours => return Err(AppError::Forbidden("delete other members' notes")),
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Note deleted.")
        .await?;
    Ok(Redirect::to(&format!("{}#notes", subject_path(subject))))
}

async fn add_to_contact(
    tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<NoteForm>,
) -> Result<Response> {
    add(tenant, NoteSubject::Contact(id), form).await
}

async fn add_to_company(
    tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<NoteForm>,
) -> Result<Response> {
    add(tenant, NoteSubject::Company(id), form).await
}

async fn delete_from_contact(
    tenant: Tenant,
    PathId((id, note)): PathId<(Uuid, Uuid)>,
) -> Result<Redirect> {
    delete(tenant, NoteSubject::Contact(id), note).await
}

async fn delete_from_company(
    tenant: Tenant,
    PathId((id, note)): PathId<(Uuid, Uuid)>,
) -> Result<Redirect> {
    delete(tenant, NoteSubject::Company(id), note).await
}

async fn add_to_deal(
    tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<NoteForm>,
) -> Result<Response> {
    add(tenant, NoteSubject::Deal(id), form).await
}

async fn delete_from_deal(
    tenant: Tenant,
    PathId((id, note)): PathId<(Uuid, Uuid)>,
) -> Result<Redirect> {
    delete(tenant, NoteSubject::Deal(id), note).await
}
