//! Fetching a customer's file received on a linked phone: the process that
//! runs the phone's session downloads and decrypts it from WhatsApp's
//! servers (the message keeps where it is, `media.wa`), checks it against
//! the digest the message carried, and keeps it in the media store. Another
//! process's fetch job waits for that one, as a send does.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::link::{MEDIA_REF_KEY, WebMediaRef};
use crate::app::AppState;
use crate::db;
use crate::db::messages::Message;
use crate::jobs::{self, RetryLater};
use crate::tenancy::bootstrap;
use crate::whatsapp::media::{FETCH_ATTEMPTS, MAX_MEDIA_BYTES};

/// Fetches `message`'s file through its channel's session.
pub async fn fetch(
    state: &AppState,
    org_id: Uuid,
    message: &Message,
    attempt: i32,
) -> anyhow::Result<()> {
    let Some(mut media) = message.media.clone() else {
        return Ok(());
    };
    let reference = media
        .get(MEDIA_REF_KEY)
        .cloned()
        .map(serde_json::from_value::<WebMediaRef>);
    let outcome = match reference {
        None => return Ok(()),
        Some(Err(e)) => Err(format!("the file's address is not understood: {e}")),
        Some(Ok(reference)) if reference.file_length > MAX_MEDIA_BYTES as u64 => {
            Err("the file is larger than WhatsApp allows".to_owned())
        }
        Some(Ok(reference)) => {
            let Some(session) = state.web_sessions.get(message.channel_id) else {
                return Err(RetryLater {
                    after: Duration::from_secs(1),
                    reason: "the linked phone's session runs elsewhere or is not connected".into(),
                    waiting: true,
                }
                .into());
            };
            match session.download(&reference).await {
                Ok(bytes) if digest_matches(&bytes, &reference.file_sha256) => Ok(bytes),
                Ok(_) => Err("the download was damaged".to_owned()),
                Err(e) if attempt < FETCH_ATTEMPTS => {
                    return Err(RetryLater {
                        after: Duration::from_secs(jobs::backoff_secs(attempt).unsigned_abs()),
                        reason: format!("media from WhatsApp: {e:#}"),
                        waiting: false,
                    }
                    .into());
                }
                Err(e) => Err(format!("{e:#}")),
            }
        }
    };
    let mut tx = bootstrap::for_job(&state.pool, org_id).await?;
    match outcome {
        Ok(bytes) => {
            let mime_type = media
                .get("mime_type")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream")
                .to_owned();
            let filename = media
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let id = db::media::store(&mut tx, &state.media, &mime_type, &filename, &bytes).await?;
            media["url"] = Value::from(format!("/media/{id}"));
            media["size"] = Value::from(bytes.len());
        }
        Err(reason) => {
            tracing::warn!(message_id = %message.id, %reason, "media could not be fetched through the linked phone");
            media["unavailable"] = Value::from(reason);
        }
    }
    // Its keys are no longer needed.
    if let Some(object) = media.as_object_mut() {
        object.remove(MEDIA_REF_KEY);
    }
    db::messages::set_media(&mut tx, message.id, &media).await?;
    db::conversations::notify(&mut tx, message.conversation_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `bytes` are the file the message described (its SHA-256, in
/// base64).
fn digest_matches(bytes: &[u8], expected_b64: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(expected_b64)
        .is_ok_and(|expected| Sha256::digest(bytes).as_slice() == expected.as_slice())
}
