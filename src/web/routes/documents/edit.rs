use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::lines::{BLANK_ROWS, EditorForm, Row, check};
use crate::domain::document_totals::DocumentTotals;
use crate::domain::{DocumentKind, money};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::products::Product;
use crate::infra::db::sales_documents::{DraftHead, SalesDocument, SalesLine};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// Documents a list shows.
const LIST_LIMIT: i64 = 200;
/// Products the editor offers.
const PRODUCTS_OFFERED: i64 = 500;

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    kind: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "documents/index.html")]
struct ListPage {
    page: Page,
    kind: DocumentKind,
    documents: Vec<SalesDocument>,
}

pub async fn list(mut tenant: Tenant, Query(query): Query<ListQuery>) -> Result<Response> {
    let kind = DocumentKind::or_quote(&query.kind);
    let documents = db::sales_documents::list(&mut tenant.tx, kind, LIST_LIMIT).await?;
    tenant.tx.commit().await?;
    Ok(ListPage {
        page: tenant.page,
        kind,
        documents,
    }
    .into_response())
}

/// A new draft's head as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewForm {
    kind: String,
    contact: String,
    conversation: String,
    currency: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "documents/new.html")]
struct NewPage {
    page: Page,
    kind: DocumentKind,
    form: NewForm,
    contact_name: String,
    errors: Vec<String>,
}

/// The contact (the conversation's, when it starts there), checked to be
/// this workspace's and visible to the member; its name.
async fn whom(tenant: &mut Tenant, form: &mut NewForm) -> Result<(Uuid, String)> {
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
    let contact_id = Uuid::try_parse(form.contact.trim()).map_err(|_| {
        AppError::Unprocessable(
            "A quote or invoice is for a contact: start it from their page or conversation.".into(),
        )
    })?;
    let contact = db::contacts::find(&mut tenant.tx, contact_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((contact.id, contact.name))
}

async fn new_page(mut tenant: Tenant, mut form: NewForm, errors: Vec<String>) -> Result<Response> {
    let (_, contact_name) = whom(&mut tenant, &mut form).await?;
    tenant.tx.commit().await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        NewPage {
            page: tenant.page,
            kind: DocumentKind::or_quote(&form.kind),
            form,
            contact_name,
            errors,
        },
    )
        .into_response())
}

/// `?kind=invoice`, and `?contact=` or `?conversation=`.
pub async fn new(tenant: Tenant, Query(mut form): Query<NewForm>) -> Result<Response> {
    if form.currency.is_empty() {
        form.currency = "USD".to_owned();
    }
    new_page(tenant, form, vec![]).await
}

pub async fn create(mut tenant: Tenant, HtmlForm(mut form): HtmlForm<NewForm>) -> Result<Response> {
    let (contact_id, _) = whom(&mut tenant, &mut form).await?;
    let currency = match money::parse_currency(&form.currency) {
        Ok(currency) => currency,
        Err(e) => return new_page(tenant, form, vec![format!("Currency: {e}")]).await,
    };
    let head = DraftHead {
        kind: DocumentKind::or_quote(&form.kind),
        contact_id,
        conversation_id: Uuid::try_parse(form.conversation.trim()).ok(),
        currency,
        second_date: None,
        notes: None,
    };
    let id =
        db::sales_documents::insert_draft(&mut tenant.tx, &head, tenant.member.user_id).await?;
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/documents/{id}")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "documents/document.html")]
struct DocumentPage {
    page: Page,
    document: SalesDocument,
    lines: Vec<SalesLine>,
    /// The editor's rows (a draft's lines or what was typed, and blanks).
    rows: Vec<Row>,
    form: EditorForm,
    products: Vec<Product>,
    errors: Vec<String>,
    /// The tax per rate, as the PDF shows it.
    tax_breakdown: Vec<(String, String, String)>,
    /// A share link works.
    shared: bool,
}

impl DocumentPage {
    fn money(&self, amount: &rust_decimal::Decimal) -> String {
        money::shown(*amount, &self.document.currency)
    }

    fn quantity(line: &SalesLine) -> String {
        crate::features::documents::figures::quantity(line.quantity)
    }

    fn unit_price(line: &SalesLine) -> String {
        crate::features::documents::figures::unit_price(line.unit_price)
    }

    fn second_label(&self) -> &'static str {
        if self.document.kind.is_quote() {
            "Valid until"
        } else {
            "Due"
        }
    }
}

async fn render(
    mut tenant: Tenant,
    document: SalesDocument,
    rows: Option<Vec<Row>>,
    form: EditorForm,
    errors: Vec<String>,
) -> Result<Response> {
    let lines = db::sales_documents::lines(&mut tenant.tx, document.id).await?;
    let shared = db::sales_documents::is_shared(&mut tenant.tx, document.id).await?;
    let products = if document.is_draft() {
        db::products::list(&mut tenant.tx, "", false, PRODUCTS_OFFERED).await?
    } else {
        vec![]
    };
    tenant.tx.commit().await?;
    let mut rows = rows.unwrap_or_else(|| lines.iter().map(Row::of).collect());
    rows.extend((0..BLANK_ROWS).map(|_| Row::default()));
    let inputs: Vec<_> = lines.iter().filter_map(|l| l.input().ok()).collect();
    let tax_breakdown = DocumentTotals::compute(&inputs)
        .map(|t| {
            t.tax_breakdown
                .iter()
                .map(|band| {
                    (
                        crate::features::documents::figures::percent(band.rate_percent),
                        money::shown(band.net_base, &document.currency),
                        money::shown(band.tax, &document.currency),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        DocumentPage {
            page: tenant.page,
            document,
            lines,
            rows,
            form,
            products,
            errors,
            tax_breakdown,
            shared,
        },
    )
        .into_response())
}

fn form_of(document: &SalesDocument) -> EditorForm {
    EditorForm {
        currency: document.currency.clone(),
        second_date: document
            .second_date
            .and_then(|d| d.format(DATE).ok())
            .unwrap_or_default(),
        notes: document.notes.clone().unwrap_or_default(),
        ..EditorForm::default()
    }
}

pub async fn show(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let document = db::sales_documents::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let form = form_of(&document);
    render(tenant, document, None, form, vec![]).await
}

/// Saves a draft's head and lines; anything wrong keeps what was typed.
pub async fn save(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<EditorForm>,
) -> Result<Response> {
    let document = db::sales_documents::find_for_update(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !document.is_draft() {
        return Err(AppError::Conflict(format!(
            "{} is issued: it cannot change any more (void it and make a new one).",
            document.reference()
        )));
    }
    let mut errors = vec![];
    let currency = money::parse_currency(&form.currency)
        .map_err(|e| errors.push(format!("Currency: {e}")))
        .unwrap_or_default();
    let second_date = match form.second_date.trim() {
        "" => None,
        typed => time::Date::parse(typed, DATE)
            .map_err(|_| errors.push(format!("Date: \"{typed}\" is not a date (YYYY-MM-DD).")))
            .ok(),
    };
    let notes = Some(form.notes.trim()).filter(|n| !n.is_empty());
    if notes.is_some_and(|n| n.chars().count() > 5000) {
        errors.push("Notes are too long (5,000 characters at most).".to_owned());
    }
    let products = db::products::list(&mut tenant.tx, "", false, PRODUCTS_OFFERED).await?;
    let rows = form.rows();
    let lines = check(&rows, &products, &currency).unwrap_or_else(|e| {
        errors.extend(e);
        vec![]
    });
    let inputs: Vec<_> = lines.iter().map(|l| l.input.clone()).collect();
    let totals = DocumentTotals::compute(&inputs).map_err(|e| errors.push(e));
    let totals = match totals {
        Ok(totals) if errors.is_empty() => totals,
        _ => return render(tenant, document, Some(rows), form, errors).await,
    };
    db::sales_documents::save_draft(
        &mut tenant.tx,
        document.id,
        &currency,
        second_date,
        notes,
        &lines,
        &totals,
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("Saved: {}.", money::shown(totals.total, &currency)),
        )
        .await?;
    Ok(Redirect::to(&format!("/documents/{}", document.id)).into_response())
}

/// Drafts only: an issued document has a number and stays (void it).
pub async fn delete(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let document = db::sales_documents::find_for_update(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !db::sales_documents::delete_draft(&mut tenant.tx, document.id).await? {
        return Err(AppError::Conflict(format!(
            "{} is issued: it is kept (void it instead).",
            document.reference()
        )));
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Draft deleted.")
        .await?;
    Ok(Redirect::to(&format!("/documents?kind={}", document.kind)).into_response())
}
