//! Orders and their lines.

use rust_decimal::Decimal;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{OrderSource, OrderStatus};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Order {
    pub id: Uuid,
    pub number: i64,
    pub source: OrderSource,
    pub status: OrderStatus,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub conversation_id: Option<Uuid>,
    pub currency: String,
    pub total: Decimal,
    pub note: Option<String>,
    pub created_at: OffsetDateTime,
}

impl Order {
    /// "BRL 1,234.50".
    pub fn amount(&self) -> String {
        crate::domain::money::shown(self.total, &self.currency)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderLine {
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub line_total: Decimal,
}

/// An order to store: its lines' totals are computed by the caller
/// (exact decimals), the total is their sum.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub source: OrderSource,
    pub contact_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub currency: String,
    pub note: Option<String>,
    pub lines: Vec<OrderLine>,
}

/// `query_as!(Order, ...)` of an order with its contact's name (`?`: the
/// contact may be gone), followed by `$tail` (one column list, each query
/// still a literal the macro checks).
macro_rules! select_orders {
    ($tail:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Order,
            r#"select o.id, o.number, o.source as "source: OrderSource",
                 o.status as "status: OrderStatus", o.contact_id,
                 c.name as "contact_name?", o.conversation_id, o.currency, o.total, o.note,
                 o.created_at
               from orders o left join contacts c on c.org_id = o.org_id and c.id = o.contact_id "#
                + $tail,
            $($arg),+
        )
    };
}

/// Stores it with the next order number; `None` when an order was made of
/// that message already.
pub async fn insert(tx: &mut TenantTx, order: &NewOrder) -> sqlx::Result<Option<(Uuid, i64)>> {
    let org_id = tx.org_id();
    if let Some(message_id) = order.message_id {
        let exists = sqlx::query_scalar!(
            r#"select exists (select 1 from orders where org_id = $1 and message_id = $2)
               as "exists!""#,
            org_id,
            message_id
        )
        .fetch_one(tx.conn())
        .await?;
        if exists {
            return Ok(None);
        }
    }
    let number = super::sequences::next(tx, "order").await?;
    let id = Uuid::now_v7();
    let total: Decimal = order.lines.iter().map(|l| l.line_total).sum();
    sqlx::query!(
        "insert into orders (org_id, id, number, source, contact_id, conversation_id, \
           message_id, currency, total, note) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        org_id,
        id,
        number,
        order.source.as_str(),
        order.contact_id,
        order.conversation_id,
        order.message_id,
        order.currency,
        total,
        order.note
    )
    .execute(tx.conn())
    .await?;
    for (position, line) in order.lines.iter().enumerate() {
        sqlx::query!(
            "insert into order_lines (org_id, order_id, position, product_id, sku, description, \
               quantity, unit_price, line_total) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            org_id,
            id,
            i32::try_from(position).unwrap_or(i32::MAX),
            line.product_id,
            line.sku,
            line.description,
            line.quantity,
            line.unit_price,
            line.line_total
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(Some((id, number)))
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Order>> {
    let org_id = tx.org_id();
    select_orders!("where o.org_id = $1 and o.id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await
}

/// The order made of a customer's cart message.
pub async fn id_of_message(tx: &mut TenantTx, message_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select id from orders where org_id = $1 and message_id = $2",
        org_id,
        message_id
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn lines(tx: &mut TenantTx, order_id: Uuid) -> sqlx::Result<Vec<OrderLine>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        OrderLine,
        "select product_id, sku, description, quantity, unit_price, line_total from order_lines \
         where org_id = $1 and order_id = $2 order by position",
        org_id,
        order_id
    )
    .fetch_all(tx.conn())
    .await
}

/// Newest first; `status` empty: any.
pub async fn list(
    tx: &mut TenantTx,
    status: Option<OrderStatus>,
    limit: i64,
) -> sqlx::Result<Vec<Order>> {
    let org_id = tx.org_id();
    select_orders!(
        "where o.org_id = $1 and ($2::text is null or o.status = $2) \
         order by o.number desc limit $3",
        org_id,
        status.map(OrderStatus::as_str),
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// Changes the status; the one it had, or `None` if there is no such order.
pub async fn set_status(
    tx: &mut TenantTx,
    id: Uuid,
    status: OrderStatus,
) -> sqlx::Result<Option<OrderStatus>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"update orders o set status = $3, updated_at = now()
           from (select status from orders where org_id = $1 and id = $2 for update) before
           where o.org_id = $1 and o.id = $2
           returning before.status as "status!: OrderStatus""#,
        org_id,
        id,
        status.as_str()
    )
    .fetch_optional(tx.conn())
    .await
}

/// The template an order's status change goes out as when the window is
/// closed: `(name, language)`.
pub async fn template(tx: &mut TenantTx) -> sqlx::Result<Option<(String, String)>> {
    let org_id = tx.org_id();
    let row = sqlx::query!(
        "select order_template_name, order_template_language from organizations where id = $1",
        org_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.and_then(|r| r.order_template_name.zip(r.order_template_language)))
}

pub async fn set_template(tx: &mut TenantTx, template: Option<(&str, &str)>) -> sqlx::Result<()> {
    let (name, language) = template.unzip();
    let org_id = tx.org_id();
    sqlx::query!(
        "update organizations set order_template_name = $2, order_template_language = $3 \
         where id = $1",
        org_id,
        name,
        language
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
