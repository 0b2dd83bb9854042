//! A download written to a temporary file while it is sent: the producer
//! appends at the speed of the database and never waits for the client,
//! so no transaction stays open while a client reads slowly or not at all;
//! the response body follows the file as it grows. The file has no name
//! once both ends have it open, so nothing is left behind.

use std::io::SeekFrom;

use axum::body::{Body, Bytes};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::watch;

/// Bytes read from the file per chunk sent.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// This many bytes are written and more may come.
    Writing(u64),
    /// All bytes are written.
    Done(u64),
    /// The producer failed: the download must end broken.
    Failed,
}

/// Where the producer writes.
pub struct Writer {
    file: tokio::fs::File,
    written: u64,
    progress: watch::Sender<Progress>,
}

impl Writer {
    /// Appends bytes; `false` once the client is gone (stop producing).
    pub async fn append(&mut self, bytes: &[u8]) -> std::io::Result<bool> {
        if self.progress.is_closed() {
            return Ok(false);
        }
        self.file.write_all(bytes).await?;
        self.file.flush().await?;
        self.written += bytes.len() as u64;
        Ok(self.progress.send(Progress::Writing(self.written)).is_ok())
    }

    /// Ends the download complete.
    pub fn finish(self) {
        let _ = self.progress.send(Progress::Done(self.written));
    }

    /// Ends the download broken (the client sees an incomplete transfer,
    /// never a short file that looks whole).
    pub fn fail(self) {
        let _ = self.progress.send(Progress::Failed);
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Dropped without `finish`: a producer that panicked or returned
        // early must not look like a complete file.
        self.progress.send_if_modified(|p| match p {
            Progress::Writing(_) => {
                *p = Progress::Failed;
                true
            }
            _ => false,
        });
    }
}

/// A temporary file, the producer's end and the body that follows it.
pub fn create() -> std::io::Result<(Writer, Body)> {
    let named = tempfile::NamedTempFile::new()?;
    let reader = named.reopen()?;
    // Both ends are open: the name can go now.
    let (writer, path) = named.into_parts();
    path.close()?;
    let (progress, watcher) = watch::channel(Progress::Writing(0));
    let body = Body::from_stream(follow(tokio::fs::File::from_std(reader), watcher));
    Ok((
        Writer {
            file: tokio::fs::File::from_std(writer),
            written: 0,
            progress,
        },
        body,
    ))
}

fn follow(
    file: tokio::fs::File,
    watcher: watch::Receiver<Progress>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::unfold(
        (file, watcher, 0u64, false),
        |(mut file, mut watcher, mut sent, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let progress = *watcher.borrow_and_update();
                let available = match progress {
                    Progress::Failed => {
                        let error = std::io::Error::other("the download failed");
                        return Some((Err(error), (file, watcher, sent, true)));
                    }
                    Progress::Writing(n) | Progress::Done(n) => n.saturating_sub(sent),
                };
                if available > 0 {
                    let take = usize::try_from(available).unwrap_or(CHUNK).min(CHUNK);
                    let mut buffer = vec![0; take];
                    let read = async {
                        file.seek(SeekFrom::Start(sent)).await?;
                        file.read_exact(&mut buffer).await
                    };
                    return match read.await {
                        Ok(_) => {
                            sent += take as u64;
                            Some((Ok(Bytes::from(buffer)), (file, watcher, sent, false)))
                        }
                        Err(e) => Some((Err(e), (file, watcher, sent, true))),
                    };
                }
                if matches!(progress, Progress::Done(_)) {
                    return None;
                }
                if watcher.changed().await.is_err() {
                    // The writer went away without a word.
                    let error = std::io::Error::other("the download was cut short");
                    return Some((Err(error), (file, watcher, sent, true)));
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_body_follows_the_file_and_the_writer_never_waits() {
        let (mut writer, body) = create().unwrap();
        // Far more than any channel would buffer, with nobody reading yet.
        let line = vec![b'x'; 1000];
        for _ in 0..2000 {
            assert!(writer.append(&line).await.unwrap());
        }
        writer.finish();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(bytes.len(), 2_000_000);
    }

    #[tokio::test]
    async fn a_failed_producer_breaks_the_download() {
        let (mut writer, body) = create().unwrap();
        writer.append(b"a,b\n").await.unwrap();
        writer.fail();
        assert!(axum::body::to_bytes(body, usize::MAX).await.is_err());

        let (writer, body) = create().unwrap();
        drop(writer);
        assert!(axum::body::to_bytes(body, usize::MAX).await.is_err());
    }

    #[tokio::test]
    async fn a_client_gone_stops_the_producer() {
        let (mut writer, body) = create().unwrap();
        drop(body);
        assert!(!writer.append(b"a,b\n").await.unwrap());
    }
}
