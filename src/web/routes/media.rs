//! Serving stored media to members of its workspace (another workspace's
//! id is a 404): sandbox images (kept in Postgres) and every other file
//! (kept in the media store, streamed from disk with `Range` so audio and
//! video seek). A customer chooses a file's bytes, name and claimed type,
//! so: the type comes from the bytes, only confirmed pictures, sound and
//! video are shown inline, everything else is an opaque attachment, and
//! every answer is sandboxed (see `web::headers`).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::domain::media::{HEAD_BYTES, OPAQUE, safe_filename, shown_inline};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::media::Content;
use crate::infra::tenancy::member::Tenant;
use crate::state::AppState;
use crate::web::path::PathId;

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{id}", get(serve))
}

/// Request headers a file answer depends on (ranges and revalidation).
const PASSED_ON: [header::HeaderName; 5] = [
    header::RANGE,
    header::IF_RANGE,
    header::IF_MODIFIED_SINCE,
    header::IF_UNMODIFIED_SINCE,
    header::IF_NONE_MATCH,
];

async fn serve(
    State(state): State<AppState>,
    mut tenant: Tenant,
    method: Method,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response> {
    let file = db::media::get(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Nothing stays open while the file goes out.
    tenant.tx.commit().await?;
    let mut response = match &file.content {
        Content::Bytes(bytes) => {
            let head = &bytes[..bytes.len().min(HEAD_BYTES)];
            let inline = shown_inline(&file.content_type, head);
            let mut response = Body::from(bytes.clone()).into_response();
            describe(response.headers_mut(), &file, inline);
            response
        }
        Content::Stored { sha256 } => {
            let path = state.media.file_path(sha256).ok_or(AppError::NotFound)?;
            let head = state
                .media
                .head(sha256)
                .await
                .map_err(|e| AppError::Internal(e.into()))?
                .ok_or(AppError::NotFound)?;
            let inline = shown_inline(&file.content_type, &head);
            let mut request = Request::builder().method(method).uri("/");
            for name in PASSED_ON {
                if let Some(value) = headers.get(&name) {
                    request = request.header(name, value);
                }
            }
            let request = request
                .body(Body::empty())
                .map_err(|e| AppError::Internal(e.into()))?;
            let served = ServeFile::new(path)
                .oneshot(request)
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            let mut response = served.map(Body::new);
            describe(response.headers_mut(), &file, inline);
            response
        }
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    Ok(response)
}

/// The type and disposition a file is served with.
fn describe(headers: &mut HeaderMap, file: &db::media::MediaFile, inline: bool) {
    let (content_type, disposition) = if inline {
        (file.content_type.as_str(), "inline")
    } else {
        (OPAQUE, "attachment")
    };
    let filename = safe_filename(&file.filename);
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
}
