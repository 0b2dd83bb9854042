//! What every channel's fetcher shares: the limits, the retry, and keeping
//! what was fetched (or why it could not be) on the message.

use serde_json::Value;
use uuid::Uuid;

use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::messages::Message;
use crate::infra::jobs::{self, RetryLater};
use crate::infra::tenancy::bootstrap;

/// WhatsApp's own limit (documents): nothing larger is kept.
pub const MAX_MEDIA_BYTES: usize = 100 * 1024 * 1024;
/// Tries of a fetch (the job queue's backoff: about two hours in all).
pub const FETCH_ATTEMPTS: i32 = 8;

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
