//! Serving stored media to members of its workspace (another workspace's
//! id is a 404). Only sniffed images are stored, and they are served with
//! their sniffed type; nothing is rendered as a page.

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::app::AppState;
use crate::db;
use crate::error::{AppError, Result};
use crate::tenancy::member::Tenant;

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{id}", get(serve))
}

async fn serve(mut tenant: Tenant, Path(id): Path<String>) -> Result<Response> {
    let id = Uuid::try_parse(&id).map_err(|_| AppError::NotFound)?;
    let file = db::media::get(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tenant.tx.commit().await?;
    let filename: String = file
        .filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        file.bytes,
    )
        .into_response())
}
