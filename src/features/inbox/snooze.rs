//! Status changes and the end of a snooze. A snooze is woken by a job due at
//! its end, not by whoever reads the inbox next: reading stays read-only,
//! and every member looking sees the conversation reopen live.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::db;
use crate::infra::jobs::{self, Job};
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;

/// Sets the status (`snoozed_until` only with `snoozed`); a snooze queues
/// its wake-up in the same transaction.
pub async fn set_status(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    id: Uuid,
    status: &str,
    snoozed_until: Option<OffsetDateTime>,
) -> anyhow::Result<()> {
    db::conversations::set_status(tx, id, status, snoozed_until).await?;
    if let Some(until) = snoozed_until {
        let job = Job::WakeConversation {
            org_id: tx.org_id(),
            conversation_id: id,
        };
        jobs::enqueue_at(tx.conn(), secrets, &job, Some(until)).await?;
    }
    Ok(())
}

/// Reopens the conversation if its snooze has ended; a snooze that was
/// lifted or moved later since the job was queued is left alone.
pub async fn wake_if_due(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<()> {
    if db::conversations::wake_if_due(tx, id).await? {
        db::conversations::notify(tx, id).await?;
    }
    Ok(())
}
