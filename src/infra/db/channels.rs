//! Channels: where a workspace's conversations come from and replies go.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// How a channel delivers and sends; everything else is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Built in: a simulator page plays the customer.
    Sandbox,
    WhatsappCloud,
    WhatsappWeb,
}

impl ChannelKind {
    pub fn parse(input: &str) -> Option<ChannelKind> {
        match input {
            "sandbox" => Some(ChannelKind::Sandbox),
            "whatsapp_cloud" => Some(ChannelKind::WhatsappCloud),
            "whatsapp_web" => Some(ChannelKind::WhatsappWeb),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Sandbox => "sandbox",
            ChannelKind::WhatsappCloud => "whatsapp_cloud",
            ChannelKind::WhatsappWeb => "whatsapp_web",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: Uuid,
    pub kind: ChannelKind,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// A `channels` row as read, before its kind is parsed.
struct Row {
    id: Uuid,
    kind: String,
    name: String,
    created_at: OffsetDateTime,
}

fn from_row(
    Row {
        id,
        kind,
        name,
        created_at,
    }: Row,
) -> Option<Channel> {
    Some(Channel {
        id,
        // The table's check allows only known kinds.
        kind: ChannelKind::parse(&kind)?,
        name,
        created_at,
    })
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
    let row = sqlx::query_as!(
        Row,
        "select id, kind, name, created_at from channels where org_id = $1 and kind = 'sandbox'",
        org_id
    )
    .fetch_one(tx.conn())
    .await?;
    from_row(row).ok_or(sqlx::Error::RowNotFound)
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Channel>> {
    let org_id = tx.org_id();
    let row = sqlx::query_as!(
        Row,
        "select id, kind, name, created_at from channels where org_id = $1 and id = $2",
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.and_then(from_row))
}

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Channel>> {
    let org_id = tx.org_id();
    let rows = sqlx::query_as!(
        Row,
        "select id, kind, name, created_at from channels where org_id = $1 order by created_at, id",
        org_id
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
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
