//! The Postgres storage of one linked-device session: the storage
//! interface of the protocol library (`whatsapp-rust`), over one table
//! (`whatsapp_web_state`, migration 17), in the session's workspace.
//!
//! Every item is a row `(space, key) → value`; the value is sealed with the
//! secrets module, bound to the workspace, channel, space and key (a row
//! copied elsewhere does not open). The library's durability rule holds
//! because each call is its own committed transaction: a write returns `Ok`
//! only once it is durable (a session's sending chain must be stored before
//! a message encrypted with it leaves), and an error otherwise.
//!
//! Values are the library's own bytes (Signal records, protobuf) or its
//! serde types as JSON. A row that no longer opens (its key was retired) or
//! decodes reads as absent, as the library's own stores do, so the session
//! recovers by renegotiating rather than failing every call.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::{Result, StoreError};
use whatsapp_rust::wacore::store::traits::{
    AppStateSyncKey, AppSyncStore, DeviceListRecord, DeviceStore, LidPnMappingEntry,
    MsgSecretEntry, MsgSecretStore, PendingInboundKey, PendingInboundRow, ProtocolStore,
    SignalStore, TcTokenEntry, merge_msg_secret_expiry, merge_msg_secret_message_ts,
};

use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// What a row is. Keys within a space are the library's own (addresses,
/// JIDs, ids), or hex for binary ones.
mod space {
    pub const DEVICE: &str = "device";
    pub const IDENTITY: &str = "identity";
    pub const SESSION: &str = "session";
    pub const PREKEY: &str = "prekey";
    pub const SIGNED_PREKEY: &str = "signed_prekey";
    pub const SENDER_KEY: &str = "sender_key";
    pub const SYNC_KEY: &str = "sync_key";
    pub const SYNC_VERSION: &str = "sync_version";
    /// Followed by `/` and the collection name.
    pub const MUTATION_MAC: &str = "mutation_mac";
    /// Followed by `/` and the group JID.
    pub const SENDER_KEY_DEVICE: &str = "sender_key_device";
    pub const LID: &str = "lid";
    /// Phone number → the latest LID mapping learned for it.
    pub const PHONE: &str = "phone";
    pub const BASE_KEY: &str = "base_key";
    pub const DEVICE_LIST: &str = "device_list";
    pub const GROUP: &str = "group";
    pub const TC_TOKEN: &str = "tc_token";
    pub const SENT: &str = "sent";
    pub const PENDING_INBOUND: &str = "pending_inbound";
    pub const MSG_SECRET: &str = "msg_secret";
}

/// The only device row of a session.
const DEVICE_KEY: &str = "";

/// A row to write: its key, plain value (sealed on the way in) and facts.
struct Item {
    key: String,
    value: Vec<u8>,
    num: Option<i64>,
    num2: Option<i64>,
    flag: Option<bool>,
}

impl Item {
    fn new(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Item {
        Item {
            key: key.into(),
            value: value.into(),
            num: None,
            num2: None,
            flag: None,
        }
    }

    fn num(mut self, num: i64) -> Item {
        self.num = Some(num);
        self
    }
}

/// A row read back: key, opened value, facts.
struct Stored {
    key: String,
    value: Vec<u8>,
    num: Option<i64>,
}

/// One session's state, in its workspace.
#[derive(Clone)]
pub struct SessionStore {
    pool: PgPool,
    secrets: Arc<SecretBox>,
    org_id: Uuid,
    channel_id: Uuid,
}

fn database(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Database(Box::new(e))
}

fn serialization(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Serialization(Box::new(e))
}

/// `chat`, `sender` and `id` as one key (none of them holds a newline).
fn message_key(chat: &str, sender: &str, id: &str) -> String {
    format!("{chat}\n{sender}\n{id}")
}

/// The sealing purpose of a state row (it names the row's space and key;
/// the channel is the row the blob is bound to).
pub fn state_purpose(channel_id: Uuid, space: &str, key: &str) -> String {
    format!("whatsapp-web-state\n{channel_id}\n{space}\n{key}")
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl SessionStore {
    pub fn new(
        pool: PgPool,
        secrets: Arc<SecretBox>,
        org_id: Uuid,
        channel_id: Uuid,
    ) -> SessionStore {
        SessionStore {
            pool,
            secrets,
            org_id,
            channel_id,
        }
    }

    fn purpose(&self, space: &str, key: &str) -> String {
        state_purpose(self.channel_id, space, key)
    }

    fn seal(&self, space: &str, key: &str, plain: &[u8]) -> Result<Vec<u8>> {
        self.secrets
            .seal(
                self.org_id,
                &self.purpose(space, key),
                self.channel_id,
                plain,
            )
            .map_err(serialization)
    }

    /// The plain value, or `None` when it no longer opens (see the module).
    fn open(&self, space: &str, key: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        match self.secrets.open(
            self.org_id,
            &self.purpose(space, key),
            self.channel_id,
            sealed,
        ) {
            Ok(plain) => Some(plain),
            Err(e) => {
                tracing::warn!(channel_id = %self.channel_id, space, error = %e, "unreadable WhatsApp Web state row; treated as absent");
                None
            }
        }
    }

    async fn tx(&self) -> Result<TenantTx> {
        bootstrap::for_job(&self.pool, self.org_id)
            .await
            .map_err(database)
    }

    async fn get(&self, space: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let mut tx = self.tx().await?;
        let sealed: Option<Vec<u8>> = sqlx::query_scalar(
            "select value from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = $4",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space)
        .bind(key)
        .fetch_optional(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(sealed.and_then(|s| self.open(space, key, &s)))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        space: &str,
        key: &str,
    ) -> Result<Option<T>> {
        Ok(self
            .get(space, key)
            .await?
            .and_then(|plain| serde_json::from_slice(&plain).ok()))
    }

    async fn exists(&self, space: &str, key: &str) -> Result<bool> {
        let mut tx = self.tx().await?;
        let found: bool = sqlx::query_scalar(
            "select exists (select 1 from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = $4)",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space)
        .bind(key)
        .fetch_one(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(found)
    }

    /// Every row of `space` (ordered by key).
    async fn all(&self, space: &str) -> Result<Vec<Stored>> {
        let mut tx = self.tx().await?;
        let rows: Vec<(String, Vec<u8>, Option<i64>)> = sqlx::query_as(
            "select key, value, num from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 order by key",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space)
        .fetch_all(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, sealed, num)| {
                let value = self.open(space, &key, &sealed)?;
                Some(Stored { key, value, num })
            })
            .collect())
    }

    /// Writes `items` (the last of a repeated key wins) in one transaction.
    async fn put(&self, space: &str, items: Vec<Item>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut tx = self.tx().await?;
        self.put_in(&mut tx, space, items).await?;
        tx.commit().await.map_err(database)
    }

    async fn put_in(&self, tx: &mut TenantTx, space: &str, items: Vec<Item>) -> Result<()> {
        // One statement cannot update the same row twice.
        let mut last: HashMap<String, Item> = HashMap::with_capacity(items.len());
        for item in items {
            last.insert(item.key.clone(), item);
        }
        let mut items: Vec<Item> = last.into_values().collect();
        // A fixed order: concurrent writers lock rows in the same order.
        items.sort_by(|a, b| a.key.cmp(&b.key));
        let mut keys = Vec::with_capacity(items.len());
        let mut values = Vec::with_capacity(items.len());
        let (mut nums, mut nums2, mut flags) = (vec![], vec![], vec![]);
        for item in items {
            values.push(self.seal(space, &item.key, &item.value)?);
            keys.push(item.key);
            nums.push(item.num);
            nums2.push(item.num2);
            flags.push(item.flag);
        }
        sqlx::query(
            "insert into whatsapp_web_state (org_id, channel_id, space, key, value, num, num2, flag) \
             select $1, $2, $3, k, v, n, n2, f \
             from unnest($4::text[], $5::bytea[], $6::int8[], $7::int8[], $8::bool[]) as t(k, v, n, n2, f) \
             on conflict (org_id, channel_id, space, key) do update \
             set value = excluded.value, num = excluded.num, num2 = excluded.num2, \
                 flag = excluded.flag, updated_at = now()",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space)
        .bind(keys)
        .bind(values)
        .bind(nums)
        .bind(nums2)
        .bind(flags)
        .execute(tx.conn())
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn put_one(&self, space: &str, item: Item) -> Result<()> {
        self.put(space, vec![item]).await
    }

    async fn put_json<T: serde::Serialize>(&self, space: &str, key: &str, value: &T) -> Result<()> {
        let plain = serde_json::to_vec(value).map_err(serialization)?;
        self.put_one(space, Item::new(key, plain)).await
    }

    /// Deletes these keys of `space`; how many there were.
    async fn delete(&self, space: &str, keys: Vec<String>) -> Result<u32> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut tx = self.tx().await?;
        let deleted = sqlx::query(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = any($4)",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space)
        .bind(keys)
        .execute(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(u32::try_from(deleted.rows_affected()).unwrap_or(u32::MAX))
    }

    async fn delete_one(&self, space: &str, key: &str) -> Result<()> {
        self.delete(space, vec![key.to_owned()]).await.map(|_| ())
    }

    /// Deletes the rows of `space` whose `num` is below `cutoff` (`None`:
    /// all of them).
    async fn delete_in(&self, space: &str, cutoff: Option<i64>) -> Result<u32> {
        self.delete_matching("space = $3", space, cutoff).await
    }

    /// Deletes every row of the spaces that start with `prefix`.
    async fn delete_under(&self, prefix: &str) -> Result<u32> {
        self.delete_matching("space like $3", &like_prefix(prefix), None)
            .await
    }

    async fn delete_matching(
        &self,
        condition: &'static str,
        space: &str,
        cutoff: Option<i64>,
    ) -> Result<u32> {
        let mut tx = self.tx().await?;
        let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and {condition} \
               and ($4::int8 is null or num < $4)"
        )))
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space)
        .bind(cutoff)
        .execute(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(u32::try_from(deleted.rows_affected()).unwrap_or(u32::MAX))
    }

    /// Forgets the whole session (after a logout, or to link anew).
    pub async fn clear(&self) -> Result<u32> {
        self.delete_under("").await
    }
}

fn mutation_space(name: &str) -> String {
    format!("{}/{name}", space::MUTATION_MAC)
}

fn sender_key_device_space(group_jid: &str) -> String {
    format!("{}/{group_jid}", space::SENDER_KEY_DEVICE)
}

/// `like` pattern matching exactly `prefix` followed by anything.
fn like_prefix(prefix: &str) -> String {
    let escaped = prefix
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}%")
}

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
        Ok(self
            .get(space::IDENTITY, address)
            .await?
            .and_then(|key| <[u8; 32]>::try_from(key.as_slice()).ok()))
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
        let found: bool = sqlx::query_scalar(
            "select exists (select 1 from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space in ($3, $4) \
               and (key like $5 or key like $6))",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space::SESSION)
        .bind(space::IDENTITY)
        .bind(like_prefix(&format!("{user}@")))
        .bind(like_prefix(&format!("{user}:")))
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
        sqlx::query(
            "update whatsapp_web_state set flag = true, updated_at = now() \
             where org_id = $1 and channel_id = $2 and space = $3 and key = any($4)",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space::PREKEY)
        .bind(keys)
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
        let max: Option<i64> = sqlx::query_scalar(
            "select max(num) from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space::PREKEY)
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
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "select key, value from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = any($4)",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(&space)
        .bind(keys)
        .fetch_all(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, sealed)| {
                let value = self.open(&space, &key, &sealed)?;
                Some((*wanted.get(&key)?, value))
            })
            .collect())
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

#[whatsapp_rust::async_trait]
impl ProtocolStore for SessionStore {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        Ok(self
            .all(&sender_key_device_space(group_jid))
            .await?
            .into_iter()
            .map(|row| (row.key, row.value.first() == Some(&1)))
            .collect())
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let items = entries
            .iter()
            .map(|(device, has_key)| Item::new(*device, vec![u8::from(*has_key)]))
            .collect();
        self.put(&sender_key_device_space(group_jid), items).await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        self.delete_in(&sender_key_device_space(group_jid), None)
            .await
            .map(|_| ())
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        let keys: Vec<String> = device_jids.iter().map(|d| (*d).to_owned()).collect();
        let mut tx = self.tx().await?;
        sqlx::query(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space like $3 and key = any($4)",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(like_prefix(&format!("{}/", space::SENDER_KEY_DEVICE)))
        .bind(keys)
        .execute(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.delete_under(&format!("{}/", space::SENDER_KEY_DEVICE))
            .await
            .map(|_| ())
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        self.get_json(space::LID, lid).await
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        self.get_json(space::PHONE, phone).await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.put_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut by_lid = Vec::with_capacity(entries.len());
        // A phone's most recently updated mapping answers for it.
        let mut by_phone: HashMap<&str, &LidPnMappingEntry> = HashMap::new();
        for entry in entries {
            let plain = serde_json::to_vec(entry).map_err(serialization)?;
            by_lid.push(Item::new(entry.lid.clone(), plain).num(entry.updated_at));
            let newer = by_phone
                .get(entry.phone_number.as_str())
                .is_none_or(|seen| seen.updated_at <= entry.updated_at);
            if newer {
                by_phone.insert(&entry.phone_number, entry);
            }
        }
        let mut tx = self.tx().await?;
        self.put_in(&mut tx, space::LID, by_lid).await?;
        let mut phones = Vec::with_capacity(by_phone.len());
        for (phone, entry) in by_phone {
            let current: Option<i64> = sqlx::query_scalar(
                "select num from whatsapp_web_state \
                 where org_id = $1 and channel_id = $2 and space = $3 and key = $4 for update",
            )
            .bind(self.org_id)
            .bind(self.channel_id)
            .bind(space::PHONE)
            .bind(phone)
            .fetch_optional(tx.conn())
            .await
            .map_err(database)?
            .flatten();
            if current.is_none_or(|at| at <= entry.updated_at) {
                let plain = serde_json::to_vec(entry).map_err(serialization)?;
                phones.push(Item::new(phone, plain).num(entry.updated_at));
            }
        }
        self.put_in(&mut tx, space::PHONE, phones).await?;
        tx.commit().await.map_err(database)
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        Ok(self
            .all(space::LID)
            .await?
            .into_iter()
            .filter_map(|row| serde_json::from_slice(&row.value).ok())
            .collect())
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        self.put_one(
            space::BASE_KEY,
            Item::new(message_key(address, "", message_id), base_key).num(unix_now()),
        )
        .await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        Ok(self
            .get(space::BASE_KEY, &message_key(address, "", message_id))
            .await?
            .is_some_and(|stored| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        self.delete_one(space::BASE_KEY, &message_key(address, "", message_id))
            .await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let mut items = Vec::with_capacity(records.len());
        for record in &records {
            let plain = serde_json::to_vec(record).map_err(serialization)?;
            items.push(Item::new(record.user.clone(), plain).num(record.timestamp));
        }
        self.put(space::DEVICE_LIST, items).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        self.get_json(space::DEVICE_LIST, user).await
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.delete_one(space::DEVICE_LIST, user).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        self.get(space::GROUP, group_jid).await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.put_one(space::GROUP, Item::new(group_jid, blob)).await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.delete_one(space::GROUP, group_jid).await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        self.get_json(space::TC_TOKEN, jid).await
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        let plain = serde_json::to_vec(entry).map_err(serialization)?;
        self.put_one(
            space::TC_TOKEN,
            Item {
                num2: entry.sender_timestamp,
                flag: Some(!entry.token.is_empty()),
                ..Item::new(jid, plain).num(entry.token_timestamp)
            },
        )
        .await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.delete_one(space::TC_TOKEN, jid).await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        Ok(self
            .all(space::TC_TOKEN)
            .await?
            .into_iter()
            .map(|row| row.key)
            .collect())
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        // Only when both the received token and our sender bucket are stale
        // (an empty token or no sender time counts as stale).
        let mut tx = self.tx().await?;
        let deleted = sqlx::query(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 \
               and (flag is not true or num < $4) and (num2 is null or num2 < $5)",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space::TC_TOKEN)
        .bind(token_cutoff)
        .bind(sender_cutoff)
        .execute(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(u32::try_from(deleted.rows_affected()).unwrap_or(u32::MAX))
    }

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        self.put_one(
            space::SENT,
            Item::new(message_key(chat_jid, "", message_id), payload).num(unix_now()),
        )
        .await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let key = message_key(chat_jid, "", message_id);
        let mut tx = self.tx().await?;
        let sealed: Option<Vec<u8>> = sqlx::query_scalar(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = $4 returning value",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space::SENT)
        .bind(&key)
        .fetch_optional(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(sealed.and_then(|s| self.open(space::SENT, &key, &s)))
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.delete_in(space::SENT, Some(cutoff_timestamp)).await
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        self.store_pending_inbound_batch(&[PendingInboundRow {
            chat,
            sender,
            id,
            message,
        }])
        .await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        self.get(space::PENDING_INBOUND, &message_key(chat, sender, id))
            .await
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.delete_one(space::PENDING_INBOUND, &message_key(chat, sender, id))
            .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.delete_in(space::PENDING_INBOUND, Some(cutoff_timestamp))
            .await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let now = unix_now();
        let items = rows
            .iter()
            .map(|r| Item::new(message_key(r.chat, r.sender, r.id), r.message).num(now))
            .collect();
        self.put(space::PENDING_INBOUND, items).await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let keys = keys
            .iter()
            .map(|k| message_key(k.chat, k.sender, k.id))
            .collect();
        self.delete(space::PENDING_INBOUND, keys).await.map(|_| ())
    }
}

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
            let existing: Option<(Vec<u8>, Option<i64>)> = sqlx::query_as(
                "select value, num from whatsapp_web_state \
                 where org_id = $1 and channel_id = $2 and space = $3 and key = $4 for update",
            )
            .bind(self.org_id)
            .bind(self.channel_id)
            .bind(space::MSG_SECRET)
            .bind(&key)
            .fetch_optional(tx.conn())
            .await
            .map_err(database)?;
            let (mut expires_at, mut message_ts) = (entry.expires_at, entry.message_ts);
            if let Some((sealed, stored_expiry)) = existing {
                expires_at = merge_msg_secret_expiry(stored_expiry.unwrap_or(0), expires_at);
                if let Some(stored) = self
                    .open(space::MSG_SECRET, &key, &sealed)
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
        let deleted = sqlx::query(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and num <> 0 and num < $4",
        )
        .bind(self.org_id)
        .bind(self.channel_id)
        .bind(space::MSG_SECRET)
        .bind(cutoff_timestamp)
        .execute(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(u32::try_from(deleted.rows_affected()).unwrap_or(u32::MAX))
    }
}

#[whatsapp_rust::async_trait]
impl DeviceStore for SessionStore {
    async fn save(&self, device: &Device) -> Result<()> {
        self.put_json(space::DEVICE, DEVICE_KEY, device).await
    }

    async fn load(&self) -> Result<Option<Device>> {
        self.get_json(space::DEVICE, DEVICE_KEY).await
    }

    async fn exists(&self) -> Result<bool> {
        SessionStore::exists(self, space::DEVICE, DEVICE_KEY).await
    }

    async fn create(&self) -> Result<i32> {
        // One device per session: its number is always 1.
        self.save(&Device::new()).await?;
        Ok(1)
    }
}
