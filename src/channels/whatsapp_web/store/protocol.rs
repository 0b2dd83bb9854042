//! The protocol's own bookkeeping: LID mappings, device lists, groups,
//! tokens, sent messages and pending inbound messages.

use std::collections::HashMap;

use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{
    DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow, ProtocolStore,
    TcTokenEntry,
};

use super::{Item, SessionStore, database, like_prefix, message_key, serialization, space};

fn sender_key_device_space(group_jid: &str) -> String {
    format!("{}/{group_jid}", space::SENDER_KEY_DEVICE)
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
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
        sqlx::query!(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space like $3 and key = any($4)",
            self.org_id,
            self.channel_id,
            like_prefix(&format!("{}/", space::SENDER_KEY_DEVICE)),
            &keys
        )
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
            let current: Option<i64> = sqlx::query_scalar!(
                "select num from whatsapp_web_state \
                 where org_id = $1 and channel_id = $2 and space = $3 and key = $4 for update",
                self.org_id,
                self.channel_id,
                space::PHONE,
                phone
            )
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
        let deleted = sqlx::query!(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 \
               and (flag is not true or num < $4) and (num2 is null or num2 < $5)",
            self.org_id,
            self.channel_id,
            space::TC_TOKEN,
            token_cutoff,
            sender_cutoff
        )
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
        let sealed: Option<Vec<u8>> = sqlx::query_scalar!(
            "delete from whatsapp_web_state \
             where org_id = $1 and channel_id = $2 and space = $3 and key = $4 returning value",
            self.org_id,
            self.channel_id,
            space::SENT,
            key
        )
        .fetch_optional(tx.conn())
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        match sealed {
            Some(sealed) => self.open(space::SENT, &key, &sealed),
            None => Ok(None),
        }
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
