//! Invitations to join a workspace by email.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{EmailAddress, Role};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub expires_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl Invitation {
    /// Usable: not accepted, not revoked, not expired.
    pub fn is_open(&self) -> bool {
        self.accepted_at.is_none()
            && self.revoked_at.is_none()
            && self.expires_at > OffsetDateTime::now_utc()
    }
}

pub async fn insert(
    tx: &mut TenantTx,
    email: &EmailAddress,
    role: Role,
    token_hash: &[u8],
    invited_by: Uuid,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    let org_id = tx.org_id();
    // A new invitation to the same address replaces the open ones.
    sqlx::query!(
        "update invitations set revoked_at = now() where org_id = $1 and lower(email) = lower($2) \
         and accepted_at is null and revoked_at is null",
        org_id,
        email.as_str()
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "insert into invitations (org_id, id, email, role, token_hash, invited_by, expires_at) \
         values ($1, $2, $3, $4, $5, $6, now() + interval '7 days')",
        org_id,
        id,
        email.as_str(),
        role.as_str(),
        token_hash,
        invited_by
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

pub async fn find_by_token(
    tx: &mut TenantTx,
    token_hash: &[u8],
) -> sqlx::Result<Option<Invitation>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Invitation,
        "select id, email, role as \"role: Role\", expires_at, accepted_at, revoked_at, created_at \
         from invitations where org_id = $1 and token_hash = $2",
        org_id,
        token_hash
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn list_open(tx: &mut TenantTx) -> sqlx::Result<Vec<Invitation>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Invitation,
        "select id, email, role as \"role: Role\", expires_at, accepted_at, revoked_at, created_at \
         from invitations where org_id = $1 and accepted_at is null \
         and revoked_at is null and expires_at > now() order by created_at desc",
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

/// Mark accepted if still open; false when someone used it first.
pub async fn mark_accepted(tx: &mut TenantTx, id: Uuid, user_id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update invitations set accepted_at = now(), accepted_by = $3 \
         where org_id = $1 and id = $2 and accepted_at is null and revoked_at is null \
         and expires_at > now()",
        org_id,
        id,
        user_id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update invitations set revoked_at = now() where org_id = $1 and id = $2 \
         and accepted_at is null and revoked_at is null",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes the invitations `user_id` sent that are still open (they are
/// deleting their account); how many.
pub async fn revoke_sent_by(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<u64> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update invitations set revoked_at = now() where org_id = $1 and invited_by = $2 \
         and accepted_at is null and revoked_at is null",
        org_id,
        user_id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}
