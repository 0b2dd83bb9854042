//! Files to send: uploaded first (`POST /api/v1/media`, multipart `file`),
//! then named by a message (`{"media": {"id": ...}}`), as WhatsApp's own
//! API does. The file is kept in the media store and served to members.

use axum::Json;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ErrorBody;
use crate::error::AppError;
use crate::features::inbox::attachment;
use crate::infra::db;
use crate::infra::tenancy::api_client::{ApiClient, ApiError};
use crate::state::AppState;
use crate::web::upload::UploadedFile;

/// A stored file.
#[derive(Serialize, ToSchema)]
pub struct MediaOut {
    id: Uuid,
    /// What a message with it is sent as: `image`, `video`, `audio` or
    /// `document`.
    kind: String,
    mime_type: String,
    filename: String,
    size: u64,
}

/// Uploads a file to send: a JPEG or PNG image (5 MB), an MP4 or 3GPP
/// video or an audio file (16 MB), a PDF, text or Office document (100 MB).
#[utoipa::path(
    post, path = "/api/v1/media", tag = "messages",
    request_body(content_type = "multipart/form-data", description = "The file, in the field `file`"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = MediaOut),
        (status = 400, description = "Not a multipart upload, or no `file`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "Larger than WhatsApp takes", body = ErrorBody),
        (status = 422, description = "A kind of file WhatsApp does not take, or too large for its kind", body = ErrorBody),
    )
)]
pub async fn upload(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut client: ApiClient,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let mut multipart = multipart.map_err(|_| {
        AppError::BadRequest("Send the file as multipart/form-data, in the field file.".into())
    })?;
    let (file, _) = crate::web::upload::read_attachment(&mut multipart, &state.media).await?;
    let Some(UploadedFile {
        filename,
        declared,
        content,
    }) = file
    else {
        return Err(AppError::BadRequest("file: no file was sent.".into()).into());
    };
    let attached = attachment::classify(declared.as_deref(), &content.head, content.size)
        .map_err(|e| AppError::Unprocessable(format!("file: {e}")))?;
    let file = db::media::store(
        &mut client.tx,
        &state.media,
        Some(&attached.mime_type),
        &filename,
        content,
    )
    .await?;
    client.tx.commit().await?;
    let stored = MediaOut {
        id: file.id,
        kind: attached.kind.as_str().to_owned(),
        mime_type: file.content_type,
        filename,
        size: file.size,
    };
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}
