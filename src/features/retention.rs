//! Deleting old messages: those past a workspace's retention setting
//! (Settings, owners; off by default), and every message of a workspace
//! purged after cancellation or deletion (`crate::features::billing::lapsed_workspaces`).
//!
//! Messages go in batches of [`BATCH`], oldest first, each in its own short
//! transaction, so neither a large backlog nor a large workspace holds
//! locks for long. With each batch go the file rows only those messages
//! showed, then the stored files no workspace still has. Every batch checks
//! again, under a lock on the setting's row, that its messages are still
//! doomed: lengthening or turning off retention, subscribing again or
//! restoring the workspace stops the deletion at the next batch. Safe to run
//! in several instances at once (rows another holds are skipped).

use std::ops::AddAssign;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Rows per batch (and per transaction).
pub const BATCH: i64 = 500;

/// Which of a workspace's messages go.
#[derive(Debug, Clone, Copy)]
pub enum Doomed {
    /// Those older than the workspace's retention setting, counted back
    /// from `now`.
    PastRetention { now: OffsetDateTime },
    /// All of them: the workspace itself goes next.
    Workspace(Going),
}

/// Why a whole workspace goes.
#[derive(Debug, Clone, Copy)]
pub enum Going {
    /// Its subscription was canceled more than the retention ago.
    Canceled,
    /// An owner deleted it more than the retention ago.
    Deleted,
}

/// How [`Going::still`] locks the row it reads.
#[derive(Debug, Clone, Copy)]
pub enum RowLock {
    /// A change (subscribing again, restoring) waits for the batch.
    Share,
    /// The workspace is deleted in this transaction.
    Update,
}

impl Going {
    /// The workspace is still canceled (not subscribed again) or still
    /// deleted (not restored), its row locked until the transaction ends.
    pub async fn still(self, tx: &mut TenantTx, lock: RowLock) -> sqlx::Result<bool> {
        let org_id = tx.org_id();
        let conn = tx.conn();
        let found = match (self, lock) {
            (Going::Canceled, RowLock::Share) => {
                sqlx::query_scalar!(
                    "select org_id from billing_accounts \
                     where org_id = $1 and status = 'canceled' for share",
                    org_id
                )
                .fetch_optional(conn)
                .await?
            }
            (Going::Canceled, RowLock::Update) => {
                sqlx::query_scalar!(
                    "select org_id from billing_accounts \
                     where org_id = $1 and status = 'canceled' for update",
                    org_id
                )
                .fetch_optional(conn)
                .await?
            }
            (Going::Deleted, RowLock::Share) => {
                sqlx::query_scalar!(
                    "select id from organizations \
                     where id = $1 and deletion_requested_at is not null for share",
                    org_id
                )
                .fetch_optional(conn)
                .await?
            }
            (Going::Deleted, RowLock::Update) => {
                sqlx::query_scalar!(
                    "select id from organizations \
                     where id = $1 and deletion_requested_at is not null for update",
                    org_id
                )
                .fetch_optional(conn)
                .await?
            }
        };
        Ok(found.is_some())
    }
}

/// What a deletion did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub messages: u64,
    /// File rows (a message's image, document...).
    pub media: u64,
    /// Stored files removed from the media store (no workspace had them).
    pub files_removed: usize,
    /// Inbox previews emptied (their message went).
    pub previews_cleared: u64,
    /// Transactions that deleted messages.
    pub batches: usize,
}

impl AddAssign for Deleted {
    fn add_assign(&mut self, other: Deleted) {
        self.messages += other.messages;
        self.media += other.media;
        self.files_removed += other.files_removed;
        self.previews_cleared += other.previews_cleared;
        self.batches += other.batches;
    }
}

/// Where this batch stops: before a time, or nothing is kept.
async fn cutoff(tx: &mut TenantTx, doomed: Doomed) -> sqlx::Result<Option<Option<OffsetDateTime>>> {
    match doomed {
        Doomed::PastRetention { now } => {
            let org_id = tx.org_id();
            let days: Option<i32> = sqlx::query_scalar!(
                "select retention_days from organizations where id = $1 for share",
                org_id
            )
            .fetch_optional(tx.conn())
            .await?
            .flatten();
            Ok(days.map(|days| Some(now - Duration::days(i64::from(days)))))
        }
        Doomed::Workspace(going) => Ok(going.still(tx, RowLock::Share).await?.then_some(None)),
    }
}

/// Deletes the workspace's doomed messages in batches, with the file rows
/// and stored files only they had; past its retention also the file rows
/// no message shows, and the previews of conversations gone quiet.
#[tracing::instrument(skip_all, fields(%org_id))]
pub async fn delete_messages(
    env: &Environment,
    org_id: Uuid,
    doomed: Doomed,
) -> anyhow::Result<Deleted> {
    let mut deleted = Deleted::default();
    let mut before = None;
    loop {
        let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
        let Some(cutoff) = cutoff(&mut tx, doomed).await? else {
            break;
        };
        before = cutoff;
        let batch = db::retention::delete_messages(&mut tx, cutoff, BATCH).await?;
        let (media, files) = db::retention::delete_unshown_media(&mut tx, &batch.media).await?;
        tx.commit().await?;
        deleted.batches += 1;
        deleted.messages += batch.count;
        deleted.media += media;
        deleted.files_removed += remove_unshared_files(env, files).await?;
        if let Some(before) = cutoff {
            // Apart from the batch, so no message stays locked while
            // conversations are (deliveries lock them, then messages).
            let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
            deleted.previews_cleared +=
                db::retention::clear_old_previews(&mut tx, &batch.conversations, before).await?;
            tx.commit().await?;
        }
        if batch.count < BATCH.unsigned_abs() {
            break;
        }
    }
    if let Some(before) = before {
        loop {
            let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
            // Still on, and not shortened since (a file is never older
            // than the setting allows when it goes).
            if cutoff(&mut tx, doomed).await? != Some(Some(before)) {
                break;
            }
            let (media, files) =
                db::retention::delete_old_unshown_media(&mut tx, before, BATCH).await?;
            tx.commit().await?;
            deleted.media += media;
            deleted.files_removed += remove_unshared_files(env, files).await?;
            if media < BATCH.unsigned_abs() {
                break;
            }
        }
    }
    if deleted.messages > 0 || deleted.media > 0 {
        tracing::info!(
            messages = deleted.messages,
            media = deleted.media,
            files = deleted.files_removed,
            "old messages deleted"
        );
    }
    Ok(deleted)
}

/// A transaction of the sweeps that read across workspaces: which are
/// canceled or deleted, which keep messages a limited time, and whether a
/// file is still any workspace's (policies `retention_sweeper`, reading
/// only).
pub async fn sweeper_tx(
    env: &Environment,
) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    // runtime SQL: `BEGIN` and `SET LOCAL` are utility statements (not prepared).
    env.pool
        .begin_with("begin; set local app.retention_sweeper = 'on'")
        .await
}

/// Removes each stored file no media row of any workspace names any more;
/// how many. Each is checked and removed under its lock, so a workspace
/// storing the same file right now either counts as having it or writes it
/// again afterwards (see `db::media::store`).
pub async fn remove_unshared_files(
    env: &Environment,
    mut files: Vec<String>,
) -> anyhow::Result<usize> {
    files.sort_unstable();
    files.dedup();
    let mut removed = 0;
    for file in &files {
        let mut tx = sweeper_tx(env).await?;
        db::media::lock_file(&mut tx, file).await?;
        let shared: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from media where sha256 = $1) as "shared!""#,
            file
        )
        .fetch_one(&mut *tx)
        .await?;
        if !shared {
            env.media.remove(file).await?;
            removed += 1;
        }
        tx.commit().await?;
    }
    Ok(removed)
}

/// What one retention sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Workspaces with retention on.
    pub workspaces: usize,
    pub deleted: Deleted,
    /// Workspaces whose deletion failed (logged; tried again next sweep).
    pub failed: usize,
}

/// Workspaces that keep messages a limited time.
async fn with_retention(env: &Environment) -> sqlx::Result<Vec<Uuid>> {
    let mut tx = sweeper_tx(env).await?;
    let ids = sqlx::query_scalar!("select id from organizations where retention_days is not null")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids)
}

/// Deletes every workspace's messages older than its retention (from the
/// sweeps, every few minutes). One workspace failing does not hold up the
/// others.
pub async fn sweep(env: &Environment) -> anyhow::Result<Swept> {
    let now = env.clock.now();
    let mut swept = Swept::default();
    for org_id in with_retention(env).await? {
        swept.workspaces += 1;
        match delete_messages(env, org_id, Doomed::PastRetention { now }).await {
            Ok(deleted) => swept.deleted += deleted,
            Err(e) => {
                swept.failed += 1;
                tracing::warn!(%org_id, error = %format!("{e:#}"), "message retention failed");
            }
        }
    }
    Ok(swept)
}
