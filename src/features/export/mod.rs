//! Data exports: the whole workspace (owners), or one contact's data (a
//! subject access request). A background job reads every exported table
//! in one snapshot (repeatable read), streams the rows to JSON Lines and
//! CSV files, adds the media files and a manifest, and packs them into a
//! `.tar.gz` in the data dir. Owners download it for 7 days; then a job
//! deletes the file.

pub mod archive;
pub mod tables;

use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::domain::ExportScope;
use crate::features::environment::Environment;
use crate::infra::config::Config;
use crate::infra::db;
use crate::infra::db::exports::Export;
use crate::infra::jobs;
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::bootstrap;
use archive::{Entry, TableWriter};

/// How long a finished export can be downloaded.
const KEPT_FOR: Duration = Duration::days(7);
/// Rows between two progress updates.
const PROGRESS_EVERY: i64 = 2_000;
/// Rows in flight between the database reader and the file writer.
const ROWS_IN_FLIGHT: usize = 256;

/// The workspace's exports folder.
fn folder(config: &Config, org_id: Uuid) -> PathBuf {
    config.data_dir.join("exports").join(org_id.to_string())
}

/// Where a finished export's archive is.
pub fn archive_path(config: &Config, org_id: Uuid, export_id: Uuid) -> PathBuf {
    folder(config, org_id).join(format!("{export_id}.tar.gz"))
}

/// The name a download is saved as.
pub fn download_name(export: &Export) -> String {
    let when = export
        .created_at
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute]"
        ))
        .unwrap_or_default();
    match export.scope {
        ExportScope::Contact => format!("wacrm-contact-export-{when}.tar.gz"),
        ExportScope::Workspace => format!("wacrm-export-{when}.tar.gz"),
    }
}

/// The job: builds the archive of export `export_id`. A failure is
/// recorded on the export (the owner asks again) rather than retried.
pub async fn build(env: &Environment, org_id: Uuid, export_id: Uuid) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(export) = db::exports::start(&mut tx, export_id).await? else {
        return Ok(());
    };
    tx.commit().await?;
    let work = folder(&env.config, org_id).join(format!("{export_id}.work"));
    let outcome = write_export(env, org_id, &export, &work).await;
    if let Err(e) = tokio::fs::remove_dir_all(&work).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%export_id, error = %e, "export work folder not removed");
    }
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    match outcome {
        Ok(digest) => {
            let expires_at = OffsetDateTime::now_utc() + KEPT_FOR;
            let size = i64::try_from(digest.size).unwrap_or(i64::MAX);
            db::exports::finish(&mut tx, export_id, size, &digest.sha256, expires_at).await?;
            let expire = ExpireExport { org_id, export_id };
            jobs::enqueue_at(tx.conn(), &env.secrets, &expire, Some(expires_at)).await?;
            tracing::info!(%org_id, %export_id, bytes = digest.size, "export ready");
        }
        Err(e) => {
            tracing::error!(%org_id, %export_id, error = %format!("{e:#}"), "export failed");
            db::exports::fail(
                &mut tx,
                export_id,
                "The export could not be built. Try again; if it keeps failing, contact support.",
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The job at the end of the 7 days: the file goes.
pub async fn expire(env: &Environment, org_id: Uuid, export_id: Uuid) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    db::exports::expire(&mut tx, export_id).await?;
    remove_archive(&env.config, org_id, export_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an export's archive (one already gone is fine).
pub async fn remove_archive(config: &Config, org_id: Uuid, export_id: Uuid) -> std::io::Result<()> {
    match tokio::fs::remove_file(archive_path(config, org_id, export_id)).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Deletes every export archive of a workspace (the workspace is gone).
pub async fn remove_workspace_exports(config: &Config, org_id: Uuid) -> std::io::Result<()> {
    match tokio::fs::remove_dir_all(folder(config, org_id)).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Progress, written to the export row now and then (on its own
/// connection: the snapshot's transaction only reads).
struct Progress<'a> {
    env: &'a Environment,
    org_id: Uuid,
    export_id: Uuid,
    done: i64,
    total: i64,
    written: i64,
}

impl Progress<'_> {
    async fn advance(&mut self, rows: i64) -> anyhow::Result<()> {
        self.done += rows;
        if self.done - self.written >= PROGRESS_EVERY {
            self.save().await?;
        }
        Ok(())
    }

    async fn save(&mut self) -> anyhow::Result<()> {
        let mut tx = bootstrap::for_job(&self.env.pool, self.org_id).await?;
        db::exports::set_progress(&mut tx, self.export_id, self.done, self.total).await?;
        tx.commit().await?;
        self.written = self.done;
        Ok(())
    }
}

async fn write_export(
    env: &Environment,
    org_id: Uuid,
    export: &Export,
    work: &Path,
) -> anyhow::Result<archive::Digest> {
    if tokio::fs::try_exists(work).await? {
        tokio::fs::remove_dir_all(work).await?;
    }
    tokio::fs::create_dir_all(work.join("media")).await?;
    let contact = export.contact_id;
    // Every table from the same moment: one repeatable-read snapshot.
    let mut snapshot = bootstrap::for_job(&env.pool, org_id).await?;
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(snapshot.conn())
        .await?;
    let workspace: String =
        sqlx::query_scalar!("select name from organizations where id = $1", org_id)
            .fetch_one(snapshot.conn())
            .await?;
    let mut included = Vec::new();
    let mut total = 0i64;
    for table in tables::TABLES {
        let Some(filter) = tables::filter(table, contact.is_some()) else {
            continue;
        };
        // runtime SQL: the table and its filter are data (`tables::TABLES`).
        let count: i64 = bind(
            sqlx::query_scalar(sqlx::AssertSqlSafe(tables::count_rows(table, &filter))),
            org_id,
            contact,
        )
        .fetch_one(snapshot.conn())
        .await?;
        total += count;
        included.push((table, filter, count));
    }
    let mut progress = Progress {
        env,
        org_id,
        export_id: export.id,
        done: 0,
        total,
        written: 0,
    };
    progress.save().await?;

    let mut entries = Vec::new();
    let mut counts = serde_json::Map::new();
    for (table, filter, count) in &included {
        let columns = tables::columns(snapshot.conn(), table).await?;
        let sql = tables::select_rows(table, &columns, filter);
        let written = write_table(
            &mut snapshot,
            work,
            table.name,
            columns,
            &sql,
            org_id,
            contact,
            &mut progress,
        )
        .await?;
        counts.insert(table.name.to_owned(), json!(count));
        entries.extend(written);
    }
    let media_list = list_media_files(env, &mut snapshot, work, org_id, contact).await?;
    snapshot.commit().await?;

    let head = json!({
        "format": "wacrm-export-1",
        "workspace": workspace,
        "workspace_id": org_id,
        "scope": export.scope.as_str(),
        "contact_id": contact,
        "requested_by": export.requested_by_email,
        "created_at": OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?,
        "rows": counts,
        "left_out": tables::LEFT_OUT
            .iter()
            .map(|(name, why)| ((*name).to_owned(), json!(why)))
            .collect::<serde_json::Map<_, _>>(),
    });
    let out = folder(&env.config, org_id).join(format!("{}.tar.gz.part", export.id));
    let name = download_name(export);
    let folder_name = name.trim_end_matches(".tar.gz").to_owned();
    let out_for_writer = out.clone();
    let scratch = work.to_owned();
    let digest = tokio::task::spawn_blocking(move || {
        let all = entries
            .into_iter()
            .map(Ok)
            .chain(media_entries(&media_list)?);
        archive::write(&out_for_writer, &folder_name, &scratch, all, head)
    })
    .await??;
    tokio::fs::rename(&out, archive_path(&env.config, org_id, export.id)).await?;
    Ok(digest)
}

type ScalarQuery<'q, T> =
    sqlx::query::QueryScalar<'q, sqlx::Postgres, T, sqlx::postgres::PgArguments>;

/// Binds the workspace, and the contact when the export is of one.
fn bind<'q, T>(
    query: ScalarQuery<'q, T>,
    org_id: Uuid,
    contact: Option<Uuid>,
) -> ScalarQuery<'q, T> {
    let query = query.bind(org_id);
    match contact {
        Some(contact) => query.bind(contact),
        None => query,
    }
}

/// Streams one table's rows into its two files (written on a blocking
/// thread, a few hundred rows in flight at most).
#[allow(clippy::too_many_arguments)]
async fn write_table(
    snapshot: &mut TenantTx,
    work: &Path,
    table: &str,
    columns: Vec<String>,
    sql: &str,
    org_id: Uuid,
    contact: Option<Uuid>,
    progress: &mut Progress<'_>,
) -> anyhow::Result<[Entry; 2]> {
    let (rows_tx, mut rows_rx) = tokio::sync::mpsc::channel::<String>(ROWS_IN_FLIGHT);
    let dir = work.to_owned();
    let name = table.to_owned();
    let writer = tokio::task::spawn_blocking(move || {
        let mut writer = TableWriter::create(&dir, &name, columns)?;
        while let Some(row) = rows_rx.blocking_recv() {
            writer.row(&row)?;
        }
        writer.finish()
    });
    let read = async {
        // runtime SQL: the table and its columns are data (`tables::TABLES`,
        // the catalog).
        let query = bind(
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_owned())),
            org_id,
            contact,
        );
        let mut rows = query.fetch(snapshot.conn());
        let mut since_progress = 0;
        while let Some(row) = rows.try_next().await? {
            if rows_tx.send(row).await.is_err() {
                break; // the writer failed: its error is reported below
            }
            since_progress += 1;
            if since_progress == PROGRESS_EVERY {
                progress.advance(since_progress).await?;
                since_progress = 0;
            }
        }
        drop(rows_tx);
        progress.advance(since_progress).await?;
        anyhow::Ok(())
    };
    let read_result = read.await;
    let written = writer.await?;
    read_result?;
    written
}

/// The media files, listed in `media.list` (name and source a line): those
/// in the media store are archived from there; small ones kept in the
/// database are written out one at a time. Streamed: nothing grows with
/// the number of files.
async fn list_media_files(
    env: &Environment,
    snapshot: &mut TenantTx,
    work: &Path,
    org_id: Uuid,
    contact: Option<Uuid>,
) -> anyhow::Result<PathBuf> {
    let list_path = work.join("media.list");
    let mut list = tokio::io::BufWriter::new(tokio::fs::File::create(&list_path).await?);
    // The rows `tables::TABLES` exports for `media`: the workspace's, or
    // those a contact's messages point at (`tables::MEDIA_OF_CONTACT`).
    let mut rows = match contact {
        None => sqlx::query_as!(
            MediaRow,
            "select id, filename, content_type, sha256, \
               case when sha256 is null then bytes end as bytes \
             from media where org_id = $1 order by created_at, id",
            org_id
        )
        .fetch(snapshot.conn()),
        Some(contact) => sqlx::query_as!(
            MediaRow,
            "select id, filename, content_type, sha256, \
               case when sha256 is null then bytes end as bytes \
             from media where org_id = $1 and '/media/' || id::text in \
               (select media->>'url' from messages where org_id = $1 and media is not null \
                and conversation_id in \
                (select id from conversations where org_id = $1 and contact_id = $2::uuid)) \
             order by created_at, id",
            org_id,
            contact
        )
        .fetch(snapshot.conn()),
    };
    while let Some(MediaRow {
        id,
        filename,
        content_type,
        sha256,
        bytes,
    }) = rows.try_next().await?
    {
        let name = format!("media/{id}{}", media_suffix(&filename, &content_type));
        let source = match (sha256, bytes) {
            (Some(sha256), _) => env
                .media
                .file_path(&sha256)
                .ok_or_else(|| anyhow::anyhow!("media {id} has a malformed digest"))?,
            (None, bytes) => {
                let path = work.join("media").join(id.to_string());
                tokio::fs::write(&path, bytes.unwrap_or_default()).await?;
                path
            }
        };
        let line = json!([name, source.to_string_lossy()]).to_string();
        list.write_all(line.as_bytes()).await?;
        list.write_all(b"\n").await?;
    }
    list.flush().await?;
    Ok(list_path)
}

/// A media row to archive: its bytes only when the database keeps them.
struct MediaRow {
    id: Uuid,
    filename: String,
    content_type: String,
    sha256: Option<String>,
    bytes: Option<Vec<u8>>,
}

/// The entries of a `media.list`, read as they are archived.
fn media_entries(
    list: &Path,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Entry>> + use<>> {
    let reader = std::io::BufReader::new(std::fs::File::open(list)?);
    Ok(std::io::BufRead::lines(reader).map(|line| {
        let (name, source): (String, String) = serde_json::from_str(&line?)?;
        Ok(Entry {
            name,
            source: PathBuf::from(source),
            digest: None,
            rows: None,
        })
    }))
}

/// `-<filename>` made safe for every file system, or an extension from the
/// content type.
fn media_suffix(filename: &str, content_type: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let safe = safe.trim_start_matches('.');
    if !safe.is_empty() {
        return format!("-{safe}");
    }
    let extension = match content_type {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/webp" => ".webp",
        "image/gif" => ".gif",
        "audio/ogg" => ".ogg",
        "audio/mpeg" => ".mp3",
        "video/mp4" => ".mp4",
        "application/pdf" => ".pdf",
        _ => "",
    };
    extension.to_owned()
}

/// A data export to build (workspace or one contact) (`kind: build_export`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BuildExport {
    pub org_id: Uuid,
    pub export_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for BuildExport {
    const KIND: &'static str = "build_export";
    const QUEUE: &'static str = "exports";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        build(env, self.org_id, self.export_id).await
    }
}

/// A finished export whose 7 days are over: its file goes (`kind: expire_export`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ExpireExport {
    pub org_id: Uuid,
    pub export_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for ExpireExport {
    const KIND: &'static str = "expire_export";
    const QUEUE: &'static str = "exports";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        expire(env, self.org_id, self.export_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_names_are_safe() {
        assert_eq!(
            media_suffix("../../etc/passwd", "text/plain"),
            "-_.._etc_passwd"
        );
        assert_eq!(
            media_suffix("Fatura março.pdf", "application/pdf"),
            "-Fatura_março.pdf"
        );
        assert_eq!(media_suffix("", "image/jpeg"), ".jpg");
        assert_eq!(media_suffix("", "application/x-unknown"), "");
    }
}
