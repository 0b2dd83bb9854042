//! Orders: the list (by status), an order's page with its lines, moving
//! it through its statuses (the customer is told), the order made of a
//! cart message, and the template status changes use outside WhatsApp's
//! 24-hour window (settings).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::domain::document_totals::{DocumentTotals, LineInput};
use crate::domain::{DocumentKind, OrderStatus};
use crate::error::{AppError, Result};
use crate::features::documents::figures;
use crate::features::orders::Told;
use crate::infra::db;
use crate::infra::db::orders::{Order, OrderLine};
use crate::infra::db::sales_documents::{DraftHead, NewLine};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use rust_decimal::Decimal;

/// Orders the list shows.
const LIST_LIMIT: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list))
        .route("/orders/{id}", get(show))
        .route("/orders/{id}/status", post(change_status))
        .route("/orders/{id}/invoice", post(invoice))
        .route("/orders/from-message/{id}", get(from_message))
        .route("/settings/orders", get(settings).post(save_settings))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    status: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "orders/index.html")]
struct ListPage {
    page: Page,
    orders: Vec<Order>,
    /// The filter: `None` for every status.
    status: Option<OrderStatus>,
    statuses: &'static [OrderStatus],
}

impl ListPage {
    /// Whether the list is filtered to this status.
    fn is_shown(&self, status: &OrderStatus) -> bool {
        self.status == Some(*status)
    }
}

async fn list(mut tenant: Tenant, Query(query): Query<ListQuery>) -> Result<Response> {
    let status = match query.status.trim() {
        "" => None,
        typed => Some(OrderStatus::parse(typed).ok_or_else(|| {
            AppError::Unprocessable("Status: new, confirmed, fulfilled or cancelled.".into())
        })?),
    };
    let orders = db::orders::list(&mut tenant.tx, status, LIST_LIMIT).await?;
    tenant.tx.commit().await?;
    Ok(ListPage {
        page: tenant.page,
        orders,
        status,
        statuses: OrderStatus::ALL,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "orders/order.html")]
struct OrderPage {
    page: Page,
    order: Order,
    lines: Vec<OrderLine>,
    statuses: &'static [OrderStatus],
}

impl OrderPage {
    fn quantity(line: &OrderLine) -> String {
        figures::quantity(line.quantity)
    }

    fn money(&self, amount: &rust_decimal::Decimal) -> String {
        crate::domain::money::shown(*amount, &self.order.currency)
    }
}

async fn show(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let order = db::orders::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = db::orders::lines(&mut tenant.tx, order.id).await?;
    tenant.tx.commit().await?;
    Ok(OrderPage {
        page: tenant.page,
        order,
        lines,
        statuses: OrderStatus::ALL,
    }
    .into_response())
}

async fn from_message(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let order = db::orders::id_of_message(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/orders/{order}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    status: String,
}

async fn change_status(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<StatusForm>,
) -> Result<Response> {
    let order = db::orders::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let status = OrderStatus::parse(form.status.trim()).ok_or_else(|| {
        AppError::Unprocessable("Status: new, confirmed, fulfilled or cancelled.".into())
    })?;
    let member = tenant.member.user_id;
    let told = crate::features::orders::change_status(
        &mut tenant.tx,
        &state.secrets,
        &order,
        status,
        member,
    )
    .await?;
    tenant.tx.commit().await?;
    let said = match told {
        None => format!("Order #{} was {status} already.", order.number),
        Some(Told::Text) => format!(
            "Order #{} is {status}; the customer was told.",
            order.number
        ),
        Some(Told::Template) => format!(
            "Order #{} is {status}; the customer was told with the order template (the 24-hour window is closed).",
            order.number
        ),
        Some(Told::Not(why)) => format!(
            "Order #{} is {status}, but the customer was not told: {why}.",
            order.number
        ),
    };
    tenant.session.flash(FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/orders/{}", order.id)).into_response())
}

/// A draft invoice of the order's lines (at their prices, without tax: the
/// member reviews the draft before issuing it).
async fn invoice(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let order = db::orders::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let contact_id = order.contact_id.ok_or_else(|| {
        AppError::Unprocessable(
            "The order's customer was deleted: an invoice needs a contact.".into(),
        )
    })?;
    let mut lines = vec![];
    for line in db::orders::lines(&mut tenant.tx, order.id).await? {
        let input = LineInput::new(line.quantity, line.unit_price, Decimal::ZERO, Decimal::ZERO)
            .map_err(AppError::Unprocessable)?;
        lines.push(NewLine {
            product_id: line.product_id,
            description: line.description,
            input,
        });
    }
    let inputs: Vec<LineInput> = lines.iter().map(|l| l.input.clone()).collect();
    let totals = DocumentTotals::compute(&inputs).map_err(AppError::Unprocessable)?;
    let notes = format!("For order #{}.", order.number);
    let head = DraftHead {
        kind: DocumentKind::Invoice,
        contact_id,
        conversation_id: order.conversation_id,
        currency: order.currency.clone(),
        second_date: None,
        notes: Some(notes.clone()),
    };
    let author = tenant.member.user_id;
    let draft = db::sales_documents::insert_draft(&mut tenant.tx, &head, author).await?;
    db::sales_documents::save_draft(
        &mut tenant.tx,
        draft,
        &order.currency,
        None,
        Some(&notes),
        &lines,
        &totals,
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!(
                "A draft invoice of order #{}: check it, then issue it.",
                order.number
            ),
        )
        .await?;
    Ok(Redirect::to(&format!("/documents/{draft}")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "orders/settings.html")]
struct SettingsPage {
    page: Page,
    name: String,
    language: String,
    errors: Vec<String>,
}

async fn settings(mut tenant: Tenant<ManageSettings>) -> Result<Response> {
    let (name, language) = db::orders::template(&mut tenant.tx)
        .await?
        .unwrap_or_default();
    tenant.tx.commit().await?;
    Ok(SettingsPage {
        page: tenant.page,
        name,
        language,
        errors: vec![],
    }
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TemplateForm {
    name: String,
    language: String,
}

/// Both empty: no template (customers outside the window are not told).
async fn save_settings(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<TemplateForm>,
) -> Result<Response> {
    let (name, language) = (form.name.trim(), form.language.trim());
    let well_formed = |s: &str| {
        !s.is_empty()
            && s.len() <= 512
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let template = match (name.is_empty(), language.is_empty()) {
        (true, true) => None,
        _ if well_formed(name) && well_formed(language) => Some((name, language)),
        _ => {
            let page = SettingsPage {
                page: tenant.page,
                name: form.name.clone(),
                language: form.language.clone(),
                errors: vec![
                    "Template: give its name and language code as WhatsApp knows them (like order_update and en_US), or leave both empty.".to_owned(),
                ],
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    db::orders::set_template(&mut tenant.tx, template).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Order template saved.")
        .await?;
    Ok(Redirect::to("/settings/orders").into_response())
}
