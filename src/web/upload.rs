//! Reading multipart uploads with a size limit: a file past the limit is a
//! 413 with the route's own words, any other unreadable upload a 400.

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;

use crate::error::AppError;
use crate::features::inbox::attachment;
use crate::infra::media_store::{Incoming, MediaStore};

/// Maps a multipart error; `too_large` says what the limit is.
pub fn upload_error(e: MultipartError, too_large: &impl Fn() -> AppError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::BadRequest("The upload could not be read; try again.".into())
    }
}

/// A file field's bytes, refused past `max`.
pub async fn read_file(
    field: &mut Field<'_>,
    max: usize,
    too_large: &impl Fn() -> AppError,
) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| upload_error(e, too_large))?
    {
        if bytes.len() + chunk.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A file sent in a form: its name (trimmed, without path separators or
/// control characters, 200 characters at most), the type the browser
/// declared (a hint only), and its bytes, spooled to disk.
pub struct UploadedFile {
    pub filename: String,
    pub declared: Option<String>,
    pub content: Incoming,
}

/// Reads a multipart form: the file in `file_field` (refused past `max`),
/// streamed into a temporary file of `files` while hashing, and the other
/// fields as text, by name.
pub async fn read_form(
    multipart: &mut axum::extract::Multipart,
    file_field: &str,
    max: usize,
    too_large: &impl Fn() -> AppError,
    files: &MediaStore,
) -> Result<(Option<UploadedFile>, Vec<(String, String)>), AppError> {
    let mut file = None;
    let mut fields = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| upload_error(e, too_large))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_field {
            let filename: String = field
                .file_name()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or("file")
                .chars()
                .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
                .take(200)
                .collect();
            let declared = field.content_type().map(str::to_owned);
            let content = spool_file(&mut field, max, too_large, files).await?;
            file = Some(UploadedFile {
                filename,
                declared,
                content,
            });
        } else {
            let value = field.text().await.map_err(|e| upload_error(e, too_large))?;
            fields.push((name, value));
        }
    }
    Ok((file, fields))
}

/// A file field written chunk by chunk to a temporary file, refused past
/// `max` (the partial file is removed).
async fn spool_file(
    field: &mut Field<'_>,
    max: usize,
    too_large: &impl Fn() -> AppError,
    files: &MediaStore,
) -> Result<Incoming, AppError> {
    let mut spool = files
        .spool()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| upload_error(e, too_large))?
    {
        if spool.size() + chunk.len() as u64 > max as u64 {
            return Err(too_large());
        }
        spool
            .write(&chunk)
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    spool
        .finish()
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

/// Reads a form carrying an attachment (the file in `file`, other fields
/// as text); a file over [`attachment::MAX_BYTES`] is refused with the limit in words.
pub async fn read_attachment(
    multipart: &mut axum::extract::Multipart,
    files: &MediaStore,
) -> Result<(Option<UploadedFile>, Vec<(String, String)>), AppError> {
    let too_large = || {
        AppError::TooLarge(format!(
            "The file is larger than WhatsApp takes ({} MB at most).",
            attachment::MAX_BYTES / attachment::MB
        ))
    };
    read_form(multipart, "file", attachment::MAX_BYTES, &too_large, files).await
}
