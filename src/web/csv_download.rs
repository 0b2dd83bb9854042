//! Streaming a CSV download: rows are written page by page into a file the
//! response follows (see [`super::growing_file`]), so memory stays flat
//! whatever the size. Every cell is defused on the way out (see
//! [`crate::domain::csv_cell`]).

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::growing_file::{self, Writer};
use crate::domain::csv_cell::CsvWriter;
/// The cell rule, for producers that still apply it themselves (harmless:
/// a defused cell is not defused again).
pub use crate::domain::csv_cell::defuse as safe_cell;
use crate::error::AppError;

/// Where a producer writes the file, page by page. It never waits for the
/// client (see [`growing_file`]), so its transaction is never held open by
/// one that reads slowly.
pub struct CsvSink {
    writer: tokio::sync::Mutex<Option<Writer>>,
}

impl CsvSink {
    /// Appends the rows; `false` if the client went away.
    pub async fn send(&self, rows: &[Vec<String>]) -> bool {
        let mut writer = CsvWriter::new(Vec::new());
        for row in rows {
            if writer.write_record(row).is_err() {
                return false;
            }
        }
        let Ok(bytes) = writer.into_inner() else {
            return false;
        };
        match self.writer.lock().await.as_mut() {
            Some(file) => file.append(&bytes).await.unwrap_or(false),
            None => false,
        }
    }

    /// Ends the download as broken (the client sees an incomplete file,
    /// never a truncated one that looks whole).
    pub async fn fail(&self) {
        if let Some(file) = self.writer.lock().await.take() {
            file.fail();
        }
    }
}

impl Drop for CsvSink {
    /// The producer is done: the file is complete (unless it panicked).
    fn drop(&mut self) {
        if let Some(file) = self.writer.get_mut().take() {
            if std::thread::panicking() {
                file.fail();
            } else {
                file.finish();
            }
        }
    }
}

/// The response and the sink its rows go to.
pub fn download(filename: &str) -> Result<(Response, CsvSink), AppError> {
    let (writer, body) = growing_file::create().map_err(|e| AppError::Internal(e.into()))?;
    let response = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response();
    let sink = CsvSink {
        writer: tokio::sync::Mutex::new(Some(writer)),
    };
    Ok((response, sink))
}
