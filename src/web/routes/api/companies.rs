//! `/api/v1/companies`: checked by the company form's own rules.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::contacts::lay_attributes;
use super::extract::{ApiJson, ApiQuery, IdPath, present};
use super::{ErrorBody, Page, created, field_first, page_limit, rfc3339};
use crate::error::AppError;
use crate::infra::db;
use crate::infra::db::attributes::Entity;
use crate::infra::db::companies::{Company, CompanyFields};
use crate::infra::db::keyset::{Cursor, Sort};
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::api_client::{ApiClient, ApiError};
use crate::web::routes::companies::CompanyForm;

/// A company as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct CompanyOut {
    id: Uuid,
    name: String,
    /// A bare lowercase host name, e.g. `example.com`.
    domain: Option<String>,
    address: Option<String>,
    /// Custom attribute values by key.
    #[schema(value_type = Object)]
    attributes: Value,
    /// How many contacts belong to it.
    contact_count: i64,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<Company> for CompanyOut {
    fn from(c: Company) -> CompanyOut {
        CompanyOut {
            id: c.id,
            name: c.name,
            domain: c.domain,
            address: c.address,
            attributes: c.attributes,
            contact_count: c.contact_count,
            created_at: rfc3339(c.created_at),
        }
    }
}

/// The form's fields, as its messages name them.
const COMPANY_FIELDS: [&str; 3] = ["Name", "Domain", "Address"];

/// What a create or an update sends; on update only the fields given
/// change, and `null` clears one. A name is required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CompanyInput {
    /// At most 200 characters.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    /// A domain or a URL (`https://www.example.com/about` is stored as
    /// `example.com`).
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    domain: Option<Option<String>>,
    /// At most 1,000 characters.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
    /// Custom attribute values by key; on update, keys left out keep their
    /// value and `null` removes one.
    #[schema(value_type = Option<Object>)]
    attributes: Option<Map<String, Value>>,
}

/// The list's query parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Part of a name or domain.
    q: String,
    /// `name_asc` (default), `name_desc`, `newest_first` or `oldest_first`.
    sort: String,
    /// `next_cursor` of the previous page (made for the same `sort`).
    cursor: String,
    /// 1–100, default 25.
    limit: String,
}

/// Lists companies, filtered by `q`, one keyset page at a time.
#[utoipa::path(
    get, path = "/api/v1/companies", tag = "companies",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<CompanyOut>),
        (status = 400, description = "Bad cursor, sort or limit", body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn list(
    mut client: ApiClient,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Page<CompanyOut>>, ApiError> {
    let sort = Sort::from_param(&params.sort)?;
    let after = Cursor::from_param(&params.cursor, sort)?;
    let limit = page_limit(&params.limit)?;
    let page =
        db::companies::list(&mut client.tx, params.q.trim(), sort, after.as_ref(), limit).await?;
    client.tx.commit().await?;
    Ok(Json(Page {
        data: page.companies.into_iter().map(CompanyOut::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// Creates a company.
#[utoipa::path(
    post, path = "/api/v1/companies", tag = "companies",
    request_body = CompanyInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CompanyOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Invalid (the field is named)", body = ErrorBody),
    )
)]
pub async fn create(
    mut client: ApiClient,
    ApiJson(input): ApiJson<CompanyInput>,
) -> Result<Response, ApiError> {
    let fields = checked(&mut client.tx, None, &input).await?;
    let id = db::companies::insert(&mut client.tx, &fields).await?;
    let company = find(&mut client.tx, id).await?;
    client.tx.commit().await?;
    Ok(created(
        format!("/api/v1/companies/{id}"),
        CompanyOut::from(company),
    ))
}

/// One company.
#[utoipa::path(
    get, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = Uuid, Path, description = "The company's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CompanyOut),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such company in this workspace", body = ErrorBody),
    )
)]
pub async fn show(mut client: ApiClient, IdPath(id): IdPath) -> Result<Json<CompanyOut>, ApiError> {
    let company = find(&mut client.tx, id).await?;
    client.tx.commit().await?;
    Ok(Json(company.into()))
}

/// Changes the fields given, and only those.
#[utoipa::path(
    patch, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = Uuid, Path, description = "The company's id")),
    request_body = CompanyInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CompanyOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Invalid (the field is named)", body = ErrorBody),
    )
)]
pub async fn update(
    mut client: ApiClient,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<CompanyInput>,
) -> Result<Json<CompanyOut>, ApiError> {
    let company = find(&mut client.tx, id).await?;
    let fields = checked(&mut client.tx, Some(&company), &input).await?;
    db::companies::update(&mut client.tx, id, &fields).await?;
    let company = find(&mut client.tx, id).await?;
    client.tx.commit().await?;
    Ok(Json(company.into()))
}

/// Deletes the company; its contacts stay, without a company.
#[utoipa::path(
    delete, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = Uuid, Path, description = "The company's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn delete(mut client: ApiClient, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    if !db::companies::delete(&mut client.tx, id).await? {
        return Err(AppError::NotFound.into());
    }
    client.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn find(tx: &mut TenantTx, id: Uuid) -> Result<Company, AppError> {
    db::companies::find(tx, id).await?.ok_or(AppError::NotFound)
}

/// The input laid over the company (or an empty form) and parsed as the
/// company form would.
async fn checked(
    tx: &mut TenantTx,
    existing: Option<&Company>,
    input: &CompanyInput,
) -> Result<CompanyFields, AppError> {
    let defs = db::attributes::list(tx, Entity::Company).await?;
    let mut form = match existing {
        Some(company) => CompanyForm::from_company(company, &defs),
        None => CompanyForm::default(),
    };
    for (value, slot) in [
        (&input.name, &mut form.name),
        (&input.domain, &mut form.domain),
        (&input.address, &mut form.address),
    ] {
        if let Some(value) = value {
            *slot = value.clone().unwrap_or_default();
        }
    }
    let mut errors = vec![];
    if let Some(values) = &input.attributes {
        lay_attributes(&defs, values, &mut form.attributes, &mut errors);
    }
    // Every problem at once: the form's own, beside the attributes'.
    match form.parse(&defs) {
        Ok(fields) if errors.is_empty() => return Ok(fields),
        Ok(_) => {}
        Err(form_errors) => {
            errors.extend(form_errors.iter().map(|e| field_first(e, &COMPANY_FIELDS)))
        }
    }
    Err(AppError::Unprocessable(errors.join(" ")))
}
