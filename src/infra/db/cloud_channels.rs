//! WhatsApp Cloud API channels: the `channels` rows of kind
//! `whatsapp_cloud`, with their Meta settings (token and app secret sealed
//! by the caller) and the route webhook deliveries take to the workspace.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::db::channels::{Channel, ChannelKind};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone)]
pub struct CloudChannel {
    pub id: Uuid,
    pub name: String,
    pub enabled: bool,
    pub phone_number_id: String,
    pub waba_id: String,
    pub verify_token: String,
    pub display_name: Option<String>,
    pub access_token_sealed: Vec<u8>,
    pub app_secret_sealed: Vec<u8>,
    pub created_at: OffsetDateTime,
}

impl CloudChannel {
    /// As the shared inbox paths know channels.
    pub fn channel(&self) -> Channel {
        Channel {
            id: self.id,
            kind: ChannelKind::WhatsappCloud,
            name: self.name.clone(),
            created_at: self.created_at,
        }
    }
}

pub struct NewCloudChannel<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub phone_number_id: &'a str,
    pub waba_id: &'a str,
    pub access_token_sealed: &'a [u8],
    pub app_secret_sealed: &'a [u8],
    pub verify_token: &'a str,
}

/// The unique index a second channel for the same number hits.
pub const NUMBER_KEY: &str = "channels_phone_number_id_key";

/// Stores the channel and its webhook route.
pub async fn insert(tx: &mut TenantTx, new: &NewCloudChannel<'_>) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into channels (org_id, id, kind, name, phone_number_id, waba_id, \
         access_token_sealed, app_secret_sealed, verify_token) \
         values ($1, $2, 'whatsapp_cloud', $3, $4, $5, $6, $7, $8)",
        org_id,
        new.id,
        new.name,
        new.phone_number_id,
        new.waba_id,
        new.access_token_sealed,
        new.app_secret_sealed,
        new.verify_token
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "insert into channel_routes (channel_id, org_id) values ($1, $2)",
        new.id,
        org_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

// The Meta settings are nullable columns (other kinds have none), but the
// `channels_cloud_settings` check requires them on every `whatsapp_cloud`
// row: hence the `!` in the queries below.

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<CloudChannel>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        CloudChannel,
        r#"select id, name, enabled, phone_number_id as "phone_number_id!", waba_id as "waba_id!",
           verify_token as "verify_token!", display_name,
           access_token_sealed as "access_token_sealed!", app_secret_sealed as "app_secret_sealed!",
           created_at
           from channels where org_id = $1 and id = $2 and kind = 'whatsapp_cloud'"#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// The workspace's channel for this number, if any.
pub async fn find_by_number(
    tx: &mut TenantTx,
    phone_number_id: &str,
) -> sqlx::Result<Option<CloudChannel>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        CloudChannel,
        r#"select id, name, enabled, phone_number_id as "phone_number_id!", waba_id as "waba_id!",
           verify_token as "verify_token!", display_name,
           access_token_sealed as "access_token_sealed!", app_secret_sealed as "app_secret_sealed!",
           created_at
           from channels where org_id = $1 and phone_number_id = $2
           and kind = 'whatsapp_cloud'"#,
        org_id,
        phone_number_id
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<CloudChannel>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        CloudChannel,
        r#"select id, name, enabled, phone_number_id as "phone_number_id!", waba_id as "waba_id!",
           verify_token as "verify_token!", display_name,
           access_token_sealed as "access_token_sealed!", app_secret_sealed as "app_secret_sealed!",
           created_at
           from channels where org_id = $1 and kind = 'whatsapp_cloud'
           order by created_at, id"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn set_enabled(tx: &mut TenantTx, id: Uuid, enabled: bool) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update channels set enabled = $3 where org_id = $1 and id = $2 and kind = 'whatsapp_cloud'",
        org_id,
        id,
        enabled
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What "check connection" read: the number as WhatsApp shows it.
pub async fn set_display_name(tx: &mut TenantTx, id: Uuid, name: &str) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update channels set display_name = $3 where org_id = $1 and id = $2",
        org_id,
        id,
        name
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// How much history deleting the channel takes with it.
pub async fn history(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<(i64, i64)> {
    let org_id = tx.org_id();
    let counts = sqlx::query!(
        r#"select (select count(*) from conversations where org_id = $1 and channel_id = $2)
                    as "conversations!",
                  (select count(*) from messages where org_id = $1 and channel_id = $2)
                    as "messages!""#,
        org_id,
        id
    )
    .fetch_one(tx.conn())
    .await?;
    Ok((counts.conversations, counts.messages))
}

/// Deletes the channel with its conversations and messages (and route).
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "delete from channels where org_id = $1 and id = $2 and kind = 'whatsapp_cloud'",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
