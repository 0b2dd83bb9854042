//! Linked phones whose session runs on the operator's WAHA server
//! (`waha_bridges`): where it is and the sealed keys to reach it and to
//! check its webhooks.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::WahaStatus;
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone)]
pub struct WahaBridge {
    pub channel_id: Uuid,
    pub base_url: String,
    pub session_name: String,
    pub api_key_sealed: Vec<u8>,
    pub webhook_key_sealed: Vec<u8>,
    /// WAHA's last reported status of the session.
    pub waha_status: Option<WahaStatus>,
}

/// Records that `channel_id` (a linked-device channel being created) runs
/// on WAHA, and routes its webhooks to this workspace.
pub async fn create(tx: &mut TenantTx, bridge: &WahaBridge) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into waha_bridges \
           (org_id, channel_id, base_url, session_name, api_key_sealed, webhook_key_sealed) \
         values ($1, $2, $3, $4, $5, $6)",
        org_id,
        bridge.channel_id,
        bridge.base_url,
        bridge.session_name,
        bridge.api_key_sealed,
        bridge.webhook_key_sealed
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "insert into channel_routes (channel_id, org_id) values ($1, $2)",
        bridge.channel_id,
        org_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The bridge of a linked-device channel, if it runs on WAHA.
pub async fn find(tx: &mut TenantTx, channel_id: Uuid) -> sqlx::Result<Option<WahaBridge>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        WahaBridge,
        "select channel_id, base_url, session_name, api_key_sealed, webhook_key_sealed, \
                waha_status as \"waha_status: WahaStatus\" \
         from waha_bridges where org_id = $1 and channel_id = $2",
        org_id,
        channel_id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Records WAHA's status of the channel's session as of `at`; false (and
/// nothing changed) if a newer one was recorded already.
pub async fn set_waha_status(
    tx: &mut TenantTx,
    channel_id: Uuid,
    status: &WahaStatus,
    at: OffsetDateTime,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let changed = sqlx::query!(
        "update waha_bridges set waha_status = $3, waha_status_at = $4 \
         where org_id = $1 and channel_id = $2 \
           and (waha_status_at is null or waha_status_at <= $4)",
        org_id,
        channel_id,
        status.as_str(),
        at
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// The workspace's phone already on this WAHA server's session, if any.
pub async fn using_session(
    tx: &mut TenantTx,
    base_url: &str,
    session_name: &str,
) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select channel_id from waha_bridges \
         where org_id = $1 and base_url = $2 and session_name = $3",
        org_id,
        base_url,
        session_name
    )
    .fetch_optional(tx.conn())
    .await
}
