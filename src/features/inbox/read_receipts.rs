//! Read receipts: when a member opens a conversation, the customer's
//! messages up to the newest are marked read on WhatsApp (blue ticks), once
//! per new message, if the workspace sends receipts (a setting, on by
//! default). Opening queues a job; the job tells the channel.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::ChannelKind;
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::jobs;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Message ids one receipt names at most (WhatsApp Web's stanza limit,
/// whatsapp-rust 0.7 receipt.rs `mark_as_read`).
pub const IDS_PER_RECEIPT: i64 = 256;

/// Called when a member opens a conversation: queues a receipt for the
/// customer's messages that arrived since the last one, if any did and
/// the workspace sends receipts.
pub async fn on_open(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    conversation_id: Uuid,
) -> anyhow::Result<()> {
    if !db::orgs::read_receipts(tx).await? {
        return Ok(());
    }
    let Some((since, through)) = db::conversations::advance_receipts(tx, conversation_id).await?
    else {
        return Ok(());
    };
    let job = SendReadReceipt {
        org_id: tx.org_id(),
        conversation_id,
        since,
        through,
    };
    jobs::enqueue(tx.conn(), secrets, &job).await?;
    Ok(())
}

/// Marks a conversation's customer messages read on WhatsApp: those that
/// arrived after `since` (all when `None`) up to `through`
/// (`kind: send_read_receipt`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SendReadReceipt {
    pub org_id: Uuid,
    pub conversation_id: Uuid,
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub through: OffsetDateTime,
}

impl crate::infra::jobs::BackgroundJob for SendReadReceipt {
    const KIND: &'static str = "send_read_receipt";
    const QUEUE: &'static str = "messages";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        let mut tx = bootstrap::for_job(&env.pool, self.org_id).await?;
        let Some(read) = db::messages::to_mark_read(
            &mut tx,
            self.conversation_id,
            self.since,
            self.through,
            IDS_PER_RECEIPT,
        )
        .await?
        else {
            return Ok(());
        };
        let Some(channel) = db::channels::find(&mut tx, read.channel_id).await? else {
            return Ok(());
        };
        match channel.kind {
            // The simulator shows its own ticks.
            ChannelKind::Sandbox => Ok(()),
            ChannelKind::WhatsappCloud => {
                crate::channels::cloud_api::sender::mark_read(env, tx, &read).await
            }
            ChannelKind::WhatsappWeb => {
                crate::channels::whatsapp_web::sender::mark_read(env, tx, &read).await
            }
        }
    }
}
