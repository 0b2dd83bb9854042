//! In-app notifications: what a member is told while away (a task's
//! reminder), shown with a count in the header until read.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notification {
    pub id: Uuid,
    pub title: String,
    pub link: String,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
}

/// `link` is a path within wacrm.
pub async fn insert(tx: &mut TenantTx, user_id: Uuid, title: &str, link: &str) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    let title: String = title.chars().take(300).collect();
    sqlx::query!(
        "insert into user_notifications (org_id, id, user_id, title, link) \
         values ($1, $2, $3, $4, $5)",
        org_id,
        Uuid::now_v7(),
        user_id,
        title,
        link
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The member's newest, read or not.
pub async fn of_user(
    tx: &mut TenantTx,
    user_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Notification>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Notification,
        "select id, title, link, created_at, read_at from user_notifications \
         where org_id = $1 and user_id = $2 order by created_at desc, id desc limit $3",
        org_id,
        user_id,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn mark_all_read(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<u64> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update user_notifications set read_at = now() \
         where org_id = $1 and user_id = $2 and read_at is null",
        org_id,
        user_id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}
