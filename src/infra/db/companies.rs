//! Companies: the organisations a workspace's contacts belong to.

use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use super::keyset::{self, Cursor, Sort, like_escape};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Company {
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub address: Option<String>,
    pub attributes: serde_json::Value,
    pub created_at: OffsetDateTime,
    /// How many contacts belong to it.
    pub contact_count: i64,
}

/// For the list's `QueryBuilder`; [`find`] has the same columns as a literal.
const COLUMNS: &str = "id, name, domain, address, attributes, created_at, \
    (select count(*) from contacts c where c.org_id = companies.org_id \
     and c.company_id = companies.id) as contact_count";

/// What a form or the API may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyFields {
    pub name: String,
    pub domain: Option<String>,
    pub address: Option<String>,
    /// Custom attribute values, already checked against their definitions.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

pub async fn insert(tx: &mut TenantTx, fields: &CompanyFields) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into companies (org_id, id, name, domain, address, attributes) \
         values ($1, $2, $3, $4, $5, $6)",
        org_id,
        id,
        fields.name,
        fields.domain,
        fields.address,
        sqlx::types::Json(&fields.attributes) as _
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

pub async fn update(tx: &mut TenantTx, id: Uuid, fields: &CompanyFields) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update companies set name = $3, domain = $4, address = $5, attributes = $6, \
         updated_at = now() \
         where org_id = $1 and id = $2",
        org_id,
        id,
        fields.name,
        fields.domain,
        fields.address,
        sqlx::types::Json(&fields.attributes) as _
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Company>> {
    let org_id = tx.org_id();
    // The columns of [`COLUMNS`]; a count is never null.
    sqlx::query_as!(
        Company,
        r#"select id, name, domain, address, attributes, created_at,
             (select count(*) from contacts c where c.org_id = companies.org_id
              and c.company_id = companies.id) as "contact_count!"
           from companies where org_id = $1 and id = $2"#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// The oldest company with this name (case-insensitive), if any.
pub async fn find_by_name(tx: &mut TenantTx, name: &str) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select id from companies where org_id = $1 and lower(name) = lower($2) \
         order by created_at, id limit 1",
        org_id,
        name
    )
    .fetch_optional(tx.conn())
    .await
}

/// Deletes the company; its contacts stay, without a company.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "delete from companies where org_id = $1 and id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct Page {
    pub companies: Vec<Company>,
    pub next: Option<Cursor>,
}

/// One page of companies whose name or domain contains `search`.
pub async fn list(
    tx: &mut TenantTx,
    search: &str,
    sort: Sort,
    after: Option<&Cursor>,
    limit: i64,
) -> sqlx::Result<Page> {
    let org_id = tx.org_id();
    // runtime SQL: optional search and the user-chosen sort with keyset pagination.
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("select {COLUMNS} from companies where org_id = "));
    sql.push_bind(org_id);
    if !search.is_empty() {
        sql.push(" and search_text like ")
            .push_bind(like_escape(&search.to_lowercase()));
    }
    keyset::push_page(&mut sql, sort, after, limit);
    // Planned for these values each time (see `conversations::list`).
    let mut companies: Vec<Company> = sql
        .build_query_as()
        .persistent(false)
        .fetch_all(tx.conn())
        .await?;
    let more = companies.len() as i64 > limit;
    companies.truncate(usize::try_from(limit).unwrap_or(0));
    let next = match (more, companies.last()) {
        (true, Some(last)) => Some(Cursor::after(sort, &last.name, last.created_at, last.id)),
        _ => None,
    };
    Ok(Page { companies, next })
}
