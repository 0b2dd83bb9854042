//! Media files under the data dir, content-addressed: `media/ab/cd/<sha256>`.
//! A file is written once (to a temporary name, then renamed, so a reader
//! never sees half of it) and shared by every message that carries the
//! same bytes. Who may read it is decided by the `media` rows, never here.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::domain::media::HEAD_BYTES;

#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
}

/// The name a file with these bytes is stored under: their SHA-256 in
/// lowercase hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A file on its way in: its digest, size and first bytes are known, its
/// bytes are in memory (small files from providers) or in a temporary
/// file (uploads), which is removed if the file is never kept.
pub struct Incoming {
    pub sha256: String,
    pub size: u64,
    /// The first bytes, to decide the type (see [`crate::domain::media`]).
    pub head: Vec<u8>,
    source: Source,
}

enum Source {
    Memory(Vec<u8>),
    Spooled(tempfile::TempPath),
}

impl Incoming {
    /// A file whose bytes are already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Incoming {
        Incoming {
            sha256: digest(&bytes),
            size: bytes.len() as u64,
            head: bytes[..bytes.len().min(HEAD_BYTES)].to_vec(),
            source: Source::Memory(bytes),
        }
    }
}

/// Writes an upload to a temporary file while hashing it, so no request
/// holds a whole file in memory.
pub struct Spool {
    file: tokio::fs::File,
    path: tempfile::TempPath,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

impl Spool {
    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.file.write_all(chunk).await
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn finish(mut self) -> std::io::Result<Incoming> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        Ok(Incoming {
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
            head: self.head,
            source: Source::Spooled(self.path),
        })
    }
}

impl MediaStore {
    pub fn new(data_dir: &Path) -> MediaStore {
        MediaStore {
            root: data_dir.join("media"),
        }
    }

    /// Where a file with this hex digest lives; `None` for anything that is
    /// not a SHA-256 hex digest (no path tricks).
    fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| {
            self.root
                .join(&sha256[0..2])
                .join(&sha256[2..4])
                .join(sha256)
        })
    }

    /// Where the file with this digest is kept (whether or not it is there).
    pub fn file_path(&self, sha256: &str) -> Option<PathBuf> {
        self.path(sha256)
    }

    /// A temporary file for an upload, on the store's own file system so
    /// keeping it is a rename.
    pub async fn spool(&self) -> std::io::Result<Spool> {
        let dir = self.root.join("incoming");
        tokio::fs::create_dir_all(&dir).await?;
        let named = tokio::task::spawn_blocking(move || tempfile::NamedTempFile::new_in(dir))
            .await
            .map_err(std::io::Error::other)??;
        let (file, path) = named.into_parts();
        Ok(Spool {
            file: tokio::fs::File::from_std(file),
            path,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
        })
    }

    /// Stores the bytes; their SHA-256 (lowercase hex).
    pub async fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let incoming = Incoming::from_bytes(bytes.to_vec());
        let sha256 = incoming.sha256.clone();
        self.keep(incoming).await?;
        Ok(sha256)
    }

    /// Keeps an incoming file under its digest (once per content).
    pub async fn keep(&self, incoming: Incoming) -> std::io::Result<()> {
        let path = self
            .path(&incoming.sha256)
            .ok_or_else(|| std::io::Error::other("digest"))?;
        if tokio::fs::try_exists(&path).await? {
            return Ok(());
        }
        let dir = path.parent().ok_or_else(|| std::io::Error::other("path"))?;
        tokio::fs::create_dir_all(dir).await?;
        match incoming.source {
            Source::Memory(bytes) => {
                let temporary = dir.join(format!(".{}.{}", incoming.sha256, uuid::Uuid::new_v4()));
                tokio::fs::write(&temporary, bytes).await?;
                tokio::fs::rename(&temporary, &path).await?;
            }
            Source::Spooled(spooled) => {
                let target = path.clone();
                tokio::task::spawn_blocking(move || spooled.persist(target))
                    .await
                    .map_err(std::io::Error::other)?
                    .map_err(|e| e.error)?;
            }
        }
        Ok(())
    }

    /// Deletes the file (one already gone is fine).
    pub async fn remove(&self, sha256: &str) -> std::io::Result<()> {
        let Some(path) = self.path(sha256) else {
            return Ok(());
        };
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The file's bytes; `None` if it is not (or no longer) here.
    pub async fn get(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(sha256) else {
            return Ok(None);
        };
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The file's first bytes (to decide how it is served); `None` if it
    /// is not here.
    pub async fn head(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        use tokio::io::AsyncReadExt;
        let Some(path) = self.path(sha256) else {
            return Ok(None);
        };
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut head = Vec::with_capacity(HEAD_BYTES);
        file.take(HEAD_BYTES as u64).read_to_end(&mut head).await?;
        Ok(Some(head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_stored_once_by_content_and_read_back() {
        let dir = std::env::temp_dir().join(format!("wacrm-media-{}", uuid::Uuid::new_v4()));
        let store = MediaStore::new(&dir);
        let first = store.put(b"hello").await.unwrap();
        assert_eq!(
            first,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(store.put(b"hello").await.unwrap(), first);
        let files = std::fs::read_dir(dir.join("media/2c/f2")).unwrap().count();
        assert_eq!(files, 1, "deduplicated, no temporary left");
        assert_eq!(
            store.get(&first).await.unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(store.get(&"0".repeat(64)).await.unwrap(), None);
        assert_eq!(store.get("../../etc/passwd").await.unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_upload_is_spooled_hashed_and_kept_or_left_behind_by_nobody() {
        let dir = std::env::temp_dir().join(format!("wacrm-media-{}", uuid::Uuid::new_v4()));
        let store = MediaStore::new(&dir);
        let mut spool = store.spool().await.unwrap();
        spool.write(b"hel").await.unwrap();
        spool.write(b"lo").await.unwrap();
        let incoming = spool.finish().await.unwrap();
        assert_eq!(incoming.sha256, digest(b"hello"));
        assert_eq!(
            (incoming.size, incoming.head.as_slice()),
            (5, &b"hello"[..])
        );
        let sha256 = incoming.sha256.clone();
        store.keep(incoming).await.unwrap();
        assert_eq!(
            store.get(&sha256).await.unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(
            store.head(&sha256).await.unwrap().as_deref(),
            Some(&b"hello"[..])
        );

        let mut dropped = store.spool().await.unwrap();
        dropped.write(b"never kept").await.unwrap();
        drop(dropped.finish().await.unwrap());
        let left = std::fs::read_dir(dir.join("media/incoming"))
            .unwrap()
            .count();
        assert_eq!(left, 0, "an upload that is not kept leaves no file");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
