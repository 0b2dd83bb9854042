use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::document_totals::{DocumentTotals, round2};
use crate::domain::local_time;
use crate::domain::{DocumentKind, DocumentState, MessageKind, OrderSource};
use crate::error::{AppError, Result};
use crate::features::documents::{
    Customer, LabelledDate, PrintableDocument, PrintableLine, Seller,
};
use crate::features::inbox::outbound::{self, Outgoing};
use crate::infra::db;
use crate::infra::db::orders::{NewOrder, OrderLine};
use crate::infra::db::sales_documents::SalesDocument;
use crate::infra::tenancy::member::Tenant;
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tenancy::{TenantTx, bootstrap};
use crate::infra::tokens::TenantToken;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// Today on the workspace's clock.
async fn today(tx: &mut TenantTx) -> Result<time::Date> {
    let zone = db::orgs::time_zone(tx).await?;
    let now = time::OffsetDateTime::now_utc();
    Ok(local_time::input_value(now, &zone)
        .get(..10)
        .and_then(|d| {
            time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()
        })
        .unwrap_or(now.date()))
}

/// A draft gets the next number of its kind (no gaps: the number is taken
/// in this transaction) and is sent.
pub async fn issue(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let document = db::sales_documents::find_for_update(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !document.is_draft() {
        return Err(AppError::Conflict(format!(
            "{} is issued already.",
            document.reference()
        )));
    }
    if db::sales_documents::lines(&mut tenant.tx, document.id)
        .await?
        .is_empty()
    {
        return Err(AppError::Unprocessable(
            "Add at least one line before issuing it.".into(),
        ));
    }
    let date = today(&mut tenant.tx).await?;
    db::sales_documents::issue(&mut tenant.tx, &document, date).await?;
    let issued = db::sales_documents::find(&mut tenant.tx, document.id)
        .await?
        .ok_or(AppError::NotFound)?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("{} {} issued.", issued.title(), issued.reference()),
        )
        .await?;
    Ok(Redirect::to(&format!("/documents/{}", document.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateForm {
    state: String,
}

/// The states a document may move to from where it is.
fn allowed(document: &SalesDocument, to: DocumentState) -> bool {
    use DocumentState::{Accepted, Paid, Sent, Void};
    matches!(
        (document.kind, document.state, to),
        (DocumentKind::Quote, Sent, Accepted)
            | (DocumentKind::Invoice, Sent, Paid)
            | (_, Sent | Accepted | Paid, Void)
    )
}

/// Accepted (a quote: the order is made of its lines), paid (an invoice),
/// or void.
pub async fn change(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<StateForm>,
) -> Result<Response> {
    let document = db::sales_documents::find_for_update(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(to) = DocumentState::parse(form.state.trim()).filter(|to| {
        matches!(
            to,
            DocumentState::Accepted | DocumentState::Paid | DocumentState::Void
        )
    }) else {
        return Err(AppError::Unprocessable(
            "State: accepted, paid or void.".into(),
        ));
    };
    if !allowed(&document, to) {
        return Err(AppError::Conflict(format!(
            "{} {} is {}: it cannot become {to}.",
            document.title(),
            document.reference(),
            document.state
        )));
    }
    let mut said = format!("{} {} is {to}.", document.title(), document.reference());
    let mut order_id = None;
    if to == DocumentState::Accepted {
        let lines = db::sales_documents::lines(&mut tenant.tx, document.id).await?;
        let order = NewOrder {
            source: OrderSource::Quote,
            contact_id: document.contact_id,
            conversation_id: document.conversation_id,
            message_id: None,
            currency: document.currency.clone(),
            note: Some(format!("From quote {}.", document.reference())),
            lines: lines
                .iter()
                .map(|l| OrderLine {
                    product_id: l.product_id,
                    sku: None,
                    description: l.description.clone(),
                    quantity: l.quantity,
                    // What one costs with its discount and tax, so the
                    // order's lines add up to the quote's total.
                    unit_price: round2(l.total / l.quantity),
                    line_total: l.total,
                })
                .collect(),
        };
        if let Some((id, number)) = db::orders::insert(&mut tenant.tx, &order).await? {
            order_id = Some(id);
            said = format!("{said} It became order #{number}.");
        }
    }
    db::sales_documents::set_state(&mut tenant.tx, document.id, to, order_id).await?;
    tenant.tx.commit().await?;
    tenant.session.flash(FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/documents/{}", document.id)).into_response())
}

/// The document as a PDF (a draft stamped DRAFT, a void one VOID).
async fn render_pdf(tx: &mut TenantTx, document: &SalesDocument) -> Result<Vec<u8>> {
    let lines = db::sales_documents::lines(tx, document.id).await?;
    let org_name = db::orgs::get(tx).await?.map(|o| o.name).unwrap_or_default();
    let date = match document.issue_date {
        Some(date) => date,
        None => today(tx).await?,
    };
    let mut printable_lines = Vec::with_capacity(lines.len());
    for line in &lines {
        printable_lines.push(PrintableLine {
            description: line.description.clone(),
            input: line.input().map_err(|e| anyhow::anyhow!(e))?,
        });
    }
    let inputs: Vec<_> = printable_lines.iter().map(|l| l.input.clone()).collect();
    let totals = DocumentTotals::compute(&inputs).map_err(|e| anyhow::anyhow!(e))?;
    let stamp = match document.state {
        DocumentState::Draft => Some("DRAFT"),
        DocumentState::Void => Some("VOID"),
        DocumentState::Paid => Some("PAID"),
        DocumentState::Sent | DocumentState::Accepted => None,
    };
    let printable = PrintableDocument {
        title: document.title().to_owned(),
        number: document.reference(),
        issue_date: date,
        second_date: document.second_date.map(|date| LabelledDate {
            label: if document.kind.is_quote() {
                "Valid until".to_owned()
            } else {
                "Due".to_owned()
            },
            date,
        }),
        seller: Seller {
            name: org_name,
            lines: vec![],
        },
        customer: Customer {
            name: document.contact_name.clone(),
            phone: document.contact_phone.clone(),
            email: document.contact_email.clone(),
        },
        currency: document.currency.clone(),
        lines: printable_lines,
        totals,
        notes: document.notes.clone().unwrap_or_default(),
        stamp: stamp.map(str::to_owned),
    };
    Ok(crate::features::documents::render(&printable).map_err(anyhow::Error::from)?)
}

pub async fn pdf(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let document = db::sales_documents::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let bytes = render_pdf(&mut tenant.tx, &document).await?;
    tenant.tx.commit().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.pdf\"", document.reference()),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Sends the issued document's PDF into the customer's conversation (its
/// own, or their latest), while WhatsApp's 24-hour window is open.
pub async fn send(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
) -> Result<Response> {
    let document = db::sales_documents::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if document.is_draft() || document.state.is_void() {
        return Err(AppError::Conflict(format!(
            "{} {} is {}: only issued documents go to customers.",
            document.title(),
            document.reference(),
            document.state
        )));
    }
    let viewer = tenant.member.user_id;
    let visibility = tenant.member.visibility();
    let conversation_id = match (document.conversation_id, document.contact_id) {
        (Some(id), _) => Some(id),
        (None, Some(contact)) => db::conversations::others_of_contact(
            &mut tenant.tx,
            contact,
            Uuid::nil(),
            viewer,
            visibility,
            1,
        )
        .await?
        .pop()
        .map(|c| c.id),
        (None, None) => None,
    };
    let conversation = match conversation_id {
        Some(id) => db::conversations::find(&mut tenant.tx, id, viewer, visibility).await?,
        None => None,
    }
    .ok_or_else(|| {
        AppError::Unprocessable(
            "There is no conversation with this customer to send it in: download the PDF instead."
                .into(),
        )
    })?;
    if outbound::window_closed(&mut tenant.tx, &conversation).await? {
        return Err(AppError::Unprocessable(
            "WhatsApp's 24-hour window with this customer is closed: only templates go now. \
             Send it once they write again, or download the PDF."
                .into(),
        ));
    }
    let bytes = render_pdf(&mut tenant.tx, &document).await?;
    let filename = format!("{}.pdf", document.reference());
    let stored = db::media::store(
        &mut tenant.tx,
        &state.media,
        Some("application/pdf"),
        &filename,
        crate::infra::media_store::Incoming::from_bytes(bytes),
    )
    .await?;
    let caption = format!(
        "{} {} · {}",
        document.title(),
        document.reference(),
        document.amount()
    );
    let outgoing = Outgoing {
        kind: MessageKind::Document,
        text: &caption,
        reply_to: None,
        media: Some(serde_json::json!({
            "url": format!("/media/{}", stored.id),
            "mime_type": stored.content_type,
            "filename": filename,
        })),
    };
    outbound::queue(
        &mut tenant.tx,
        &state.secrets,
        &conversation,
        Some(viewer),
        &outgoing,
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("{caption} sent into the conversation."),
        )
        .await?;
    Ok(Redirect::to(&format!("/documents/{}", document.id)).into_response())
}

/// Prefix of share-link tokens.
const SHARE_PREFIX: &str = "doc";

/// A link anyone may open to download the issued document's PDF; a new
/// one replaces the old. Shown once (only its hash is kept).
pub async fn share(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
) -> Result<Response> {
    let document = db::sales_documents::find_for_update(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if document.is_draft() {
        return Err(AppError::Conflict(
            "Issue it first: a draft is not shared.".into(),
        ));
    }
    let token = TenantToken::generate(tenant.member.org_id)?;
    db::sales_documents::set_share(&mut tenant.tx, document.id, Some(&token.hash())).await?;
    tenant.tx.commit().await?;
    let link = state.url(&format!("/shared/documents/{}", token.encode(SHARE_PREFIX)));
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!(
                "Anyone with this link can download {}: {link}",
                document.reference()
            ),
        )
        .await?;
    Ok(Redirect::to(&format!("/documents/{}", document.id)).into_response())
}

/// The share link stops working.
pub async fn unshare(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let document = db::sales_documents::find_for_update(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::sales_documents::set_share(&mut tenant.tx, document.id, None).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "The share link no longer works.")
        .await?;
    Ok(Redirect::to(&format!("/documents/{}", document.id)).into_response())
}

/// The public side of a share link: the PDF, or 404 for anything else
/// (unknown, replaced or stopped links are never told apart).
pub async fn shared(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response> {
    let token = TenantToken::parse(SHARE_PREFIX, &token).ok_or(AppError::NotFound)?;
    let mut tx = bootstrap::for_token(&state.pool, &token).await?;
    let document = db::sales_documents::find_shared(&mut tx, &token.hash())
        .await?
        .ok_or(AppError::NotFound)?;
    let bytes = render_pdf(&mut tx, &document).await?;
    tx.commit().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.pdf\"", document.reference()),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
