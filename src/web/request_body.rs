//! Request bodies are read whole, before any handler runs: a handler's
//! extractors open the tenant transaction before the body extractor reads,
//! so a client trickling a body would otherwise hold a database connection
//! for as long as it likes, and a handful of them would take the pool. Here
//! the body must arrive within a deadline (else 408) and under a ceiling
//! (else 413); small bodies stay in memory, larger ones (uploads) are
//! spooled to a temporary file that is removed once the request is done.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::error::AppError;

/// Bodies up to this size stay in memory.
const IN_MEMORY: usize = 256 * 1024;
/// The largest body any route takes (an upload of 100 MB with its form).
pub const MAX_BODY: u64 = 101 * 1024 * 1024;

/// How long a client has to send its whole body.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub Duration);

pub async fn read_first(
    State(deadline): State<BodyDeadline>,
    request: Request,
    next: Next,
) -> Response {
    if !has_body(&request) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(deadline.0, collect(body)).await;
    let body = match read {
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                "The request took too long to arrive; please try again.",
            )
                .into_response();
        }
        Ok(Err(error)) => return error.into_response(),
        Ok(Ok(body)) => body,
    };
    next.run(Request::from_parts(parts, body)).await
}

/// Whether the request says it carries a body.
fn has_body(request: &Request) -> bool {
    let headers = request.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING)
}

fn too_large() -> AppError {
    AppError::TooLarge(format!(
        "The request is larger than wacrm takes ({} MB at most).",
        MAX_BODY / (1024 * 1024)
    ))
}

/// The whole body, in memory or in a temporary file.
async fn collect(body: Body) -> Result<Body, AppError> {
    let mut memory: Vec<u8> = Vec::new();
    let mut spool: Option<(tokio::fs::File, tempfile::TempPath)> = None;
    let mut size: u64 = 0;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| {
            AppError::BadRequest("The request could not be read; try again.".into())
        })?;
        size += chunk.len() as u64;
        if size > MAX_BODY {
            return Err(too_large());
        }
        match &mut spool {
            Some((file, _)) => file.write_all(&chunk).await.map_err(internal)?,
            None if memory.len() + chunk.len() <= IN_MEMORY => memory.extend_from_slice(&chunk),
            None => {
                let (mut file, path) = temporary_file().await?;
                file.write_all(&memory).await.map_err(internal)?;
                file.write_all(&chunk).await.map_err(internal)?;
                memory = Vec::new();
                spool = Some((file, path));
            }
        }
    }
    let Some((mut file, path)) = spool else {
        return Ok(Body::from(memory));
    };
    file.flush().await.map_err(internal)?;
    let reader = tokio::fs::File::open(&path).await.map_err(internal)?;
    // The path lives as long as the stream: the file goes when the handler
    // drops the body.
    let stream = tokio_util::io::ReaderStream::new(reader).map(move |chunk| {
        let _keep = &path;
        chunk
    });
    Ok(Body::from_stream(stream))
}

async fn temporary_file() -> Result<(tokio::fs::File, tempfile::TempPath), AppError> {
    let named = tokio::task::spawn_blocking(tempfile::NamedTempFile::new)
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(internal)?;
    let (file, path) = named.into_parts();
    Ok((tokio::fs::File::from_std(file), path))
}

fn internal(e: std::io::Error) -> AppError {
    AppError::Internal(e.into())
}
