//! Delivery reports from a channel about messages we sent: statuses only
//! move forward, and a report that arrives before its message's provider
//! id is known is kept and applied when it is.

use uuid::Uuid;

use crate::channels::cloud_api::webhook::StatusReport;
use crate::infra::db;
use crate::infra::tenancy::TenantTx;

/// Applies one report (in the caller's transaction).
pub async fn report(
    tx: &mut TenantTx,
    channel_id: Uuid,
    report: &StatusReport,
) -> sqlx::Result<()> {
    if let Some(ours) = unrecorded_send(tx, channel_id, report).await? {
        // A send whose answer was lost: the report carries our id back.
        record_sent(tx, channel_id, ours.id, &report.provider_message_id).await?;
        db::messages::set_send_attempt(tx, ours.id, false).await?;
        db::messages::advance_status(tx, ours.id, report.status, report.error.as_deref()).await?;
        return db::conversations::notify(tx, ours.conversation_id).await;
    }
    let Some((message_id, conversation_id)) =
        db::messages::by_provider_id(tx, channel_id, &report.provider_message_id).await?
    else {
        return db::pending_statuses::keep(
            tx,
            channel_id,
            &report.provider_message_id,
            report.status,
            report.error.as_deref(),
        )
        .await;
    };
    if db::messages::advance_status(tx, message_id, report.status, report.error.as_deref()).await? {
        db::conversations::notify(tx, conversation_id).await?;
    }
    Ok(())
}

/// Records the provider id a send was given, and applies any reports that
/// came for it first. True if the message moved on.
pub async fn record_sent(
    tx: &mut TenantTx,
    channel_id: Uuid,
    message_id: Uuid,
    provider_id: &str,
) -> sqlx::Result<bool> {
    let mut moved = db::messages::mark_sent(tx, message_id, provider_id).await?;
    for (status, error) in db::pending_statuses::take(tx, channel_id, provider_id).await? {
        moved |= db::messages::advance_status(tx, message_id, status, error.as_deref()).await?;
    }
    Ok(moved)
}

/// The queued message of this channel a report names through its callback
/// data, while its provider id is still unknown.
async fn unrecorded_send(
    tx: &mut TenantTx,
    channel_id: Uuid,
    report: &StatusReport,
) -> sqlx::Result<Option<db::messages::Message>> {
    let Some(id) = report
        .callback_data
        .as_deref()
        .and_then(|d| Uuid::try_parse(d).ok())
    else {
        return Ok(None);
    };
    Ok(db::messages::find(tx, id).await?.filter(|m| {
        m.channel_id == channel_id
            && m.provider_message_id.is_none()
            && m.status == crate::domain::DeliveryStatus::Queued
    }))
}
