//! Stored media files.

use uuid::Uuid;

use crate::tenancy::TenantTx;

pub struct MediaFile {
    pub content_type: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

pub async fn insert(
    tx: &mut TenantTx,
    content_type: &str,
    filename: &str,
    bytes: &[u8],
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into media (org_id, id, content_type, filename, bytes) values ($1, $2, $3, $4, $5)",
    )
    .bind(tx.org_id())
    .bind(id)
    .bind(content_type)
    .bind(filename)
    .bind(bytes)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<MediaFile>> {
    let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
        "select content_type, filename, bytes from media where org_id = $1 and id = $2",
    )
    .bind(tx.org_id())
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|(content_type, filename, bytes)| MediaFile {
        content_type,
        filename,
        bytes,
    }))
}
