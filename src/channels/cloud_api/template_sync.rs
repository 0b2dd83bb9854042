//! Keeping every Cloud API number's templates current: status webhooks
//! change them at once, and this catches the rest (edits, templates made in
//! WhatsApp Manager, webhooks that never came). A sweep finds the numbers
//! not synced for [`EVERY`] and queues one [`SyncTemplates`] per workspace;
//! the job asks Graph for each number's templates (all pages) and replaces
//! the stored ones. One number's failure is logged and the others go on.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::channels::cloud_api::graph::GraphError;
use crate::channels::cloud_api::templates::GraphTemplate;
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::cloud_channels::CloudChannel;
use crate::infra::jobs;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// How often a number's templates are read again.
pub const EVERY: Duration = Duration::from_secs(6 * 3600);

/// Reads the templates of the channel's business account from Graph and
/// makes the stored ones what it lists; how many it listed.
pub async fn sync_channel(
    env_graph: &crate::channels::cloud_api::graph::GraphClient,
    secrets: &crate::infra::secrets::SecretBox,
    tx: &mut TenantTx,
    channel: &CloudChannel,
) -> anyhow::Result<Result<usize, GraphError>> {
    let token = crate::channels::cloud_api::access_token(secrets, tx.org_id(), channel)?;
    let templates = match env_graph.templates(&channel.waba_id, &token).await {
        Ok(templates) => templates,
        Err(e) => return Ok(Err(e)),
    };
    let stored: Vec<_> = templates.iter().map(GraphTemplate::to_stored).collect();
    db::templates::replace(tx, channel.id, &stored).await?;
    mark_synced(tx, channel.id).await?;
    Ok(Ok(stored.len()))
}

async fn mark_synced(tx: &mut TenantTx, channel_id: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update channels set templates_synced_at = now() where org_id = $1 and id = $2",
        org_id,
        channel_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Syncs every enabled Cloud API number of a workspace (`kind:
/// sync_templates`), or only `channel_id` (a number just connected); each
/// number in its own transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncTemplates {
    pub org_id: Uuid,
    /// Jobs queued before this field existed read as "every number".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<Uuid>,
}

impl jobs::BackgroundJob for SyncTemplates {
    const KIND: &'static str = "sync_templates";
    const QUEUE: &'static str = "channels";
    // The next sweep queues it again anyway.
    const MAX_ATTEMPTS: i32 = 2;
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        let mut tx = bootstrap::for_job(&env.pool, self.org_id).await?;
        let channels = db::cloud_channels::list(&mut tx).await?;
        tx.commit().await?;
        let chosen = |c: &&CloudChannel| c.enabled && self.channel_id.is_none_or(|id| id == c.id);
        for channel in channels.iter().filter(chosen) {
            let mut tx = bootstrap::for_job(&env.pool, self.org_id).await?;
            match sync_channel(&env.graph, &env.secrets, &mut tx, channel).await {
                Ok(Ok(count)) => {
                    tx.commit().await?;
                    tracing::info!(org_id = %self.org_id, channel = %channel.id, count, "templates synced");
                }
                Ok(Err(e)) => {
                    tracing::warn!(org_id = %self.org_id, channel = %channel.id, error = %e, "template sync: Graph refused; the next sweep tries again");
                }
                Err(e) => {
                    tracing::warn!(org_id = %self.org_id, channel = %channel.id, error = %format!("{e:#}"), "template sync failed; the next sweep tries again");
                }
            }
        }
        Ok(())
    }
}

/// Queues a [`SyncTemplates`] for each workspace with a number not synced
/// for [`EVERY`] (never synced included), marking those numbers so the next
/// sweep does not queue them again; how many jobs it queued.
pub async fn sweep(env: &Environment) -> anyhow::Result<usize> {
    let every = EVERY.as_secs_f64();
    // runtime SQL: `BEGIN` and `SET LOCAL` are utility statements (not prepared).
    let mut tx = env
        .pool
        .begin_with("begin; set local app.template_sync_sweeper = 'on'")
        .await?;
    let due = sqlx::query_scalar!(
        "select distinct org_id from channels where kind = 'whatsapp_cloud' and enabled \
         and (templates_synced_at is null \
              or templates_synced_at < now() - make_interval(secs => $1))",
        every
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut queued = 0;
    for org_id in due {
        let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
        // Marked when queued: a failing number waits for the next period
        // instead of being queued on every sweep.
        sqlx::query!(
            "update channels set templates_synced_at = now() \
             where org_id = $1 and kind = 'whatsapp_cloud'",
            org_id
        )
        .execute(tx.conn())
        .await?;
        jobs::enqueue(
            tx.conn(),
            &env.secrets,
            &SyncTemplates {
                org_id,
                channel_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        queued += 1;
    }
    Ok(queued)
}
