//! What every channel's sender shares: failing a message with the reason
//! the agent reads, and the stored file a media message carries.

use uuid::Uuid;

use crate::domain::DeliveryStatus;
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::media::Content;
use crate::infra::db::messages::Message;
use crate::infra::tenancy::TenantTx;

/// Marks the message failed with the reason the agent reads.
pub async fn give_up(mut tx: TenantTx, message: &Message, reason: &str) -> anyhow::Result<()> {
    db::messages::advance_status(&mut tx, message.id, DeliveryStatus::Failed, Some(reason)).await?;
    db::conversations::notify(&mut tx, message.conversation_id).await?;
    tx.commit().await?;
    Ok(())
}

/// The bytes of the file a media message carries (`/media/{id}`), with its
/// type and name; `None` if it is gone.
pub async fn stored_file(
    env: &Environment,
    tx: &mut TenantTx,
    message: &Message,
) -> anyhow::Result<Option<(String, String, Vec<u8>)>> {
    let Some(id) = message
        .media_url()
        .and_then(|url| url.strip_prefix("/media/"))
        .and_then(|id| Uuid::try_parse(id).ok())
    else {
        return Ok(None);
    };
    let Some(file) = db::media::get(tx, id).await? else {
        return Ok(None);
    };
    let bytes = match file.content {
        Content::Bytes(bytes) => Some(bytes),
        Content::Stored { sha256 } => env.media.get(&sha256).await?,
    };
    Ok(bytes.map(|b| (file.content_type, file.filename, b)))
}
