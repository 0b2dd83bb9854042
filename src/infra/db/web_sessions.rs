//! Linked-device (WhatsApp Web) channels: the session as its owner sees it
//! (`whatsapp_web_sessions`) and which process runs it
//! (`whatsapp_web_leases`, see [`crate::channels::whatsapp_web::supervisor`]).

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// Where a session stands, as the owner reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebStatus {
    /// Waiting for the phone to scan the QR code (or take the code).
    Waiting,
    Linked,
    /// Linked, connection lost: reconnecting.
    Disconnected,
    /// The phone removed this device: link again.
    LoggedOut,
    /// WhatsApp refuses this version: update wacrm.
    Outdated,
    /// No scan in time: start again.
    Expired,
    /// The owner unlinked it from wacrm.
    Unlinked,
}

impl WebStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebStatus::Waiting => "waiting",
            WebStatus::Linked => "linked",
            WebStatus::Disconnected => "disconnected",
            WebStatus::LoggedOut => "logged_out",
            WebStatus::Outdated => "outdated",
            WebStatus::Expired => "expired",
            WebStatus::Unlinked => "unlinked",
        }
    }

    pub fn parse(input: &str) -> Option<WebStatus> {
        Some(match input {
            "waiting" => WebStatus::Waiting,
            "linked" => WebStatus::Linked,
            "disconnected" => WebStatus::Disconnected,
            "logged_out" => WebStatus::LoggedOut,
            "outdated" => WebStatus::Outdated,
            "expired" => WebStatus::Expired,
            "unlinked" => WebStatus::Unlinked,
            _ => return None,
        })
    }

    /// A session nobody runs any more until the owner links again.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            WebStatus::LoggedOut | WebStatus::Outdated | WebStatus::Expired | WebStatus::Unlinked
        )
    }
}

#[derive(Debug, Clone)]
pub struct WebSession {
    pub channel_id: Uuid,
    pub status: WebStatus,
    pub qr_sealed: Option<Vec<u8>>,
    pub qr_expires_at: Option<OffsetDateTime>,
    pub pair_phone: Option<String>,
    pub pair_code: Option<String>,
    pub pair_code_expires_at: Option<OffsetDateTime>,
    pub phone: Option<String>,
    pub display_name: Option<String>,
    pub updated_at: OffsetDateTime,
    /// Why the session is paused, and since when (cleared once linked).
    pub problem: Option<String>,
    pub problem_at: Option<OffsetDateTime>,
    /// Days of chat history imported on first link (0: none).
    pub history_days: u16,
    /// Messages imported from the phone's history so far.
    pub history_imported: i64,
}

/// A `whatsapp_web_sessions` row as read, before its status is parsed.
struct Row {
    channel_id: Uuid,
    status: String,
    qr_sealed: Option<Vec<u8>>,
    qr_expires_at: Option<OffsetDateTime>,
    pair_phone: Option<String>,
    pair_code: Option<String>,
    pair_code_expires_at: Option<OffsetDateTime>,
    phone: Option<String>,
    display_name: Option<String>,
    updated_at: OffsetDateTime,
    problem: Option<String>,
    problem_at: Option<OffsetDateTime>,
    history_days: i32,
    history_imported: i64,
}

fn from_row(row: Row) -> Option<WebSession> {
    Some(WebSession {
        channel_id: row.channel_id,
        status: WebStatus::parse(&row.status)?,
        qr_sealed: row.qr_sealed,
        qr_expires_at: row.qr_expires_at,
        pair_phone: row.pair_phone,
        pair_code: row.pair_code,
        pair_code_expires_at: row.pair_code_expires_at,
        phone: row.phone,
        display_name: row.display_name,
        updated_at: row.updated_at,
        problem: row.problem,
        problem_at: row.problem_at,
        // The column's check keeps it within 0..=365.
        history_days: u16::try_from(row.history_days).unwrap_or(0),
        history_imported: row.history_imported,
    })
}

/// Where a linked phone's session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunsOn {
    /// Inside wacrm: the supervisors start it (it gets a lease).
    Wacrm,
    /// On the operator's WAHA server (`crate::infra::db::waha_bridges`).
    Waha,
}

/// A new linked-device channel with id `id`, waiting for its first scan
/// (or a pairing code for `pair_phone`), to import `history_days` days of
/// chats when linked.
pub async fn create(
    tx: &mut TenantTx,
    id: Uuid,
    name: &str,
    pair_phone: Option<&str>,
    history_days: u16,
    runs_on: RunsOn,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into channels (org_id, id, kind, name) values ($1, $2, 'whatsapp_web', $3)",
        org_id,
        id,
        name
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "insert into whatsapp_web_sessions (org_id, channel_id, pair_phone, history_days) \
         values ($1, $2, $3, $4)",
        org_id,
        id,
        pair_phone,
        i32::from(history_days)
    )
    .execute(tx.conn())
    .await?;
    if runs_on == RunsOn::Wacrm {
        sqlx::query!(
            "insert into whatsapp_web_leases (channel_id, org_id) values ($1, $2)",
            id,
            org_id
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

pub async fn find(tx: &mut TenantTx, channel_id: Uuid) -> sqlx::Result<Option<WebSession>> {
    let org_id = tx.org_id();
    let row = sqlx::query_as!(
        Row,
        "select channel_id, status, qr_sealed, qr_expires_at, pair_phone, pair_code, \
                pair_code_expires_at, phone, display_name, updated_at, problem, problem_at, \
                history_days, history_imported \
         from whatsapp_web_sessions where org_id = $1 and channel_id = $2",
        org_id,
        channel_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.and_then(from_row))
}

/// Counts messages imported from the phone's history.
pub async fn count_imported(
    tx: &mut TenantTx,
    channel_id: Uuid,
    messages: i64,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update whatsapp_web_sessions set history_imported = history_imported + $3 \
         where org_id = $1 and channel_id = $2",
        org_id,
        channel_id,
        messages
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A new QR code to show (waiting for a scan).
pub async fn show_qr(
    tx: &mut TenantTx,
    channel_id: Uuid,
    qr_sealed: &[u8],
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update whatsapp_web_sessions set status = 'waiting', qr_sealed = $3, qr_expires_at = $4, \
                updated_at = now() where org_id = $1 and channel_id = $2",
        org_id,
        channel_id,
        qr_sealed,
        expires_at
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A pairing code to type on the phone.
pub async fn show_pair_code(
    tx: &mut TenantTx,
    channel_id: Uuid,
    code: &str,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update whatsapp_web_sessions set status = 'waiting', pair_code = $3, \
                pair_code_expires_at = $4, updated_at = now() \
         where org_id = $1 and channel_id = $2",
        org_id,
        channel_id,
        code,
        expires_at
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Linked to this number and name; codes are no longer needed.
pub async fn linked(
    tx: &mut TenantTx,
    channel_id: Uuid,
    phone: &str,
    name: &str,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update whatsapp_web_sessions set status = 'linked', phone = $3, display_name = $4, \
                qr_sealed = null, qr_expires_at = null, pair_code = null, \
                pair_code_expires_at = null, problem = null, problem_at = null, updated_at = now() \
         where org_id = $1 and channel_id = $2",
        org_id,
        channel_id,
        phone,
        name
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The session paused for `reason` (see the migration): a linked one is
/// disconnected meanwhile.
pub async fn paused(tx: &mut TenantTx, channel_id: Uuid, reason: &str) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    let reason: String = reason.chars().take(500).collect();
    sqlx::query!(
        "update whatsapp_web_sessions set problem = $3, problem_at = now(), updated_at = now(), \
                status = case when status = 'linked' then 'disconnected' else status end \
         where org_id = $1 and channel_id = $2",
        org_id,
        channel_id,
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A new status; one that is over also ends the lease (nobody runs it).
/// Codes are dropped once not waiting. False if the status was already
/// this one.
pub async fn set_status(
    tx: &mut TenantTx,
    channel_id: Uuid,
    status: WebStatus,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let changed = sqlx::query!(
        "update whatsapp_web_sessions set status = $3, updated_at = now(), \
                qr_sealed = case when $3 = 'waiting' then qr_sealed end, \
                qr_expires_at = case when $3 = 'waiting' then qr_expires_at end, \
                pair_code = case when $3 = 'waiting' then pair_code end, \
                pair_code_expires_at = case when $3 = 'waiting' then pair_code_expires_at end \
         where org_id = $1 and channel_id = $2 and status <> $3",
        org_id,
        channel_id,
        status.as_str()
    )
    .execute(tx.conn())
    .await?
    .rows_affected()
        == 1;
    if status.is_over() {
        sqlx::query!(
            "update whatsapp_web_leases set wanted = false where org_id = $1 and channel_id = $2",
            org_id,
            channel_id
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(changed)
}

/// A channel with its session, for the list.
#[derive(Debug, Clone)]
pub struct Listed {
    pub channel_id: Uuid,
    pub name: String,
    pub status: WebStatus,
    pub phone: Option<String>,
    pub display_name: Option<String>,
}

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Listed>> {
    let org_id = tx.org_id();
    let rows = sqlx::query!(
        "select c.id, c.name, s.status, s.phone, s.display_name \
         from channels c join whatsapp_web_sessions s \
           on s.org_id = c.org_id and s.channel_id = c.id \
         where c.org_id = $1 order by c.created_at, c.id",
        org_id
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Listed {
                channel_id: row.id,
                name: row.name,
                status: WebStatus::parse(&row.status)?,
                phone: row.phone,
                display_name: row.display_name,
            })
        })
        .collect())
}

/// The channel's name, if it is a linked-device channel of this workspace.
pub async fn name(tx: &mut TenantTx, channel_id: Uuid) -> sqlx::Result<Option<String>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select name from channels where org_id = $1 and id = $2 and kind = 'whatsapp_web'",
        org_id,
        channel_id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Starts over: waiting for a new scan (or a code for `pair_phone`), to be
/// claimed by a supervisor. Only a session that is over and that no
/// process holds any more: false otherwise (the caller then clears the
/// old keys).
pub async fn relink(
    tx: &mut TenantTx,
    channel_id: Uuid,
    pair_phone: Option<&str>,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let free = sqlx::query!(
        "update whatsapp_web_leases set wanted = true, owner = null, lease_until = null \
         where org_id = $1 and channel_id = $2 and not wanted \
           and (lease_until is null or lease_until < now())",
        org_id,
        channel_id
    )
    .execute(tx.conn())
    .await?
    .rows_affected()
        == 1;
    if !free {
        return Ok(false);
    }
    wait_again(tx, channel_id, pair_phone).await?;
    Ok(true)
}

/// Waiting for a new scan (or a code for `pair_phone`), codes cleared.
pub async fn wait_again(
    tx: &mut TenantTx,
    channel_id: Uuid,
    pair_phone: Option<&str>,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update whatsapp_web_sessions set status = 'waiting', qr_sealed = null, \
                qr_expires_at = null, pair_code = null, pair_code_expires_at = null, \
                pair_phone = $3, updated_at = now() \
         where org_id = $1 and channel_id = $2",
        org_id,
        channel_id,
        pair_phone
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
