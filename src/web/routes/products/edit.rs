use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::{ProductForm, sku_taken};
use crate::domain::{money, tax};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::products::{Product, SaveError};
use crate::infra::tenancy::capability::{Capability, ManageCatalogue};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// The new-product form, and a product's page: its form for owners and
/// admins, its details for everyone else.
#[derive(Template, WebTemplate)]
#[template(path = "products/product.html")]
pub struct ProductPage {
    page: Page,
    /// `None` while creating.
    product: Option<Product>,
    form: ProductForm,
    errors: Vec<String>,
    can_manage: bool,
}

impl ProductPage {
    fn price(product: &Product) -> String {
        money::shown(product.price, &product.currency)
    }

    fn tax_rate(product: &Product) -> String {
        tax::shown_rate(product.tax_rate)
    }
}

fn render<C: Capability>(
    status: StatusCode,
    tenant: Tenant<C>,
    product: Option<Product>,
    form: ProductForm,
    errors: Vec<String>,
) -> Response {
    (
        status,
        ProductPage {
            can_manage: ManageCatalogue::allows(tenant.member.role),
            page: tenant.page,
            product,
            form,
            errors,
        },
    )
        .into_response()
}

/// The product of this workspace with the id in the path; a malformed id is
/// as missing as another workspace's.
async fn find_product<C: Capability>(tenant: &mut Tenant<C>, id: Uuid) -> Result<Product> {
    db::products::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn new(tenant: Tenant<ManageCatalogue>) -> Result<Response> {
    let form = ProductForm {
        currency: "USD".to_owned(),
        ..ProductForm::default()
    };
    Ok(render(StatusCode::OK, tenant, None, form, vec![]))
}

pub async fn create(
    mut tenant: Tenant<ManageCatalogue>,
    HtmlForm(form): HtmlForm<ProductForm>,
) -> Result<Response> {
    let fields = match form.parse() {
        Ok(fields) => fields,
        Err(errors) => {
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                None,
                form,
                errors,
            ));
        }
    };
    let id = match db::products::insert(&mut tenant.tx, &fields).await {
        Ok(id) => id,
        Err(SaveError::SkuTaken(sku)) => {
            let errors = vec![sku_taken(&sku)];
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                None,
                form,
                errors,
            ));
        }
        Err(SaveError::Database(e)) => return Err(e.into()),
    };
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Product added.")
        .await?;
    Ok(Redirect::to(&format!("/products/{id}")).into_response())
}

pub async fn show(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let product = find_product(&mut tenant, id).await?;
    let form = ProductForm::from_product(&product);
    Ok(render(StatusCode::OK, tenant, Some(product), form, vec![]))
}

pub async fn update(
    mut tenant: Tenant<ManageCatalogue>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ProductForm>,
) -> Result<Response> {
    let product = find_product(&mut tenant, id).await?;
    let fields = match form.parse() {
        Ok(fields) => fields,
        Err(errors) => {
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                Some(product),
                form,
                errors,
            ));
        }
    };
    match db::products::update(&mut tenant.tx, product.id, &fields).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::NotFound),
        Err(SaveError::SkuTaken(sku)) => {
            let errors = vec![sku_taken(&sku)];
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                Some(product),
                form,
                errors,
            ));
        }
        Err(SaveError::Database(e)) => return Err(e.into()),
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Product saved.")
        .await?;
    Ok(Redirect::to(&format!("/products/{}", product.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActiveForm {
    /// `true` restores, `false` archives.
    active: String,
}

/// Archives or restores a product. Archived products leave the list and
/// are not found by their SKU; their row stays for what refers to them.
pub async fn set_active(
    mut tenant: Tenant<ManageCatalogue>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ActiveForm>,
) -> Result<Response> {
    let product = find_product(&mut tenant, id).await?;
    let active = match form.active.trim() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(AppError::Unprocessable(
                "Active: choose archive (false) or restore (true).".into(),
            ));
        }
    };
    if !db::products::set_active(&mut tenant.tx, product.id, active).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    let done = if active {
        "Product restored."
    } else {
        "Product archived: it no longer shows in the list or in orders."
    };
    tenant.session.flash(FlashKind::Success, done).await?;
    Ok(Redirect::to(&format!("/products/{}", product.id)).into_response())
}
