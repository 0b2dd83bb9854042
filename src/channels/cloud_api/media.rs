//! Fetching a customer's media in the background: Graph's URL for the
//! media id, then the bytes with the channel's token, checked against the
//! SHA-256 Meta gave, kept in the media store and served to the workspace
//! through `/media/{id}`. A failure is retried; when retrying cannot help
//! (or the tries run out) the message shows the media as unavailable, and
//! the conversation is otherwise untouched.

use serde_json::Value;
use uuid::Uuid;

use crate::channels::cloud_api::graph::GraphError;
use crate::infra::db;
use crate::infra::db::messages::Message;
use crate::infra::jobs::{self, RetryLater};
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};
use crate::worker::environment::Environment;

/// WhatsApp's own limit (documents): nothing larger is kept.
pub const MAX_MEDIA_BYTES: usize = 100 * 1024 * 1024;
/// Tries of a fetch (the job queue's backoff: about two hours in all).
pub const FETCH_ATTEMPTS: i32 = 8;

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
    let Some(media_id) = media
        .get("provider_media_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(());
    };
    if media.get("url").is_some() {
        return Ok(());
    }
    let Some(channel) = db::cloud_channels::find(&mut tx, message.channel_id).await? else {
        return Ok(());
    };
    let token = crate::channels::cloud_api::access_token(&env.secrets, org_id, &channel)?;
    // Nothing is held open while downloading.
    tx.commit().await?;

    let fetched = match download(env, &media_id, &token).await {
        Ok((bytes, mime_type)) => Ok((bytes, Some(mime_type))),
        Err(e) if e.is_transient() && attempt < FETCH_ATTEMPTS => {
            return Err(retry_fetch(attempt, format!("media {media_id}: {e}")));
        }
        Err(e) => Err(e.to_string()),
    };
    keep(env, org_id, &message, media, fetched).await
}

/// A fetch to try again later (the job queue's backoff for `attempt`).
pub fn retry_fetch(attempt: i32, reason: String) -> anyhow::Error {
    RetryLater {
        after: std::time::Duration::from_secs(jobs::backoff_secs(attempt).unsigned_abs()),
        reason,
        waiting: false,
    }
    .into()
}

/// Records how a fetch of `message`'s file ended, whatever its source:
/// the bytes kept in the media store (with the type the source served when
/// the message did not say), or why it is unavailable.
pub async fn keep(
    env: &Environment,
    org_id: Uuid,
    message: &Message,
    mut media: Value,
    fetched: Result<(Vec<u8>, Option<String>), String>,
) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    match fetched {
        Ok((bytes, served_type)) => {
            let mime_type = served_type
                .or_else(|| {
                    media
                        .get("mime_type")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let filename = media
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            // What the provider or the sender said is only a hint: the
            // bytes decide (a customer chooses the claimed type).
            let stored = db::media::store(
                &mut tx,
                &env.media,
                Some(&mime_type),
                &filename,
                crate::infra::media_store::Incoming::from_bytes(bytes),
            )
            .await?;
            media["url"] = Value::from(format!("/media/{}", stored.id));
            media["mime_type"] = Value::from(stored.content_type);
            media["size"] = Value::from(stored.size);
        }
        Err(reason) => {
            tracing::warn!(message_id = %message.id, %reason, "media could not be fetched");
            media["unavailable"] = Value::from(reason);
        }
    }
    db::messages::set_media(&mut tx, message.id, &media).await?;
    db::conversations::notify(&mut tx, message.conversation_id).await?;
    tx.commit().await?;
    Ok(())
}

/// The bytes and their type, checked against Meta's digest.
async fn download(
    env: &Environment,
    media_id: &str,
    token: &str,
) -> Result<(Vec<u8>, String), GraphError> {
    let info = env.graph.media_info(media_id, token).await?;
    let bytes = env
        .graph
        .download(&info.url, token, MAX_MEDIA_BYTES, info.size())
        .await?;
    if let Some(expected) = info.sha256.as_deref() {
        let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        if !actual.eq_ignore_ascii_case(expected) {
            // A broken transfer: worth another try.
            return Err(GraphError::Transport("The download was damaged.".into()));
        }
    }
    let mime_type = info
        .mime_type
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    Ok((bytes, mime_type))
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
    type Context = crate::worker::environment::Environment;

    async fn run(
        &self,
        env: &crate::worker::environment::Environment,
        attempt: i32,
    ) -> anyhow::Result<()> {
        fetch(env, self.org_id, self.message_id, attempt).await
    }
}
