//! `/api/v1/contacts`: checked by the same rules as the contact form (the
//! input is turned into a [`ContactForm`] and parsed by it), so the API
//! and the pages accept and refuse the same values.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, IdPath, present};
use super::{ErrorBody, Page, created, field_first, label_ids, page_limit, rfc3339};
use crate::domain::contact::ContactForm;
use crate::domain::{AttributeDef, AttributeKind};
use crate::error::{AppError, ResultExt};
use crate::features::billing::limits::{self, Counted};
use crate::infra::db;
use crate::infra::db::attributes::Entity;
use crate::infra::db::companies::CompanyFields;
use crate::infra::db::contacts::{Contact, ContactFields, Cursor, ListQuery, Sort, Taken};
use crate::infra::db::contacts::{EMAIL_KEY, PHONE_KEY};
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::api_client::{ApiClient, ApiError};
use crate::state::AppState;
use crate::web::routes::contacts::{form_of, search_patterns};

/// A contact as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ContactOut {
    id: Uuid,
    name: String,
    /// E.164, e.g. `+4930901820`.
    phone: Option<String>,
    email: Option<String>,
    /// The company's name.
    company: Option<String>,
    company_id: Option<Uuid>,
    /// Label names.
    labels: Vec<String>,
    /// Custom attribute values by key (text, number, `YYYY-MM-DD` date,
    /// one of a choice's options, or a checkbox's boolean).
    #[schema(value_type = Object)]
    attributes: Value,
    opted_out: bool,
    blocked: bool,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> ContactOut {
        ContactOut {
            id: c.id,
            name: c.name,
            phone: c.phone,
            email: c.email,
            company: c.company_name,
            company_id: c.company_id,
            labels: c.labels.into_iter().map(|l| l.name).collect(),
            attributes: c.attributes,
            opted_out: c.opted_out,
            blocked: c.blocked,
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
        }
    }
}

/// The form's fields, as its messages name them.
const CONTACT_FIELDS: [&str; 5] = ["Name", "Phone", "Email", "Company", "Labels"];

/// What a create or an update sends. On update only the fields given
/// change; `null` clears a field. At least a name, a phone or an email.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ContactInput {
    /// At most 200 characters.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    /// Any form the workspace's default country parses (`030 901820` in a
    /// German workspace), or with `+` and the country code; stored E.164.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    /// A company's name: an existing company (any case) is linked, a new
    /// one is created.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    company: Option<Option<String>>,
    /// Label names of this workspace (all of them: replaces the set).
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    labels: Option<Option<Vec<String>>>,
    /// Custom attribute values by key; on update, keys left out keep their
    /// value and `null` removes one.
    #[schema(value_type = Option<Object>)]
    attributes: Option<Map<String, Value>>,
    opted_out: Option<bool>,
    blocked: Option<bool>,
}

/// The list's query parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Part of a name, phone number or email address.
    q: String,
    /// `name_asc` (default), `name_desc`, `newest_first` or `oldest_first`.
    sort: String,
    /// `next_cursor` of the previous page (made for the same `sort`).
    cursor: String,
    /// 1–100, default 25.
    limit: String,
}

/// Lists contacts, filtered by `q`, one keyset page at a time.
#[utoipa::path(
    get, path = "/api/v1/contacts", tag = "contacts",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<ContactOut>),
        (status = 400, description = "Bad cursor, sort or limit", body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn list(
    mut client: ApiClient,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Page<ContactOut>>, ApiError> {
    let sort = Sort::from_param(&params.sort).map_err(AppError::from)?;
    let after = Cursor::from_param(&params.cursor, sort).map_err(AppError::from)?;
    let limit = page_limit(&params.limit)?;
    let country = db::orgs::default_country(&mut client.tx).await?;
    let query = ListQuery {
        patterns: search_patterns(&params.q, country),
        sort,
        after,
        label: None,
        attribute: None,
        limit,
    };
    let mut page = db::contacts::list(&mut client.tx, &query).await?;
    db::contacts::with_labels(&mut client.tx, &mut page.contacts).await?;
    client.tx.commit().await?;
    Ok(Json(Page {
        data: page.contacts.into_iter().map(ContactOut::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// Creates a contact.
#[utoipa::path(
    post, path = "/api/v1/contacts", tag = "contacts",
    request_body = ContactInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ContactOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "Another contact has this phone or email (its id is named)", body = ErrorBody),
        (status = 422, description = "Invalid (the field is named)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    mut client: ApiClient,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<Response, ApiError> {
    let fields = checked(&mut client.tx, None, &input).await?;
    limits::check_one(&state.config, &mut client.tx, Counted::Contacts)
        .await
        .map_err(AppError::from)?
        .map_err(AppError::from)?;
    let contact = save(&mut client.tx, None, &fields).await?;
    client.tx.commit().await?;
    Ok(created(
        format!("/api/v1/contacts/{}", contact.id),
        ContactOut::from(contact),
    ))
}

/// One contact.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = Uuid, Path, description = "The contact's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContactOut),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such contact in this workspace", body = ErrorBody),
    )
)]
pub async fn show(mut client: ApiClient, IdPath(id): IdPath) -> Result<Json<ContactOut>, ApiError> {
    let contact = find(&mut client.tx, id).await?;
    client.tx.commit().await?;
    Ok(Json(contact.into()))
}

/// Changes the fields given, and only those.
#[utoipa::path(
    patch, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = Uuid, Path, description = "The contact's id")),
    request_body = ContactInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContactOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Another contact has this phone or email (its id is named)", body = ErrorBody),
        (status = 422, description = "Invalid (the field is named)", body = ErrorBody),
    )
)]
pub async fn update(
    mut client: ApiClient,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<Json<ContactOut>, ApiError> {
    let contact = find(&mut client.tx, id).await?;
    let fields = checked(&mut client.tx, Some(&contact), &input).await?;
    let contact = save(&mut client.tx, Some(id), &fields).await?;
    client.tx.commit().await?;
    Ok(Json(contact.into()))
}

/// Deletes the contact, with its conversations and notes.
#[utoipa::path(
    delete, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = Uuid, Path, description = "The contact's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn delete(mut client: ApiClient, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    if !db::contacts::delete(&mut client.tx, id).await? {
        return Err(AppError::NotFound.into());
    }
    client.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn find(tx: &mut TenantTx, id: Uuid) -> Result<Contact, AppError> {
    let mut contact = db::contacts::find(tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::contacts::with_labels(tx, std::slice::from_mut(&mut contact)).await?;
    Ok(contact)
}

/// Stores a new contact (`None`) or the changed one, with its company and
/// labels; the contact as stored. Another contact's phone or email is a
/// conflict.
async fn save(
    tx: &mut TenantTx,
    id: Option<Uuid>,
    fields: &ContactFields,
) -> Result<Contact, AppError> {
    let company_id = company_for(tx, fields).await?;
    let id = match id {
        Some(id) => db::contacts::update(tx, id, fields, company_id)
            .await
            .map(|_| id),
        None => db::contacts::insert(tx, fields, company_id).await,
    }
    .on_constraint(PHONE_KEY, taken)
    .on_constraint(EMAIL_KEY, taken)?;
    db::labels::set_for(tx, db::labels::Tagged::Contact, id, &fields.label_ids).await?;
    find(tx, id).await
}

/// The input laid over the contact (or over an empty form when creating)
/// and parsed as the contact form would; then no other contact may have
/// the phone or email.
async fn checked(
    tx: &mut TenantTx,
    existing: Option<&Contact>,
    input: &ContactInput,
) -> Result<ContactFields, AppError> {
    let defs = db::attributes::list(tx, Entity::Contact).await?;
    let country = db::orgs::default_country(tx).await?;
    let mut form = match existing {
        Some(contact) => form_of(contact, &defs),
        None => ContactForm::default(),
    };
    let mut errors = vec![];
    for (value, slot) in [
        (&input.name, &mut form.name),
        (&input.phone, &mut form.phone),
        (&input.email, &mut form.email),
        (&input.company, &mut form.company),
    ] {
        if let Some(value) = value {
            *slot = value.clone().unwrap_or_default();
        }
    }
    if let Some(names) = &input.labels {
        let names = names.clone().unwrap_or_default();
        match label_ids(tx, &names, "labels").await {
            Ok(ids) => form.labels = ids.iter().map(Uuid::to_string).collect(),
            Err(AppError::Unprocessable(e)) => errors.push(e),
            Err(e) => return Err(e),
        }
    }
    if let Some(values) = &input.attributes {
        lay_attributes(&defs, values, &mut form.attributes, &mut errors);
    }
    if let Some(opted_out) = input.opted_out {
        form.opted_out = opted_out.then(|| "on".into());
    }
    if let Some(blocked) = input.blocked {
        form.blocked = blocked.then(|| "on".into());
    }
    // Every problem at once: the form's own, beside the labels' and the
    // attributes' (which left the form's fields as they were).
    match form.parse(country, &defs) {
        Ok(fields) if errors.is_empty() => {
            let except = existing.map(|c| c.id);
            return match db::contacts::find_taken(tx, &fields, except).await? {
                Some(Taken::Phone(other)) => Err(AppError::Conflict(format!(
                    "phone: contact {other} already has this phone number."
                ))),
                Some(Taken::Email(other)) => Err(AppError::Conflict(format!(
                    "email: contact {other} already has this email address."
                ))),
                None => Ok(fields),
            };
        }
        Ok(_) => {}
        Err(form_errors) => {
            errors.extend(form_errors.iter().map(|e| field_first(e, &CONTACT_FIELDS)))
        }
    }
    Err(AppError::Unprocessable(errors.join(" ")))
}

/// Lays JSON attribute values over the form's `attr.*` fields, checking
/// each against its definition (the form parses them again, the same way).
pub(super) fn lay_attributes(
    defs: &[AttributeDef],
    values: &Map<String, Value>,
    form: &mut std::collections::HashMap<String, String>,
    errors: &mut Vec<String>,
) {
    for (key, value) in values {
        let Some(def) = defs.iter().find(|d| d.key == *key) else {
            errors.push(format!(
                "attributes: “{key}” is not one of this workspace's attributes."
            ));
            continue;
        };
        let typed = match (def.kind, value) {
            (_, Value::Null) => String::new(),
            (AttributeKind::Checkbox, Value::Bool(b)) => b.to_string(),
            (AttributeKind::Number, Value::Number(n)) => n.to_string(),
            (
                AttributeKind::Text | AttributeKind::Date | AttributeKind::Select,
                Value::String(s),
            ) => s.clone(),
            _ => {
                let expected = match def.kind {
                    AttributeKind::Checkbox => "true or false",
                    AttributeKind::Number => "a number",
                    AttributeKind::Date => "a date as a string (YYYY-MM-DD)",
                    AttributeKind::Select => "one of the options, as a string",
                    AttributeKind::Text => "a string",
                };
                errors.push(format!("attributes.{key}: expected {expected}."));
                continue;
            }
        };
        if let Err(e) = def.parse_value(&typed) {
            errors.push(format!("attributes.{key}: {e}"));
            continue;
        }
        form.insert(def.field(), typed);
    }
}

/// The company a contact is linked to: the existing one of that name, or a
/// new one (as the contact form does).
async fn company_for(tx: &mut TenantTx, fields: &ContactFields) -> Result<Option<Uuid>, AppError> {
    let Some(name) = &fields.company_name else {
        return Ok(None);
    };
    if let Some(id) = db::companies::find_by_name(tx, name).await? {
        return Ok(Some(id));
    }
    let company = CompanyFields {
        name: name.clone(),
        domain: None,
        address: None,
        attributes: Map::new(),
    };
    Ok(Some(db::companies::insert(tx, &company).await?))
}

/// A unique index raced by a concurrent save: the same answer as the check.
fn taken() -> AppError {
    AppError::Conflict(
        "Another contact with this phone number or email address was just saved.".into(),
    )
}
