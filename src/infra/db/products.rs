//! Products: a workspace's catalogue (name, SKU, exact price and tax rate in
//! a currency), archived rather than deleted.

use rust_decimal::Decimal;
use sqlx::Connection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::keyset::like_escape;
use crate::infra::tenancy::TenantTx;

/// The unique constraint on `(org_id, sku)`.
const SKU_KEY: &str = "products_sku_key";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Product {
    pub id: Uuid,
    pub name: String,
    pub sku: Option<String>,
    pub description: String,
    pub price: Decimal,
    /// A percentage, 0 to 100.
    pub tax_rate: Decimal,
    pub currency: String,
    /// Archived products are `false`: hidden from the list and from orders.
    pub active: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// `query_as!(Product, ...)` of a product's columns followed by `$tail`
/// (one column list, each query still a literal the macro checks).
macro_rules! select_products {
    ($tail:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Product,
            "select id, name, sku, description, price, tax_rate, currency, active, created_at, \
               updated_at from products " + $tail,
            $($arg),+
        )
    };
}

/// A product's fields as checked from a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFields {
    pub name: String,
    pub sku: Option<String>,
    pub description: String,
    pub price: Decimal,
    pub tax_rate: Decimal,
    pub currency: String,
}

/// Why a product was not saved, when the caller can say so on the form.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Another product of the workspace has this SKU.
    #[error("SKU {0:?} is taken")]
    SkuTaken(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The workspace's products whose name or SKU contains `search` (any case),
/// by name; archived ones only with `include_inactive`. At most `limit`.
pub async fn list(
    tx: &mut TenantTx,
    search: &str,
    include_inactive: bool,
    limit: i64,
) -> sqlx::Result<Vec<Product>> {
    let org_id = tx.org_id();
    let pattern = Some(search.trim())
        .filter(|s| !s.is_empty())
        .map(|s| like_escape(&s.to_lowercase()));
    select_products!(
        "where org_id = $1 and ($2 or active) \
         and ($3::text is null or lower(name) like $3 or lower(sku) like $3) \
         order by lower(name), id limit $4",
        org_id,
        include_inactive,
        pattern,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Product>> {
    let org_id = tx.org_id();
    select_products!("where org_id = $1 and id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await
}

/// The active product with exactly this SKU (as a catalogue order message
/// names it in `product_retailer_id`).
pub async fn find_by_sku(tx: &mut TenantTx, sku: &str) -> sqlx::Result<Option<Product>> {
    let org_id = tx.org_id();
    select_products!("where org_id = $1 and sku = $2 and active", org_id, sku)
        .fetch_optional(tx.conn())
        .await
}

/// Runs one write in a savepoint, so that a duplicate SKU is rolled back
/// alone and the transaction stays usable to show the form again.
async fn guard_sku(
    tx: &mut TenantTx,
    fields: &ProductFields,
    write: impl AsyncFnOnce(&mut sqlx::PgConnection) -> sqlx::Result<u64>,
) -> Result<u64, SaveError> {
    let mut savepoint = tx.conn().begin().await?;
    match write(&mut *savepoint).await {
        Ok(rows) => {
            savepoint.commit().await?;
            Ok(rows)
        }
        Err(e) if super::violates(&e, SKU_KEY) => {
            savepoint.rollback().await?;
            Err(SaveError::SkuTaken(fields.sku.clone().unwrap_or_default()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn insert(tx: &mut TenantTx, fields: &ProductFields) -> Result<Uuid, SaveError> {
    let org_id = tx.org_id();
    let id = Uuid::now_v7();
    guard_sku(tx, fields, async |conn| {
        sqlx::query!(
            "insert into products (org_id, id, name, sku, description, price, tax_rate, currency) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
            org_id,
            id,
            fields.name,
            fields.sku,
            fields.description,
            fields.price,
            fields.tax_rate,
            fields.currency
        )
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })
    .await?;
    Ok(id)
}

/// Saves the fields; `false` when there is no such product.
pub async fn update(
    tx: &mut TenantTx,
    id: Uuid,
    fields: &ProductFields,
) -> Result<bool, SaveError> {
    let org_id = tx.org_id();
    let rows = guard_sku(tx, fields, async |conn| {
        sqlx::query!(
            "update products set name = $3, sku = $4, description = $5, price = $6, \
               tax_rate = $7, currency = $8, updated_at = now() \
             where org_id = $1 and id = $2",
            org_id,
            id,
            fields.name,
            fields.sku,
            fields.description,
            fields.price,
            fields.tax_rate,
            fields.currency
        )
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })
    .await?;
    Ok(rows == 1)
}

/// Archives (`false`) or restores (`true`) the product; `false` when there
/// is no such product.
pub async fn set_active(tx: &mut TenantTx, id: Uuid, active: bool) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update products set active = $3, updated_at = now() where org_id = $1 and id = $2",
        org_id,
        id,
        active
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
