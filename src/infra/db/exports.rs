//! Data exports of a workspace (or of one contact): their state and
//! progress. The archive itself is a file in the data dir.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{ExportScope, ExportState};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone)]
pub struct Export {
    pub id: Uuid,
    pub requested_by_email: String,
    pub scope: ExportScope,
    pub contact_id: Option<Uuid>,
    pub contact_name: String,
    pub state: ExportState,
    pub rows_done: i64,
    pub rows_total: i64,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
}

impl Export {
    /// Whole percent done, for the progress bar.
    pub fn percent(&self) -> i64 {
        if self.rows_total <= 0 {
            0
        } else {
            (self.rows_done * 100 / self.rows_total).clamp(0, 100)
        }
    }

    pub fn is_live(&self) -> bool {
        self.state.is_live()
    }

    /// Ready and not expired at `now`.
    pub fn downloadable(&self, now: OffsetDateTime) -> bool {
        self.state == ExportState::Done && self.expires_at.is_some_and(|at| at > now)
    }
}

/// What is being exported.
pub enum Scope<'a> {
    Workspace,
    Contact { id: Uuid, name: &'a str },
}

pub async fn insert(
    tx: &mut TenantTx,
    requested_by: Uuid,
    requested_by_email: &str,
    scope: Scope<'_>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    let org_id = tx.org_id();
    let (kind, contact_id, contact_name) = match scope {
        Scope::Workspace => (ExportScope::Workspace, None, ""),
        Scope::Contact { id, name } => (ExportScope::Contact, Some(id), name),
    };
    sqlx::query!(
        "insert into data_exports (org_id, id, requested_by, requested_by_email, scope, \
         contact_id, contact_name) values ($1, $2, $3, $4, $5, $6, $7)",
        org_id,
        id,
        requested_by,
        requested_by_email,
        kind.as_str(),
        contact_id,
        contact_name
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// A workspace export being built, if any (one at a time).
pub async fn workspace_export_in_progress(tx: &mut TenantTx) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select exists (select 1 from data_exports where org_id = $1
           and scope = 'workspace' and state in ('queued', 'running')) as "in_progress!""#,
        org_id
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Export>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Export,
        r#"select id, requested_by_email, scope as "scope: ExportScope", contact_id, contact_name,
                  state as "state: ExportState", rows_done, rows_total, size_bytes, sha256,
                  error, created_at, finished_at, expires_at
           from data_exports where org_id = $1 order by created_at desc limit 50"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Export>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Export,
        r#"select id, requested_by_email, scope as "scope: ExportScope", contact_id, contact_name,
                  state as "state: ExportState", rows_done, rows_total, size_bytes, sha256,
                  error, created_at, finished_at, expires_at
           from data_exports where org_id = $1 and id = $2"#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Marks it running (again, after a crash) unless it ended; the export.
pub async fn start(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Export>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Export,
        r#"update data_exports set state = 'running', rows_done = 0
           where org_id = $1 and id = $2 and state in ('queued', 'running')
           returning id, requested_by_email, scope as "scope: ExportScope", contact_id, contact_name,
                     state as "state: ExportState", rows_done, rows_total, size_bytes, sha256,
                     error, created_at, finished_at, expires_at"#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn set_progress(tx: &mut TenantTx, id: Uuid, done: i64, total: i64) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update data_exports set rows_done = $3, rows_total = $4 \
         where org_id = $1 and id = $2 and state = 'running'",
        org_id,
        id,
        done,
        total
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn finish(
    tx: &mut TenantTx,
    id: Uuid,
    size: i64,
    sha256: &str,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update data_exports set state = 'done', rows_done = rows_total, size_bytes = $3, \
         sha256 = $4, finished_at = now(), expires_at = $5 where org_id = $1 and id = $2",
        org_id,
        id,
        size,
        sha256,
        expires_at
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn fail(tx: &mut TenantTx, id: Uuid, error: &str) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update data_exports set state = 'failed', error = $3, finished_at = now() \
         where org_id = $1 and id = $2",
        org_id,
        id,
        error
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Marks a finished export expired (its file is deleted); false if it was
/// not a finished one.
pub async fn expire(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let updated = sqlx::query!(
        "update data_exports set state = 'expired' \
         where org_id = $1 and id = $2 and state = 'done'",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// One-contact exports of this contact (their files go when it is erased).
pub async fn of_contact(tx: &mut TenantTx, contact_id: Uuid) -> sqlx::Result<Vec<Uuid>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select id from data_exports where org_id = $1 and contact_id = $2",
        org_id,
        contact_id
    )
    .fetch_all(tx.conn())
    .await
}
