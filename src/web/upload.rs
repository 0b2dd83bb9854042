//! Reading multipart uploads with a size limit: a file past the limit is a
//! 413 with the route's own words, any other unreadable upload a 400.

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;

use crate::error::AppError;

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
