use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::form_of;
use crate::domain::contact::ContactForm;
use crate::domain::{AttributeDef, AttributeKind};
use crate::error::{AppError, Result, ResultExt};
use crate::features::billing::limits::{self, Counted};
use crate::infra::db;
use crate::infra::db::attributes::Entity;
use crate::infra::db::companies::CompanyFields;
use crate::infra::db::contacts::{Contact, ContactFields, Taken};
use crate::infra::db::contacts::{EMAIL_KEY, PHONE_KEY};
use crate::infra::db::deals::Deal;
use crate::infra::db::labels::Label;
use crate::infra::db::notes::{Note, NoteSubject};
use crate::infra::tenancy::capability::{Capability, DeleteRecords};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// The new-contact form, and an existing contact's page with the same form.
#[derive(Template, WebTemplate)]
#[template(path = "contacts/contact.html")]
pub struct ContactPage {
    page: Page,
    /// `None` while creating.
    contact: Option<Contact>,
    form: ContactForm,
    errors: Vec<String>,
    /// The contact that already has the phone or email typed.
    taken: Option<(&'static str, Uuid)>,
    can_delete: bool,
    /// Every label of the workspace, to tick.
    labels: Vec<Label>,
    attribute_defs: Vec<AttributeDef>,
    notes: Vec<Note>,
    notes_path: String,
    /// The contact's deals, open ones first.
    deals: Vec<Deal>,
}

impl ContactPage {}

/// Deals a contact's page lists.
const DEALS_SHOWN: i64 = 20;

async fn render(
    status: StatusCode,
    mut tenant: Tenant,
    contact: Option<(Contact, Vec<Note>)>,
    form: ContactForm,
    errors: Vec<String>,
    taken: Option<Taken>,
) -> Result<Response> {
    let labels = db::labels::list(&mut tenant.tx).await?;
    let attribute_defs = db::attributes::list(&mut tenant.tx, Entity::Contact).await?;
    let taken = taken.map(|t| match t {
        Taken::Phone(id) => ("phone number", id),
        Taken::Email(id) => ("email address", id),
    });
    let (contact, notes) = contact.unzip();
    let deals = match &contact {
        Some(c) => db::deals::of_contact(&mut tenant.tx, c.id, DEALS_SHOWN).await?,
        None => vec![],
    };
    let page = ContactPage {
        deals,
        can_delete: DeleteRecords::allows(tenant.member.role),
        page: tenant.page,
        notes_path: contact
            .as_ref()
            .map(|c| format!("/contacts/{}/notes", c.id))
            .unwrap_or_default(),
        notes: notes.unwrap_or_default(),
        contact,
        form,
        errors,
        taken,
        labels,
        attribute_defs,
    };
    Ok((status, page).into_response())
}

/// The contact with its notes, or 404.
async fn find_contact(tenant: &mut Tenant, id: Uuid) -> Result<(Contact, Vec<Note>)> {
    let mut contact = db::contacts::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::contacts::with_labels(&mut tenant.tx, std::slice::from_mut(&mut contact)).await?;
    let viewer = tenant.member.user_id;
    let moderator = DeleteRecords::allows(tenant.member.role);
    let notes = db::notes::list(
        &mut tenant.tx,
        NoteSubject::Contact(contact.id),
        viewer,
        moderator,
    )
    .await?;
    Ok((contact, notes))
}

pub async fn new(tenant: Tenant) -> Result<Response> {
    render(
        StatusCode::OK,
        tenant,
        None,
        ContactForm::default(),
        vec![],
        None,
    )
    .await
}

/// The company a contact is linked to: the existing one of that name, or a
/// new one, so typing a company never needs a second form.
async fn company_for(tenant: &mut Tenant, fields: &ContactFields) -> Result<Option<Uuid>> {
    let Some(name) = &fields.company_name else {
        return Ok(None);
    };
    if let Some(id) = db::companies::find_by_name(&mut tenant.tx, name).await? {
        return Ok(Some(id));
    }
    let company = CompanyFields {
        name: name.clone(),
        domain: None,
        address: None,
        attributes: serde_json::Map::new(),
    };
    Ok(Some(db::companies::insert(&mut tenant.tx, &company).await?))
}

/// A unique index raced by a concurrent save: same answer as the check.
fn taken() -> AppError {
    AppError::Conflict(
        "Another contact with this phone number or email address was just saved. Search for it in the contact list.".into(),
    )
}

pub async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant,
    HtmlForm(form): HtmlForm<ContactForm>,
) -> Result<Response> {
    limits::check_one(&state.config, &mut tenant.tx, Counted::Contacts).await??;
    let country = db::orgs::default_country(&mut tenant.tx).await?;
    let defs = db::attributes::list(&mut tenant.tx, Entity::Contact).await?;
    let fields = match form.parse(country, &defs) {
        Ok(fields) => fields,
        Err(errors) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                None,
                form,
                errors,
                None,
            )
            .await;
        }
    };
    if let Some(taken) = db::contacts::find_taken(&mut tenant.tx, &fields, None).await? {
        return render(
            StatusCode::CONFLICT,
            tenant,
            None,
            form,
            vec![],
            Some(taken),
        )
        .await;
    }
    let company_id = company_for(&mut tenant, &fields).await?;
    let id = db::contacts::insert(&mut tenant.tx, &fields, company_id)
        .await
        .on_constraint(PHONE_KEY, taken)
        .on_constraint(EMAIL_KEY, taken)?;
    db::labels::set_for(
        &mut tenant.tx,
        db::labels::Tagged::Contact,
        id,
        &fields.label_ids,
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Contact added.")
        .await?;
    Ok(Redirect::to(&format!("/contacts/{id}")).into_response())
}

pub async fn show(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let contact = find_contact(&mut tenant, id).await?;
    let defs = db::attributes::list(&mut tenant.tx, Entity::Contact).await?;
    let form = form_of(&contact.0, &defs);
    render(StatusCode::OK, tenant, Some(contact), form, vec![], None).await
}

pub async fn update(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ContactForm>,
) -> Result<Response> {
    let contact = find_contact(&mut tenant, id).await?;
    let contact_id = contact.0.id;
    let country = db::orgs::default_country(&mut tenant.tx).await?;
    let defs = db::attributes::list(&mut tenant.tx, Entity::Contact).await?;
    let fields = match form.parse(country, &defs) {
        Ok(fields) => fields,
        Err(errors) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                Some(contact),
                form,
                errors,
                None,
            )
            .await;
        }
    };
    if let Some(taken) = db::contacts::find_taken(&mut tenant.tx, &fields, Some(contact_id)).await?
    {
        return render(
            StatusCode::CONFLICT,
            tenant,
            Some(contact),
            form,
            vec![],
            Some(taken),
        )
        .await;
    }
    let company_id = company_for(&mut tenant, &fields).await?;
    db::contacts::update(&mut tenant.tx, contact_id, &fields, company_id)
        .await
        .on_constraint(PHONE_KEY, taken)
        .on_constraint(EMAIL_KEY, taken)?;
    db::labels::set_for(
        &mut tenant.tx,
        db::labels::Tagged::Contact,
        contact_id,
        &fields.label_ids,
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Contact saved.")
        .await?;
    Ok(Redirect::to(&format!("/contacts/{contact_id}")).into_response())
}

pub async fn delete(mut tenant: Tenant<DeleteRecords>, PathId(id): PathId) -> Result<Redirect> {
    if !db::contacts::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Contact deleted.")
        .await?;
    Ok(Redirect::to("/contacts"))
}
