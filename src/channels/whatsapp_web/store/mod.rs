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
//! serde types as JSON. A row of the session's own identity (the device,
//! the identities it trusts, the app-state keys and versions) that no
//! longer opens or decodes is an error: read as absent, a lost or wrong
//! `WACRM_SECRET_KEY` would silently make a fresh, unlinked device, or
//! trust a changed identity. Any other row (sessions, prekeys, caches)
//! reads as absent, as the library's own stores do, so the session
//! recovers by renegotiating rather than failing every call.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;
use whatsapp_rust::wacore::store::error::{Result, StoreError};

use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

// One file per storage trait of the library; this file holds the row
// plumbing they share.
mod app_sync;
mod device;
mod msg_secret;
mod protocol;
mod signal;

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

    /// The spaces of the session's own identity: unreadable is an error.
    pub fn is_identity(space: &str) -> bool {
        matches!(space, DEVICE | IDENTITY | SYNC_KEY | SYNC_VERSION)
            || space.starts_with(MUTATION_MAC)
    }
}

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
    /// The process whose lease every call must hold (see [`Self::fenced_by`]).
    fence: Option<Uuid>,
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
            fence: None,
        }
    }

    /// This store, usable only while `owner` holds the session's lease:
    /// every call checks it, and holds the lease row (`for share`) until it
    /// commits, so a claim by another process waits for it. A process that
    /// lost the lease (paused by a slow database, say) then fails instead
    /// of overwriting the new owner's keys with stale ones, its stop's
    /// flush included.
    pub fn fenced_by(mut self, owner: Uuid) -> SessionStore {
        self.fence = Some(owner);
        self
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

    /// The plain value; a row that no longer opens is an error in the
    /// session's identity spaces and absent elsewhere (see the module).
    fn open(&self, space: &str, key: &str, sealed: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.secrets.open(
            self.org_id,
            &self.purpose(space, key),
            self.channel_id,
            sealed,
        ) {
            Ok(plain) => Ok(Some(plain)),
            Err(e) => self.unreadable(space, &e),
        }
    }

    /// What an unreadable row (it does not open, or does not decode) is.
    fn unreadable(&self, space: &str, e: &dyn std::fmt::Display) -> Result<Option<Vec<u8>>> {
        if space::is_identity(space) {
            tracing::error!(channel_id = %self.channel_id, space, error = %e, "unreadable WhatsApp Web identity row (is WACRM_SECRET_KEY the one it was stored with?)");
            return Err(StoreError::Validation(format!(
                "the stored {space} state does not open or decode ({e}); it is not replaced by a new one"
            )));
        }
        tracing::warn!(channel_id = %self.channel_id, space, error = %e, "unreadable WhatsApp Web state row; treated as absent");
        Ok(None)
    }

    async fn tx(&self) -> Result<TenantTx> {
        let mut tx = bootstrap::for_job(&self.pool, self.org_id)
            .await
            .map_err(database)?;
        if let Some(owner) = self.fence {
            let held: Option<bool> = sqlx::query_scalar!(
                r#"select coalesce(owner = $3 and lease_until > now(), false) as "held!"
                   from whatsapp_web_leases where org_id = $1 and channel_id = $2 for share"#,
                self.org_id,
                self.channel_id,
                owner
            )
            .fetch_optional(tx.conn())
            .await
            .map_err(database)?;
            if held != Some(true) {
                return Err(StoreError::Validation(
                    "this process no longer holds the session's lease".into(),
                ));
            }
        }
        Ok(tx)
    }

    async fn get(&self, space: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let mut tx = self.tx().await?;
        let sealed: Option<Vec<u8>> = sqlx::query_scalar!(
            "select value from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = $4",
            self.org_id,
            self.channel_id,
            space,
            key
        )
        .fetch_optional(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        match sealed {
            Some(sealed) => self.open(space, key, &sealed),
            None => Ok(None),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        space: &str,
        key: &str,
    ) -> Result<Option<T>> {
        let Some(plain) = self.get(space, key).await? else {
            return Ok(None);
        };
        match serde_json::from_slice(&plain) {
            Ok(value) => Ok(Some(value)),
            Err(e) => self.unreadable(space, &e).map(|_| None),
        }
    }

    async fn exists(&self, space: &str, key: &str) -> Result<bool> {
        let mut tx = self.tx().await?;
        let found: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from whatsapp_web_state
               where org_id = $1 and channel_id = $2 and space = $3 and key = $4) as "found!""#,
            self.org_id,
            self.channel_id,
            space,
            key
        )
        .fetch_one(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(found)
    }

    /// Every row of `space` (ordered by key).
    async fn all(&self, space: &str) -> Result<Vec<Stored>> {
        let mut tx = self.tx().await?;
        let rows = sqlx::query!(
            "select key, value, num from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 order by key",
            self.org_id,
            self.channel_id,
            space
        )
        .fetch_all(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(value) = self.open(space, &row.key, &row.value)? {
                stored.push(Stored {
                    key: row.key,
                    value,
                    num: row.num,
                });
            }
        }
        Ok(stored)
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
        // The facts are arrays of options (nulls inside), which the macro's
        // type check does not take for `int8[]`/`bool[]`: `as _` binds them
        // unchecked, as before.
        sqlx::query!(
            "insert into whatsapp_web_state (org_id, channel_id, space, key, value, num, num2, flag) \
             select $1, $2, $3, k, v, n, n2, f \
             from unnest($4::text[], $5::bytea[], $6::int8[], $7::int8[], $8::bool[]) as t(k, v, n, n2, f) \
             on conflict (org_id, channel_id, space, key) do update \
             set value = excluded.value, num = excluded.num, num2 = excluded.num2, \
                 flag = excluded.flag, updated_at = now()",
            self.org_id,
            self.channel_id,
            space,
            &keys,
            &values,
            nums as _,
            nums2 as _,
            flags as _
        )
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
        let deleted = sqlx::query!(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = any($4)",
            self.org_id,
            self.channel_id,
            space,
            &keys
        )
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
        self.delete_matching(Spaces::Exactly(space), cutoff).await
    }

    /// Deletes every row of the spaces that start with `prefix`.
    async fn delete_under(&self, prefix: &str) -> Result<u32> {
        self.delete_matching(Spaces::Under(prefix), None).await
    }

    async fn delete_matching(&self, spaces: Spaces<'_>, cutoff: Option<i64>) -> Result<u32> {
        let mut tx = self.tx().await?;
        let deleted = match spaces {
            Spaces::Exactly(space) => {
                sqlx::query!(
                    "delete from whatsapp_web_state \
                     where org_id = $1 and channel_id = $2 and space = $3 \
                       and ($4::int8 is null or num < $4)",
                    self.org_id,
                    self.channel_id,
                    space,
                    cutoff
                )
                .execute(tx.conn())
                .await
            }
            Spaces::Under(prefix) => {
                sqlx::query!(
                    "delete from whatsapp_web_state \
                     where org_id = $1 and channel_id = $2 and space like $3 \
                       and ($4::int8 is null or num < $4)",
                    self.org_id,
                    self.channel_id,
                    like_prefix(prefix),
                    cutoff
                )
                .execute(tx.conn())
                .await
            }
        }
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(u32::try_from(deleted.rows_affected()).unwrap_or(u32::MAX))
    }

    /// Forgets the whole session (after a logout, or to link anew).
    pub async fn clear(&self) -> Result<u32> {
        self.delete_under("").await
    }
}

/// Which spaces [`SessionStore::delete_matching`] deletes from.
#[derive(Debug, Clone, Copy)]
enum Spaces<'a> {
    /// This one.
    Exactly(&'a str),
    /// Every space whose name starts with this.
    Under(&'a str),
}

/// `like` pattern matching exactly `prefix` followed by anything.
fn like_prefix(prefix: &str) -> String {
    let escaped = prefix
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}%")
}
