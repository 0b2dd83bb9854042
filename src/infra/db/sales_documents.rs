//! Quotes and invoices, and their lines (amounts computed by the caller
//! with `domain::document_totals` and stored as they were shown).

use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::document_totals::{DocumentTotals, LineInput};
use crate::domain::{DocumentKind, DocumentState};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SalesDocument {
    pub id: Uuid,
    pub kind: DocumentKind,
    pub number: Option<i64>,
    pub state: DocumentState,
    pub contact_id: Option<Uuid>,
    pub contact_name: String,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub conversation_id: Option<Uuid>,
    pub currency: String,
    pub issue_date: Option<Date>,
    pub second_date: Option<Date>,
    pub notes: Option<String>,
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
    pub order_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

impl SalesDocument {
    /// "Q-0007" or "INV-0042"; "Draft" before it is issued.
    pub fn reference(&self) -> String {
        match self.number {
            Some(n) if self.kind.is_quote() => format!("Q-{n:04}"),
            Some(n) => format!("INV-{n:04}"),
            None => "Draft".to_owned(),
        }
    }

    pub fn title(&self) -> &'static str {
        if self.kind.is_quote() {
            "Quote"
        } else {
            "Invoice"
        }
    }

    pub fn is_draft(&self) -> bool {
        self.state.is_draft()
    }

    pub fn amount(&self) -> String {
        crate::domain::money::shown(self.total, &self.currency)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SalesLine {
    pub product_id: Option<Uuid>,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub discount_percent: Decimal,
    pub tax_rate: Decimal,
    pub gross: Decimal,
    pub discount: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

impl SalesLine {
    /// The line as the totals take it (stored values passed those checks).
    pub fn input(&self) -> Result<LineInput, String> {
        LineInput::new(
            self.quantity,
            self.unit_price,
            self.discount_percent,
            self.tax_rate,
        )
    }
}

/// A line as checked from the form: what it is and its input.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub product_id: Option<Uuid>,
    pub description: String,
    pub input: LineInput,
}

/// `query_as!(SalesDocument, ...)` of the columns of `sales_documents d`
/// (the document stands alone: it keeps its customer's details) followed
/// by `$tail`: one column list, each query still a literal the macro checks.
macro_rules! select_documents {
    ($tail:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            SalesDocument,
            r#"select d.id, d.kind as "kind: DocumentKind", d.number,
               d.state as "state: DocumentState", d.contact_id,
               d.customer_name as contact_name, d.customer_phone as contact_phone,
               d.customer_email as contact_email, d.conversation_id, d.currency,
               d.issue_date, d.second_date, d.notes, d.subtotal, d.discount, d.net, d.tax,
               d.total, d.order_id, d.created_at
             from sales_documents d "# + $tail,
            $($arg),+
        )
    };
}

/// The head of a new draft.
#[derive(Debug, Clone)]
pub struct DraftHead {
    pub kind: DocumentKind,
    pub contact_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub currency: String,
    pub second_date: Option<Date>,
    pub notes: Option<String>,
}

pub async fn insert_draft(tx: &mut TenantTx, head: &DraftHead, author: Uuid) -> sqlx::Result<Uuid> {
    let org_id = tx.org_id();
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into sales_documents (org_id, id, kind, contact_id, conversation_id, currency, \
           second_date, notes, created_by, customer_name, customer_phone, customer_email) \
         select $1, $2, $3, $4, $5, $6, $7, $8, $9, c.name, c.phone, c.email \
         from contacts c where c.org_id = $1 and c.id = $4",
        org_id,
        id,
        head.kind.as_str(),
        head.contact_id,
        head.conversation_id,
        head.currency,
        head.second_date,
        head.notes,
        author
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Locked for the change (an edit, issuing, a state change).
pub async fn find_for_update(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<SalesDocument>> {
    let org_id = tx.org_id();
    select_documents!(
        "where d.org_id = $1 and d.id = $2 for update of d",
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<SalesDocument>> {
    let org_id = tx.org_id();
    select_documents!("where d.org_id = $1 and d.id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await
}

pub async fn lines(tx: &mut TenantTx, document_id: Uuid) -> sqlx::Result<Vec<SalesLine>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        SalesLine,
        "select product_id, description, quantity, unit_price, discount_percent, tax_rate, \
           gross, discount, net, tax, total from sales_document_lines \
         where org_id = $1 and document_id = $2 order by position",
        org_id,
        document_id
    )
    .fetch_all(tx.conn())
    .await
}

/// A draft's head and lines replaced, with its amounts (`totals` computed
/// from `lines`, in order).
pub async fn save_draft(
    tx: &mut TenantTx,
    id: Uuid,
    currency: &str,
    second_date: Option<Date>,
    notes: Option<&str>,
    lines: &[NewLine],
    totals: &DocumentTotals,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "delete from sales_document_lines where org_id = $1 and document_id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    for (position, (line, amounts)) in lines.iter().zip(&totals.lines).enumerate() {
        sqlx::query!(
            "insert into sales_document_lines (org_id, document_id, position, product_id, \
               description, quantity, unit_price, discount_percent, tax_rate, gross, discount, \
               net, tax, total) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            org_id,
            id,
            i32::try_from(position).unwrap_or(i32::MAX),
            line.product_id,
            line.description,
            line.input.quantity(),
            line.input.unit_price(),
            line.input.discount_percent(),
            line.input.tax_rate_percent(),
            amounts.gross,
            amounts.discount,
            amounts.net,
            amounts.tax,
            amounts.total
        )
        .execute(tx.conn())
        .await?;
    }
    sqlx::query!(
        "update sales_documents set currency = $3, second_date = $4, notes = $5, subtotal = $6, \
           discount = $7, net = $8, tax = $9, total = $10, updated_at = now() \
         where org_id = $1 and id = $2 and state = 'draft'",
        org_id,
        id,
        currency,
        second_date,
        notes,
        totals.subtotal,
        totals.discount,
        totals.net,
        totals.tax,
        totals.total
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Gives the draft the next number of its kind and marks it sent.
pub async fn issue(
    tx: &mut TenantTx,
    document: &SalesDocument,
    issue_date: Date,
) -> sqlx::Result<i64> {
    let number = super::sequences::next(tx, document.kind.as_str()).await?;
    let org_id = tx.org_id();
    sqlx::query!(
        "update sales_documents d set number = $3, state = 'sent', issue_date = $4, \
           issued_at = now(), updated_at = now(), \
           customer_name = coalesce(c.name, d.customer_name), \
           customer_phone = case when c.id is null then d.customer_phone else c.phone end, \
           customer_email = case when c.id is null then d.customer_email else c.email end \
         from sales_documents x left join contacts c on c.org_id = x.org_id and c.id = x.contact_id \
         where x.org_id = $1 and x.id = $2 and d.org_id = x.org_id and d.id = x.id \
           and d.state = 'draft'",
        org_id,
        document.id,
        number,
        issue_date
    )
    .execute(tx.conn())
    .await?;
    Ok(number)
}

pub async fn set_state(
    tx: &mut TenantTx,
    id: Uuid,
    state: DocumentState,
    order_id: Option<Uuid>,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update sales_documents set state = $3, order_id = coalesce($4, order_id), \
           updated_at = now() where org_id = $1 and id = $2",
        org_id,
        id,
        state.as_str(),
        order_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn delete_draft(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "delete from sales_documents where org_id = $1 and id = $2 and state = 'draft'",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Newest first.
pub async fn list(
    tx: &mut TenantTx,
    kind: DocumentKind,
    limit: i64,
) -> sqlx::Result<Vec<SalesDocument>> {
    let org_id = tx.org_id();
    select_documents!(
        "where d.org_id = $1 and d.kind = $2 order by d.created_at desc, d.id desc limit $3",
        org_id,
        kind.as_str(),
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// A new share link's hash (replacing any before); `None` to stop sharing.
pub async fn set_share(tx: &mut TenantTx, id: Uuid, hash: Option<&[u8]>) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update sales_documents set share_token_hash = $3 where org_id = $1 and id = $2",
        org_id,
        id,
        hash
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The issued document a share link opens.
pub async fn find_shared(tx: &mut TenantTx, hash: &[u8]) -> sqlx::Result<Option<SalesDocument>> {
    let org_id = tx.org_id();
    select_documents!(
        "where d.org_id = $1 and d.share_token_hash = $2 and d.state <> 'draft'",
        org_id,
        hash
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn is_shared(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select share_token_hash is not null as "shared!" from sales_documents
           where org_id = $1 and id = $2"#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
    .map(|shared| shared.unwrap_or(false))
}
