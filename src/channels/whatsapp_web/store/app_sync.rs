//! The app-state sync state: sync keys, collection versions, mutation MACs.

use std::collections::HashMap;

use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{AppStateSyncKey, AppSyncStore};

use super::{Item, SessionStore, database, space};

fn mutation_space(name: &str) -> String {
    format!("{}/{name}", space::MUTATION_MAC)
}

#[whatsapp_rust::async_trait]
impl AppSyncStore for SessionStore {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        self.get_json(space::SYNC_KEY, &hex::encode(key_id)).await
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        self.put_json(space::SYNC_KEY, &hex::encode(key_id), &key)
            .await
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        // Absent or unreadable: from the start (the collection syncs again).
        Ok(self
            .get_json(space::SYNC_VERSION, name)
            .await?
            .unwrap_or_default())
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        self.put_json(space::SYNC_VERSION, name, &state).await
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        let items = mutations
            .iter()
            .map(|m| Item::new(hex::encode(&m.index_mac), m.value_mac.clone()).num(version))
            .collect();
        self.put(&mutation_space(name), items).await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(&mutation_space(name), &hex::encode(index_mac))
            .await
    }

    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let space = mutation_space(name);
        let wanted: HashMap<String, [u8; 32]> = index_macs
            .iter()
            .map(|mac| (hex::encode(mac), *mac))
            .collect();
        let keys: Vec<String> = wanted.keys().cloned().collect();
        let mut tx = self.tx().await?;
        let rows = sqlx::query!(
            "select key, value from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = any($4)",
            self.org_id,
            self.channel_id,
            space,
            &keys
        )
        .fetch_all(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            if let (Some(mac), Some(value)) = (
                wanted.get(&row.key),
                self.open(&space, &row.key, &row.value)?,
            ) {
                found.insert(*mac, value);
            }
        }
        Ok(found)
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let keys = index_macs.iter().map(hex::encode).collect();
        self.delete(&mutation_space(name), keys).await.map(|_| ())
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        self.delete_in(&mutation_space(name), None)
            .await
            .map(|_| ())
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        // The highest key id that still opens and decodes.
        let mut keys = self.all(space::SYNC_KEY).await?;
        keys.reverse();
        Ok(keys.into_iter().find_map(|row| {
            serde_json::from_slice::<AppStateSyncKey>(&row.value).ok()?;
            hex::decode(&row.key).ok()
        }))
    }
}
