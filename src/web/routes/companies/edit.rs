use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::CompanyForm;
use crate::domain::{AttributeDef, AttributeKind};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::attributes::Entity;
use crate::infra::db::companies::Company;
use crate::infra::db::contacts::Contact;
use crate::infra::db::notes::{Note, NoteSubject};
use crate::infra::tenancy::capability::{Capability, DeleteRecords};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// How many of a company's contacts its page lists.
const CONTACTS_SHOWN: i64 = 200;

/// The new-company form, and an existing company's page with its contacts.
#[derive(Template, WebTemplate)]
#[template(path = "companies/company.html")]
pub struct CompanyPage {
    page: Page,
    /// `None` while creating.
    company: Option<Company>,
    contacts: Vec<Contact>,
    form: CompanyForm,
    errors: Vec<String>,
    can_delete: bool,
    notes: Vec<Note>,
    notes_path: String,
    attribute_defs: Vec<AttributeDef>,
}

impl CompanyPage {
    fn new(
        tenant: Tenant,
        company: Option<CompanyWithLists>,
        form: CompanyForm,
        attribute_defs: Vec<AttributeDef>,
    ) -> Self {
        let (company, contacts, notes) = match company {
            Some(c) => (Some(c.company), c.contacts, c.notes),
            None => (None, vec![], vec![]),
        };
        CompanyPage {
            notes_path: company
                .as_ref()
                .map(|c| format!("/companies/{}/notes", c.id))
                .unwrap_or_default(),
            notes,
            attribute_defs,
            can_delete: DeleteRecords::allows(tenant.member.role),
            page: tenant.page,
            company,
            contacts,
            form,
            errors: vec![],
        }
    }

    fn with_errors(self, errors: Vec<String>) -> Response {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            CompanyPage { errors, ..self },
        )
            .into_response()
    }
}

/// A company with the contacts and notes its page shows.
struct CompanyWithLists {
    company: Company,
    contacts: Vec<Contact>,
    notes: Vec<Note>,
}

async fn find_company(tenant: &mut Tenant, id: Uuid) -> Result<CompanyWithLists> {
    let company = db::companies::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let contacts = db::contacts::of_company(&mut tenant.tx, company.id, CONTACTS_SHOWN).await?;
    let viewer = tenant.member.user_id;
    let moderator = DeleteRecords::allows(tenant.member.role);
    let notes = db::notes::list(
        &mut tenant.tx,
        NoteSubject::Company(company.id),
        viewer,
        moderator,
    )
    .await?;
    Ok(CompanyWithLists {
        company,
        contacts,
        notes,
    })
}

async fn company_attributes(tenant: &mut Tenant) -> Result<Vec<AttributeDef>> {
    Ok(db::attributes::list(&mut tenant.tx, Entity::Company).await?)
}

pub async fn new(mut tenant: Tenant) -> Result<CompanyPage> {
    let defs = company_attributes(&mut tenant).await?;
    Ok(CompanyPage::new(tenant, None, CompanyForm::default(), defs))
}

pub async fn create(mut tenant: Tenant, HtmlForm(form): HtmlForm<CompanyForm>) -> Result<Response> {
    let defs = company_attributes(&mut tenant).await?;
    let fields = match form.parse(&defs) {
        Ok(fields) => fields,
        Err(errors) => return Ok(CompanyPage::new(tenant, None, form, defs).with_errors(errors)),
    };
    let id = db::companies::insert(&mut tenant.tx, &fields).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Company added.")
        .await?;
    Ok(Redirect::to(&format!("/companies/{id}")).into_response())
}

pub async fn show(mut tenant: Tenant, PathId(id): PathId) -> Result<CompanyPage> {
    let company = find_company(&mut tenant, id).await?;
    let defs = company_attributes(&mut tenant).await?;
    let form = CompanyForm::from_company(&company.company, &defs);
    Ok(CompanyPage::new(tenant, Some(company), form, defs))
}

pub async fn update(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<CompanyForm>,
) -> Result<Response> {
    let company = find_company(&mut tenant, id).await?;
    let company_id = company.company.id;
    let defs = company_attributes(&mut tenant).await?;
    let fields = match form.parse(&defs) {
        Ok(fields) => fields,
        Err(errors) => {
            return Ok(CompanyPage::new(tenant, Some(company), form, defs).with_errors(errors));
        }
    };
    db::companies::update(&mut tenant.tx, company_id, &fields).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Company saved.")
        .await?;
    Ok(Redirect::to(&format!("/companies/{company_id}")).into_response())
}

pub async fn delete(mut tenant: Tenant<DeleteRecords>, PathId(id): PathId) -> Result<Redirect> {
    if !db::companies::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Company deleted; its contacts were kept.",
        )
        .await?;
    Ok(Redirect::to("/companies"))
}
