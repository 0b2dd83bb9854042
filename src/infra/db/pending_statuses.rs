//! Delivery reports that arrived before the message they name was known
//! (Meta's webhook can beat the answer to our own send).

use uuid::Uuid;

use crate::domain::DeliveryStatus;
use crate::infra::tenancy::TenantTx;

/// Keeps a report for later; the same report twice is kept once.
pub async fn keep(
    tx: &mut TenantTx,
    channel_id: Uuid,
    provider_id: &str,
    status: DeliveryStatus,
    error: Option<&str>,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into pending_statuses (org_id, channel_id, provider_message_id, status, error) \
         values ($1, $2, $3, $4, $5) on conflict do nothing",
        org_id,
        channel_id,
        provider_id,
        status.as_str(),
        error
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Takes the reports kept for this provider id, in the order statuses move.
pub async fn take(
    tx: &mut TenantTx,
    channel_id: Uuid,
    provider_id: &str,
) -> sqlx::Result<Vec<(DeliveryStatus, Option<String>)>> {
    let org_id = tx.org_id();
    let rows = sqlx::query!(
        r#"delete from pending_statuses where org_id = $1 and channel_id = $2
           and provider_message_id = $3 returning status as "status: DeliveryStatus", error"#,
        org_id,
        channel_id,
        provider_id
    )
    .fetch_all(tx.conn())
    .await?;
    let mut reports: Vec<(DeliveryStatus, Option<String>)> =
        rows.into_iter().map(|r| (r.status, r.error)).collect();
    reports.sort_by_key(|(status, _)| *status);
    Ok(reports)
}
