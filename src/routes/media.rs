//! Serving stored media to members of its workspace (another workspace's
//! id is a 404): sandbox images (sniffed, kept in Postgres) and media
//! fetched from WhatsApp (kept in the media store). Served inline with the
//! stored type under `nosniff`; the CSP forbids scripts in any case.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::app::AppState;
use crate::db;
use crate::db::media::Content;
use crate::error::{AppError, Result};
use crate::tenancy::member::Tenant;

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{id}", get(serve))
}

async fn serve(
    State(state): State<AppState>,
    mut tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = Uuid::try_parse(&id).map_err(|_| AppError::NotFound)?;
    let file = db::media::get(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tenant.tx.commit().await?;
    let bytes = match file.content {
        Content::Bytes(bytes) => bytes,
        Content::Stored { sha256 } => state
            .media
            .get(&sha256)
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .ok_or(AppError::NotFound)?,
    };
    let filename: String = file
        .filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "{}; filename=\"{filename}\"",
                    disposition(&file.content_type)
                ),
            ),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// Pictures, sound and video are shown in the page; anything else (a PDF,
/// or HTML a customer sent as a document) is downloaded, never rendered on
/// our origin.
fn disposition(content_type: &str) -> &'static str {
    let kind = content_type.to_ascii_lowercase();
    let playable = ["image/", "audio/", "video/"]
        .iter()
        .any(|prefix| kind.starts_with(prefix));
    if playable && !kind.contains("svg") {
        "inline"
    } else {
        "attachment"
    }
}
