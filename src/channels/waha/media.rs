//! Fetching a customer's file from the WAHA server that received it (its
//! `/api/files` address, with the API key) into wacrm's media store. WAHA
//! keeps files only minutes, so this runs right after the message arrives.

use serde_json::Value;
use uuid::Uuid;

use crate::channels::media::kept::{FETCH_ATTEMPTS, MAX_MEDIA_BYTES, keep, retry_fetch};
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::messages::Message;
use crate::infra::tenancy::bootstrap;

/// Fetches `message`'s file if it still points at WAHA (`source_url`) and
/// its channel is bridged to WAHA.
pub async fn fetch(
    env: &Environment,
    org_id: Uuid,
    message: &Message,
    attempt: i32,
) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(bridge) = db::waha_bridges::find(&mut tx, message.channel_id).await? else {
        return Ok(());
    };
    let Some(media) = message.media.clone() else {
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
    let waha = super::sender::session(&env.secrets, &env.waha_http, org_id, &bridge)?;
    tx.commit().await?;

    let timeout = env.graph.transfer_timeout(MAX_MEDIA_BYTES);
    let fetched = match waha.download(&source, MAX_MEDIA_BYTES, timeout).await {
        // WAHA's type for the file when the message gave none.
        Ok((bytes, served_type)) => Ok((
            bytes,
            media
                .get("mime_type")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(served_type),
        )),
        Err(e) if e.is_transient() && attempt < FETCH_ATTEMPTS => {
            return Err(retry_fetch(attempt, format!("media from WAHA: {e}")));
        }
        Err(e) => Err(e.to_string()),
    };
    keep(env, org_id, message, media, fetched).await
}
