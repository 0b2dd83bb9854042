//! A customer's media, whatever channel it came through, fetched in the
//! background: the fetch job asks the channel's own fetcher
//! (`cloud_api::media`, `waha::media`, `whatsapp_web::media`), each of which
//! ends in [`kept::keep`].

pub mod kept;

use uuid::Uuid;

use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::jobs;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Queues the fetch of a stored message's media (in the caller's
/// transaction: it runs only if the message is stored).
pub async fn queue_fetch(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    message_id: Uuid,
) -> anyhow::Result<()> {
    let job = FetchMedia {
        org_id: tx.org_id(),
        message_id,
    };
    jobs::enqueue(tx.conn(), secrets, &job).await?;
    Ok(())
}

/// The fetch job.
pub async fn fetch(
    env: &Environment,
    org_id: Uuid,
    message_id: Uuid,
    attempt: i32,
) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(message) = db::messages::find(&mut tx, message_id).await? else {
        return Ok(());
    };
    let Some(media) = message.media.clone() else {
        return Ok(());
    };
    if media.get("source_url").is_some() {
        // Received through a WAHA server: fetched from there.
        tx.commit().await?;
        return crate::channels::waha::media::fetch(env, org_id, &message, attempt).await;
    }
    if media
        .get(crate::channels::whatsapp_web::link::MEDIA_REF_KEY)
        .is_some()
    {
        // Received on a linked phone: fetched through its session.
        tx.commit().await?;
        return crate::channels::whatsapp_web::media::fetch(env, org_id, &message, attempt).await;
    }
    crate::channels::cloud_api::media::fetch(env, tx, org_id, &message, media, attempt).await
}

/// A customer's media, fetched from the provider (`kind: fetch_media`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FetchMedia {
    pub org_id: Uuid,
    pub message_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for FetchMedia {
    const KIND: &'static str = "fetch_media";
    const QUEUE: &'static str = "media";
    type Context = Environment;

    async fn run(&self, env: &Environment, attempt: i32) -> anyhow::Result<()> {
        fetch(env, self.org_id, self.message_id, attempt).await
    }
}
