//! Contact imports: the stored upload, its mapping, its progress, and the
//! rows that failed.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::csv_file::CsvFile;
use crate::domain::{ImportStatus, OnDuplicate};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Import {
    pub id: Uuid,
    pub filename: String,
    pub columns: Vec<String>,
    pub mapping: Option<Vec<String>>,
    pub on_duplicate: OnDuplicate,
    pub status: ImportStatus,
    pub total_rows: i32,
    pub done_rows: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub failed: i32,
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

impl Import {
    pub fn is_running(&self) -> bool {
        self.status.is_running()
    }

    /// Whole percent done.
    pub fn percent(&self) -> i32 {
        if self.total_rows == 0 {
            return 100;
        }
        (i64::from(self.done_rows) * 100 / i64::from(self.total_rows)) as i32
    }
}

/// `query_as!` of [`Import`]s from `contact_imports`, then `$rest`. A
/// macro so that the SQL stays one literal the compiler checks.
macro_rules! select_imports {
    ($rest:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Import,
            r#"select id, filename, columns, mapping,
               on_duplicate as "on_duplicate: OnDuplicate", status as "status: ImportStatus",
               total_rows, done_rows, created, updated, skipped, failed, error, created_at,
               finished_at
             from contact_imports "#
                + $rest,
            $($arg),+
        )
    };
}

pub async fn create(
    tx: &mut TenantTx,
    created_by: Uuid,
    filename: &str,
    file: &CsvFile,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into contact_imports (org_id, id, created_by, filename, csv, columns, total_rows, next_byte) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        tx.org_id(),
        id,
        created_by,
        filename,
        &file.bytes,
        &file.columns,
        i32::try_from(file.rows).unwrap_or(i32::MAX),
        i64::try_from(file.data_start).unwrap_or(i64::MAX)
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Import>> {
    select_imports!("where org_id = $1 and id = $2", tx.org_id(), id)
        .fetch_optional(tx.conn())
        .await
}

pub async fn recent(tx: &mut TenantTx, limit: i64) -> sqlx::Result<Vec<Import>> {
    select_imports!(
        "where org_id = $1 order by created_at desc, id desc limit $2",
        tx.org_id(),
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// Fixes the mapping and queues the import; `false` unless it was waiting
/// for its mapping (a second click starts nothing twice).
pub async fn start(
    tx: &mut TenantTx,
    id: Uuid,
    mapping: &[String],
    on_duplicate: OnDuplicate,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update contact_imports set mapping = $3, on_duplicate = $4, status = 'queued' \
         where org_id = $1 and id = $2 and status = 'mapping'",
        tx.org_id(),
        id,
        mapping,
        on_duplicate.as_str()
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the job needs once per run.
#[derive(Debug, sqlx::FromRow)]
pub struct Work {
    pub csv: Vec<u8>,
    pub mapping: Vec<String>,
    pub on_duplicate: OnDuplicate,
}

pub async fn work(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Work>> {
    sqlx::query_as!(
        Work,
        r#"select csv, mapping as "mapping!", on_duplicate as "on_duplicate: OnDuplicate"
           from contact_imports
           where org_id = $1 and id = $2 and mapping is not null"#,
        tx.org_id(),
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Where the import stands, locked until the batch commits (a second run
/// of the same import waits, then continues after this batch).
#[derive(Debug, sqlx::FromRow)]
pub struct Position {
    pub status: ImportStatus,
    pub next_byte: i64,
    pub done_rows: i32,
}

pub async fn lock_position(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Position>> {
    sqlx::query_as!(
        Position,
        r#"select status as "status: ImportStatus", next_byte, done_rows from contact_imports
           where org_id = $1 and id = $2 for update"#,
        tx.org_id(),
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// A row that could not be imported.
#[derive(Debug, Clone)]
pub struct Failure {
    pub row_number: i32,
    pub reason: String,
    pub raw: Vec<String>,
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub rows: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub failures: Vec<Failure>,
}

/// Records a batch's outcome and the position after it, in the batch's
/// transaction.
pub async fn record_batch(
    tx: &mut TenantTx,
    id: Uuid,
    next_byte: u64,
    outcome: &BatchOutcome,
    finished: bool,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    if !outcome.failures.is_empty() {
        let numbers: Vec<i32> = outcome.failures.iter().map(|f| f.row_number).collect();
        let reasons: Vec<&str> = outcome.failures.iter().map(|f| f.reason.as_str()).collect();
        let raws: Vec<String> = outcome
            .failures
            .iter()
            .map(|f| serde_json::Value::from(f.raw.clone()).to_string())
            .collect();
        sqlx::query!(
            "insert into contact_import_failures (org_id, import_id, row_number, reason, raw) \
             select $1, $2, n, r, j::jsonb from unnest($3::int[], $4::text[], $5::text[]) as u(n, r, j) \
             on conflict do nothing",
            org_id,
            id,
            &numbers,
            &reasons as &[&str],
            &raws
        )
        .execute(tx.conn())
        .await?;
    }
    sqlx::query!(
        "update contact_imports set next_byte = $3, done_rows = done_rows + $4, \
           created = created + $5, updated = updated + $6, skipped = skipped + $7, \
           failed = failed + $8, \
           status = case when $9 then 'done' else 'running' end, \
           finished_at = case when $9 then now() end, \
           csv = case when $9 then ''::bytea else csv end \
         where org_id = $1 and id = $2",
        org_id,
        id,
        i64::try_from(next_byte).unwrap_or(i64::MAX),
        outcome.rows,
        outcome.created,
        outcome.updated,
        outcome.skipped,
        i32::try_from(outcome.failures.len()).unwrap_or(i32::MAX),
        finished
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The failed rows in file order, at most `limit`.
pub async fn failures(tx: &mut TenantTx, id: Uuid, limit: i64) -> sqlx::Result<Vec<Failure>> {
    let rows = sqlx::query!(
        r#"select row_number, reason, raw as "raw: sqlx::types::Json<Vec<String>>"
           from contact_import_failures
           where org_id = $1 and import_id = $2 order by row_number limit $3"#,
        tx.org_id(),
        id,
        limit
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Failure {
            row_number: r.row_number,
            reason: r.reason,
            raw: r.raw.0,
        })
        .collect())
}
