//! Message secrets (for polls, reactions and edits that refer to a message).

use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{
    MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry, merge_msg_secret_message_ts,
};

use super::{Item, SessionStore, database, message_key, serialization, space};

/// A message secret as stored: the secret and its message's time.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSecret {
    secret: Vec<u8>,
    message_ts: i64,
}

#[whatsapp_rust::async_trait]
impl MsgSecretStore for SessionStore {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let count = entries.len();
        if count == 0 {
            return Ok(0);
        }
        let mut tx = self.tx().await?;
        let mut items = Vec::with_capacity(count);
        for entry in entries {
            let key = message_key(&entry.chat, &entry.sender, &entry.msg_id);
            // Merged with what is stored, as the library's rules say.
            let existing = sqlx::query!(
                "select value, num from whatsapp_web_state \
                 where org_id = $1 and channel_id = $2 and space = $3 and key = $4 for update",
                self.org_id,
                self.channel_id,
                space::MSG_SECRET,
                key
            )
            .fetch_optional(tx.conn())
            .await
            .map_err(database)?
            .map(|row| (row.value, row.num));
            let (mut expires_at, mut message_ts) = (entry.expires_at, entry.message_ts);
            if let Some((sealed, stored_expiry)) = existing {
                expires_at = merge_msg_secret_expiry(stored_expiry.unwrap_or(0), expires_at);
                if let Some(stored) = self
                    .open(space::MSG_SECRET, &key, &sealed)?
                    .and_then(|plain| serde_json::from_slice::<StoredSecret>(&plain).ok())
                {
                    message_ts = merge_msg_secret_message_ts(stored.message_ts, message_ts);
                }
            }
            let plain = serde_json::to_vec(&StoredSecret {
                secret: entry.secret.to_vec(),
                message_ts,
            })
            .map_err(serialization)?;
            items.push(Item::new(key, plain).num(expires_at));
        }
        self.put_in(&mut tx, space::MSG_SECRET, items).await?;
        tx.commit().await.map_err(database)?;
        Ok(count)
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        Ok(self
            .get_json::<StoredSecret>(space::MSG_SECRET, &message_key(chat, sender, msg_id))
            .await?
            .map(|s| (s.secret, s.message_ts)))
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        // `expires_at` 0 never expires.
        let mut tx = self.tx().await?;
        let deleted = sqlx::query!(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and num <> 0 and num < $4",
            self.org_id,
            self.channel_id,
            space::MSG_SECRET,
            cutoff_timestamp
        )
        .execute(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(u32::try_from(deleted.rows_affected()).unwrap_or(u32::MAX))
    }
}
