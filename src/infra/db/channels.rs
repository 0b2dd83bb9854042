//! Channels: where a workspace's conversations come from and replies go.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

pub use crate::domain::ChannelKind;

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: Uuid,
    pub kind: ChannelKind,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// The workspace's sandbox channel, created on first use.
pub async fn sandbox(tx: &mut TenantTx) -> sqlx::Result<Channel> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into channels (org_id, id, kind, name) values ($1, $2, 'sandbox', 'Sandbox') \
         on conflict (org_id) where kind = 'sandbox' do nothing",
        org_id,
        Uuid::now_v7()
    )
    .execute(tx.conn())
    .await?;
    sqlx::query_as!(
        Channel,
        r#"select id, kind as "kind: ChannelKind", name, created_at from channels
           where org_id = $1 and kind = 'sandbox'"#,
        org_id
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Channel>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Channel,
        r#"select id, kind as "kind: ChannelKind", name, created_at from channels
           where org_id = $1 and id = $2"#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Channel>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Channel,
        r#"select id, kind as "kind: ChannelKind", name, created_at from channels
           where org_id = $1 order by created_at, id"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

/// Counts a send against the channel's current second (any kind of
/// channel, across instances); false (and not
/// counted) if `limit` sends were already made in it.
pub async fn take_send_slot(tx: &mut TenantTx, id: Uuid, limit: i32) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let sent: i32 = sqlx::query_scalar!(
        "insert into channel_send_rate as r (org_id, channel_id, second, sent) \
         values ($1, $2, date_trunc('second', clock_timestamp()), 1) \
         on conflict (org_id, channel_id) do update set \
           sent = case when r.second = excluded.second then r.sent + 1 else 1 end, \
           second = excluded.second \
         returning sent",
        org_id,
        id
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(sent <= limit)
}

/// Whether the channel shows its phone's group chats (off by default).
pub async fn shows_groups(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let shows = sqlx::query_scalar!(
        "select shows_groups from channels where org_id = $1 and id = $2",
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(shows.unwrap_or(false))
}

/// Turns the channel's group chats on or off; false when there is no such
/// channel in the workspace.
pub async fn set_shows_groups(tx: &mut TenantTx, id: Uuid, shows: bool) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update channels set shows_groups = $3 where org_id = $1 and id = $2",
        org_id,
        id,
        shows
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
