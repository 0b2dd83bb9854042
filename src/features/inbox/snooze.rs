//! Status changes and the end of a snooze. A snooze is woken by a job due at
//! its end, not by whoever reads the inbox next: reading stays read-only,
//! and every member looking sees the conversation reopen live.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::ConversationStatus;
use crate::infra::db;
use crate::infra::jobs;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;

/// Sets the status (`snoozed_until` only with `snoozed`); a snooze queues
/// its wake-up in the same transaction.
pub async fn set_status(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    id: Uuid,
    status: ConversationStatus,
    snoozed_until: Option<OffsetDateTime>,
) -> anyhow::Result<()> {
    db::conversations::set_status(tx, id, status, snoozed_until).await?;
    if let Some(until) = snoozed_until {
        let job = WakeConversation {
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

/// A snoozed conversation whose snooze ends now (if it still does) (`kind: wake_conversation`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct WakeConversation {
    pub org_id: Uuid,
    pub conversation_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for WakeConversation {
    const KIND: &'static str = "wake_conversation";
    const QUEUE: &'static str = "snoozes";
    type Context = crate::features::environment::Environment;

    async fn run(
        &self,
        env: &crate::features::environment::Environment,
        _attempt: i32,
    ) -> anyhow::Result<()> {
        let mut tx = crate::infra::tenancy::bootstrap::for_job(&env.pool, self.org_id).await?;
        wake_if_due(&mut tx, self.conversation_id).await?;
        tx.commit().await?;
        Ok(())
    }
}
