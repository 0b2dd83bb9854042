//! Stored media files.

use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

pub struct MediaFile {
    pub content_type: String,
    pub filename: String,
    pub content: Content,
}

/// Where a file's bytes are.
pub enum Content {
    /// In the row (sandbox images).
    Bytes(Vec<u8>),
    /// In the media store under this SHA-256 (fetched from a provider).
    Stored { sha256: String },
}

pub async fn insert(
    tx: &mut TenantTx,
    content_type: &str,
    filename: &str,
    bytes: &[u8],
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into media (org_id, id, content_type, filename, bytes) values ($1, $2, $3, $4, $5)",
        tx.org_id(),
        id,
        content_type,
        filename,
        bytes
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// A file kept in the media store (see `crate::infra::media_store`).
async fn insert_stored(
    tx: &mut TenantTx,
    content_type: &str,
    filename: &str,
    sha256: &str,
    size: i64,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into media (org_id, id, content_type, filename, sha256, size) \
         values ($1, $2, $3, $4, $5, $6)",
        tx.org_id(),
        id,
        content_type,
        filename,
        sha256,
        size
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// A file as it was stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: Uuid,
    /// Decided from the bytes (see [`crate::domain::media::detect`]).
    pub content_type: String,
    pub size: u64,
}

/// Keeps the file in the media store (once per content) and records it with
/// the type its bytes show; `claimed` (what the sender said) is only a hint.
pub async fn store(
    tx: &mut TenantTx,
    files: &crate::infra::media_store::MediaStore,
    claimed: Option<&str>,
    filename: &str,
    incoming: crate::infra::media_store::Incoming,
) -> anyhow::Result<Stored> {
    let content_type = crate::domain::media::detect(&incoming.head, claimed);
    let size = incoming.size;
    let sha256 = incoming.sha256.clone();
    let id = insert_stored(tx, &content_type, filename, &sha256, i64::try_from(size)?).await?;
    // The row first, then the file under the file's lock: a purge of
    // another workspace that had the same file either sees this row (and
    // keeps the file) or has removed it before `keep` writes it again.
    lock_file(tx.conn(), &sha256).await?;
    files.keep(incoming).await?;
    Ok(Stored {
        id,
        content_type,
        size,
    })
}

/// Holds the lock on one stored file until the transaction ends; storing
/// and purging a file with the same content take turns on it.
pub async fn lock_file(conn: &mut sqlx::PgConnection, sha256: &str) -> sqlx::Result<()> {
    // From the function, no column: the macros cannot type a `void` one.
    sqlx::query!(
        "select from pg_advisory_xact_lock(hashtextextended('media-file:' || $1, 0))",
        sha256
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<MediaFile>> {
    let row = sqlx::query!(
        "select content_type, filename, bytes, sha256 from media where org_id = $1 and id = $2",
        tx.org_id(),
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.and_then(|r| {
        let content = match (r.bytes, r.sha256) {
            (Some(bytes), _) => Content::Bytes(bytes),
            (None, Some(sha256)) => Content::Stored { sha256 },
            // The table's check allows only one of the two.
            (None, None) => return None,
        };
        Some(MediaFile {
            content_type: r.content_type,
            filename: r.filename,
            content,
        })
    }))
}
