//! Canned replies: a workspace's library of texts by shortcode.

use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CannedReply {
    pub id: Uuid,
    pub shortcode: String,
    pub body: String,
}

/// The unique index a second reply with the same shortcode hits.
pub const SHORTCODE_KEY: &str = "canned_replies_org_id_shortcode_key";

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<CannedReply>> {
    sqlx::query_as!(
        CannedReply,
        "select id, shortcode, body from canned_replies where org_id = $1 order by shortcode",
        tx.org_id()
    )
    .fetch_all(tx.conn())
    .await
}

/// Replies whose shortcode starts with `prefix` (lowercase), first `limit`.
pub async fn starting_with(
    tx: &mut TenantTx,
    prefix: &str,
    limit: i64,
) -> sqlx::Result<Vec<CannedReply>> {
    sqlx::query_as!(
        CannedReply,
        "select id, shortcode, body from canned_replies where org_id = $1 \
         and starts_with(shortcode, $2) order by shortcode limit $3",
        tx.org_id(),
        prefix,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn by_shortcode(tx: &mut TenantTx, shortcode: &str) -> sqlx::Result<Option<CannedReply>> {
    sqlx::query_as!(
        CannedReply,
        "select id, shortcode, body from canned_replies where org_id = $1 and shortcode = $2",
        tx.org_id(),
        shortcode
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn insert(tx: &mut TenantTx, shortcode: &str, body: &str) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into canned_replies (org_id, id, shortcode, body) values ($1, $2, $3, $4)",
        tx.org_id(),
        id,
        shortcode,
        body
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

pub async fn update(
    tx: &mut TenantTx,
    id: Uuid,
    shortcode: &str,
    body: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update canned_replies set shortcode = $3, body = $4 where org_id = $1 and id = $2",
        tx.org_id(),
        id,
        shortcode,
        body
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "delete from canned_replies where org_id = $1 and id = $2",
        tx.org_id(),
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
