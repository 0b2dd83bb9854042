//! Fetching a customer's media in the background: Graph's URL for the
//! media id, then the bytes with the channel's token, checked against the
//! SHA-256 Meta gave, kept in the media store and served to the workspace
//! through `/media/{id}`. A failure is retried; when retrying cannot help
//! (or the tries run out) the message shows the media as unavailable, and
//! the conversation is otherwise untouched.

use serde_json::Value;
use uuid::Uuid;

use crate::channels::cloud_api::graph::GraphError;
use crate::channels::media::kept::{FETCH_ATTEMPTS, MAX_MEDIA_BYTES, keep, retry_fetch};
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::messages::Message;
use crate::infra::tenancy::TenantTx;

/// Fetches the media of a message received through the Cloud API: Graph's
/// URL for its id, then the bytes with the channel's token (`tx` is the
/// job's; nothing is held open while downloading).
pub async fn fetch(
    env: &Environment,
    mut tx: TenantTx,
    org_id: Uuid,
    message: &Message,
    media: Value,
    attempt: i32,
) -> anyhow::Result<()> {
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
    keep(env, org_id, message, media, fetched).await
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
