//! Workspace API tokens: stored as a hash, shown once.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub last_used_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

pub async fn insert(
    tx: &mut TenantTx,
    name: &str,
    token_hash: &[u8],
    created_by: Uuid,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into api_tokens (org_id, id, name, token_hash, created_by) values ($1, $2, $3, $4, $5)",
        org_id,
        id,
        name,
        token_hash,
        created_by
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// The live token with this hash; records its use.
pub async fn authenticate(tx: &mut TenantTx, token_hash: &[u8]) -> sqlx::Result<Option<ApiToken>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        ApiToken,
        "update api_tokens set last_used_at = now() \
         where org_id = $1 and token_hash = $2 and revoked_at is null \
         returning id, name, last_used_at, created_at",
        org_id,
        token_hash
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn list_live(tx: &mut TenantTx) -> sqlx::Result<Vec<ApiToken>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        ApiToken,
        "select id, name, last_used_at, created_at from api_tokens \
         where org_id = $1 and revoked_at is null order by created_at desc",
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn revoke(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update api_tokens set revoked_at = now() where org_id = $1 and id = $2 and revoked_at is null",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes the live tokens `user_id` created (they are deleting their
/// account); how many.
pub async fn revoke_created_by(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<u64> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update api_tokens set revoked_at = now() \
         where org_id = $1 and created_by = $2 and revoked_at is null",
        org_id,
        user_id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}
