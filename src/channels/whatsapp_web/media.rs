//! Fetching a customer's file received on a linked phone: the process that
//! runs the phone's session downloads and decrypts it from WhatsApp's
//! servers (the message keeps where it is, `media.wa`), checks it against
//! the digest the message carried, and keeps it in the media store. Another
//! process's fetch job waits for that one, as a send does.

use std::time::Duration;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::link::{MEDIA_REF_KEY, WebMediaRef};
use super::sender::PHONE_GONE;
use crate::channels::media::kept::{FETCH_ATTEMPTS, MAX_MEDIA_BYTES, keep, retry_fetch};
use crate::features::environment::Environment;
use crate::infra::db::messages::Message;
use crate::infra::jobs::RetryLater;
use crate::infra::tenancy::bootstrap;

/// Fetches `message`'s file through its channel's session.
pub async fn fetch(
    env: &Environment,
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
        Some(Ok(reference)) => match env.web_sessions.get(message.channel_id) {
            Some(session) => match session.download(&reference).await {
                Ok(bytes) if digest_matches(&bytes, &reference.file_sha256) => Ok(bytes),
                Ok(_) => Err("the download was damaged".to_owned()),
                Err(e) if attempt < FETCH_ATTEMPTS => {
                    return Err(retry_fetch(attempt, format!("media from WhatsApp: {e:#}")));
                }
                Err(e) => Err(format!("{e:#}")),
            },
            None => {
                let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
                let gone = super::sender::phone_gone(&mut tx, message.channel_id).await?;
                tx.commit().await?;
                if !gone {
                    return Err(RetryLater {
                        after: Duration::from_secs(1),
                        reason: "the linked phone's session runs elsewhere or is not connected"
                            .into(),
                        waiting: true,
                    }
                    .into());
                }
                Err(PHONE_GONE.to_owned())
            }
        },
    };
    // Its keys are no longer needed.
    if let Some(object) = media.as_object_mut() {
        object.remove(MEDIA_REF_KEY);
    }
    keep(
        env,
        org_id,
        message,
        media,
        outcome.map(|bytes| (bytes, None)),
    )
    .await
}

/// Whether `bytes` are the file the message described (its SHA-256, in
/// base64).
fn digest_matches(bytes: &[u8], expected_b64: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(expected_b64)
        .is_ok_and(|expected| Sha256::digest(bytes).as_slice() == expected.as_slice())
}
