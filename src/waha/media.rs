//! Fetching a customer's file from the WAHA server that received it (its
//! `/api/files` address, with the API key) into wacrm's media store. WAHA
//! keeps files only minutes, so this runs right after the message arrives.

use serde_json::Value;
use uuid::Uuid;

use crate::app::AppState;
use crate::db;
use crate::db::messages::Message;
use crate::jobs::{self, RetryLater};
use crate::tenancy::bootstrap;
use crate::whatsapp::media::{FETCH_ATTEMPTS, MAX_MEDIA_BYTES};

/// Fetches `message`'s file if it still points at WAHA (`source_url`) and
/// its channel is bridged to WAHA.
pub async fn fetch(
    state: &AppState,
    org_id: Uuid,
    message: &Message,
    attempt: i32,
) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&state.pool, org_id).await?;
    let Some(bridge) = db::waha_bridges::find(&mut tx, message.channel_id).await? else {
        return Ok(());
    };
    let Some(mut media) = message.media.clone() else {
        return Ok(());
    };
    let Some(source) = media
        .get("source_url")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(());
    };
    if media.get("url").is_some() {
        return Ok(());
    }
    let waha = super::sender::session(state, org_id, &bridge)?;
    tx.commit().await?;

    let timeout = state.graph.transfer_timeout(MAX_MEDIA_BYTES);
    let fetched = waha.download(&source, MAX_MEDIA_BYTES, timeout).await;
    let mut tx = bootstrap::for_job(&state.pool, org_id).await?;
    match fetched {
        Ok((bytes, served_type)) => {
            let mime_type = media
                .get("mime_type")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(served_type)
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let filename = media
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let id = db::media::store(&mut tx, &state.media, &mime_type, &filename, &bytes).await?;
            media["url"] = Value::from(format!("/media/{id}"));
            media["mime_type"] = Value::from(mime_type);
            media["size"] = Value::from(bytes.len());
        }
        Err(e) if e.is_transient() && attempt < FETCH_ATTEMPTS => {
            return Err(RetryLater {
                after: std::time::Duration::from_secs(jobs::backoff_secs(attempt).unsigned_abs()),
                reason: format!("media from WAHA: {e}"),
                waiting: false,
            }
            .into());
        }
        Err(e) => {
            tracing::warn!(message_id = %message.id, error = %e, "media could not be fetched from WAHA");
            media["unavailable"] = Value::from(e.to_string());
        }
    }
    db::messages::set_media(&mut tx, message.id, &media).await?;
    db::conversations::notify(&mut tx, message.conversation_id).await?;
    tx.commit().await?;
    Ok(())
}
