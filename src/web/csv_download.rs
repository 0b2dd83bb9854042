//! Streaming a CSV download: rows are written page by page into a bounded
//! channel, so memory stays flat whatever the size. Every cell is defused
//! on the way out (see [`super::csv_cell`]).

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::csv_cell::CsvWriter;
/// The cell rule, for producers that still apply it themselves (harmless:
/// a defused cell is not defused again).
pub use super::csv_cell::defuse as safe_cell;

/// Pages buffered ahead of a slow client.
const BUFFERED_PAGES: usize = 4;

/// Where a producer writes the file, page by page.
pub struct CsvSink {
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl CsvSink {
    /// Sends the rows as one chunk; `false` if the client went away.
    pub async fn send(&self, rows: &[Vec<String>]) -> bool {
        let mut writer = CsvWriter::new(Vec::new());
        for row in rows {
            if writer.write_record(row).is_err() {
                return false;
            }
        }
        match writer.into_inner() {
            Ok(bytes) => self.sender.send(Ok(Bytes::from(bytes))).await.is_ok(),
            Err(_) => false,
        }
    }

    /// Ends the download as broken (the client sees an incomplete file,
    /// never a truncated one that looks whole).
    pub async fn fail(&self) {
        let _ = self
            .sender
            .send(Err(std::io::Error::other("export failed")))
            .await;
    }
}

/// The response and the sink its rows go to.
pub fn download(filename: &str) -> (Response, CsvSink) {
    let (sender, receiver) = mpsc::channel(BUFFERED_PAGES);
    let response = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(ReceiverStream::new(receiver)),
    )
        .into_response();
    (response, CsvSink { sender })
}
