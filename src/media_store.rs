//! Media files under the data dir, content-addressed: `media/ab/cd/<sha256>`.
//! A file is written once (to a temporary name, then renamed, so a reader
//! never sees half of it) and shared by every message that carries the
//! same bytes. Who may read it is decided by the `media` rows, never here.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
}

/// The name a file with these bytes is stored under: their SHA-256 in
/// lowercase hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
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

    /// Stores the bytes; their SHA-256 (lowercase hex).
    pub async fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha256 = digest(bytes);
        let path = self
            .path(&sha256)
            .ok_or_else(|| std::io::Error::other("digest"))?;
        if tokio::fs::try_exists(&path).await? {
            return Ok(sha256);
        }
        let dir = path.parent().ok_or_else(|| std::io::Error::other("path"))?;
        tokio::fs::create_dir_all(dir).await?;
        let temporary = dir.join(format!(".{sha256}.{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&temporary, bytes).await?;
        tokio::fs::rename(&temporary, &path).await?;
        Ok(sha256)
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
}
