//! The Signal protocol state: identities, sessions, pre-keys, sender keys.

use std::sync::Arc;

use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::SignalStore;

use super::{Item, SessionStore, database, like_prefix, space};

#[whatsapp_rust::async_trait]
impl SignalStore for SessionStore {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.put_one(space::IDENTITY, Item::new(address, key.to_vec()))
            .await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let items = identities
            .iter()
            .map(|(address, key)| Item::new(address.as_ref(), key.to_vec()))
            .collect();
        self.put(space::IDENTITY, items).await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        let Some(key) = self.get(space::IDENTITY, address).await? else {
            return Ok(None);
        };
        match <[u8; 32]>::try_from(key.as_slice()) {
            Ok(key) => Ok(Some(key)),
            Err(e) => self.unreadable(space::IDENTITY, &e).map(|_| None),
        }
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.delete_one(space::IDENTITY, address).await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        Ok(self.get(space::SESSION, address).await?.map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.put_one(space::SESSION, Item::new(address, session))
            .await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let items = sessions
            .iter()
            .map(|(address, record)| Item::new(address.as_ref(), record.to_vec()))
            .collect();
        self.put(space::SESSION, items).await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.delete_one(space::SESSION, address).await
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        self.exists(space::SESSION, address).await
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        // Addresses are `user@server` or `user:device@server`.
        let mut tx = self.tx().await?;
        let found: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from whatsapp_web_state
             where org_id = $1 and channel_id = $2 and space in ($3, $4)
               and (key like $5 or key like $6)) as "found!""#,
            self.org_id,
            self.channel_id,
            space::SESSION,
            space::IDENTITY,
            like_prefix(&format!("{user}@")),
            like_prefix(&format!("{user}:"))
        )
        .fetch_one(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(found)
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.store_prekeys_batch(&[(id, Bytes::copy_from_slice(record))], uploaded)
            .await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let items = keys
            .iter()
            .map(|(id, record)| Item {
                flag: Some(uploaded),
                ..Item::new(id.to_string(), record.to_vec()).num(i64::from(*id))
            })
            .collect();
        self.put(space::PREKEY, items).await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        Ok(self
            .get(space::PREKEY, &id.to_string())
            .await?
            .map(Bytes::from))
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        // An update only: a prekey deleted meanwhile stays deleted.
        let keys: Vec<String> = ids.iter().map(u32::to_string).collect();
        let mut tx = self.tx().await?;
        sqlx::query!(
            "update whatsapp_web_state set flag = true, updated_at = now() \
             where org_id = $1 and channel_id = $2 and space = $3 and key = any($4)",
            self.org_id,
            self.channel_id,
            space::PREKEY,
            &keys
        )
        .execute(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.delete_one(space::PREKEY, &id.to_string()).await
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        let mut tx = self.tx().await?;
        let max: Option<i64> = sqlx::query_scalar!(
            "select max(num) from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3",
            self.org_id,
            self.channel_id,
            space::PREKEY
        )
        .fetch_one(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(max.and_then(|m| u32::try_from(m).ok()).unwrap_or(0))
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.put_one(
            space::SIGNED_PREKEY,
            Item::new(id.to_string(), record).num(i64::from(id)),
        )
        .await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        self.get(space::SIGNED_PREKEY, &id.to_string()).await
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        Ok(self
            .all(space::SIGNED_PREKEY)
            .await?
            .into_iter()
            .filter_map(|row| Some((u32::try_from(row.num?).ok()?, row.value)))
            .collect())
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.delete_one(space::SIGNED_PREKEY, &id.to_string()).await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.put_one(space::SENDER_KEY, Item::new(address, record))
            .await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let items = sender_keys
            .iter()
            .map(|(address, record)| Item::new(address.as_ref(), record.to_vec()))
            .collect();
        self.put(space::SENDER_KEY, items).await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        self.get(space::SENDER_KEY, address).await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.delete_one(space::SENDER_KEY, address).await
    }
}
