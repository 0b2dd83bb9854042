//! Secrets at rest (WhatsApp tokens, API keys): AES-256-GCM with a random
//! nonce. A sealed blob names the key that sealed it, so keys can rotate
//! (`features::secret_rotation` re-seals every stored blob with the first
//! key), and is bound to its workspace, purpose and row as associated data:
//! a blob copied into another row or workspace fails to open.
//!
//! Blob layout: `version (1) | key id (4) | nonce (12) | ciphertext + tag`.
//! Version 2 binds the row; version 1 (workspace and purpose only) is still
//! opened, so blobs stored before it keep working until re-sealed.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What [`SecretBox::seal`] writes.
const VERSION: u8 = 2;
/// Bound to workspace and purpose only: opened, never written.
const VERSION_1: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretsError {
    #[error("sealed secret is malformed")]
    Malformed,
    #[error("sealed with a key that is not configured (key id {0})")]
    UnknownKey(String),
    #[error("sealed secret failed authentication (wrong key, workspace, purpose or row)")]
    Tampered,
    #[error("encryption failed")]
    Encrypt,
}

struct Key {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
    /// For MACs (never the encryption key itself).
    mac_key: [u8; 32],
}

/// The configured keys; the first seals, all of them open.
pub struct SecretBox {
    keys: Vec<Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBox({} key(s), redacted)", self.keys.len())
    }
}

impl SecretBox {
    /// From `WACRM_SECRET_KEY`: one or more base64 32-byte keys separated by
    /// commas, the current one first (older ones only open old blobs).
    pub fn from_config(value: &str) -> anyhow::Result<SecretBox> {
        let mut keys = Vec::new();
        for (i, part) in value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            let bytes = STANDARD
                .decode(part)
                .with_context(|| format!("WACRM_SECRET_KEY key #{} is not base64", i + 1))?;
            anyhow::ensure!(
                bytes.len() == 32,
                "WACRM_SECRET_KEY key #{} must be 32 bytes (got {}); generate one with `openssl rand -base64 32`",
                i + 1,
                bytes.len()
            );
            keys.push(Key::new(&bytes)?);
        }
        anyhow::ensure!(!keys.is_empty(), "WACRM_SECRET_KEY is empty");
        Ok(SecretBox { keys })
    }

    /// The configured key, or in development a key generated once into the
    /// data dir (with a warning: a lost data dir loses every sealed secret).
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> anyhow::Result<SecretBox> {
        if let Some(value) = configured {
            return SecretBox::from_config(value.expose_secret());
        }
        let path = data_dir.join("secret.key");
        if !path.exists() {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
            std::fs::create_dir_all(data_dir)?;
            write_private(&path, STANDARD.encode(key).as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        tracing::warn!(
            path = %path.display(),
            "WACRM_SECRET_KEY is not set: using a development key from the data dir; \
             set WACRM_SECRET_KEY in production"
        );
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        SecretBox::from_config(text.trim())
    }

    /// Seals `plaintext` with the first key for the row `row` (what
    /// identifies the row the blob is stored in, e.g. a channel's id) of
    /// `purpose` in the workspace `org_id`.
    pub fn seal(
        &self,
        org_id: Uuid,
        purpose: &str,
        row: impl std::fmt::Display,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SecretsError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SecretsError::Encrypt)?;
        let aad = associated_data(org_id, purpose, &row.to_string());
        let ciphertext = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SecretsError::Encrypt)?;
        let mut blob = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        blob.push(VERSION);
        blob.extend_from_slice(&key.id);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        Ok(blob)
    }

    /// Opens a blob sealed by [`SecretBox::seal`] for the same workspace,
    /// purpose and row (a version-1 blob: the same workspace and purpose).
    pub fn open(
        &self,
        org_id: Uuid,
        purpose: &str,
        row: impl std::fmt::Display,
        blob: &[u8],
    ) -> Result<Vec<u8>, SecretsError> {
        if blob.len() < HEADER_LEN + 16 {
            return Err(SecretsError::Malformed);
        }
        let aad = match blob[0] {
            VERSION => associated_data(org_id, purpose, &row.to_string()),
            VERSION_1 => associated_data_v1(org_id, purpose),
            _ => return Err(SecretsError::Malformed),
        };
        let key_id = &blob[1..1 + KEY_ID_LEN];
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| SecretsError::UnknownKey(hex::encode(key_id)))?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&blob[1 + KEY_ID_LEN..HEADER_LEN]);
        key.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &blob[HEADER_LEN..],
                    aad: &aad,
                },
            )
            .map_err(|_| SecretsError::Tampered)
    }

    /// An HMAC-SHA256 of `data` for `purpose` under the current key: a value
    /// only this deployment can make (visitors' CSRF tokens).
    pub fn mac(&self, purpose: &str, data: &[u8]) -> Option<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.keys[0].mac_key).ok()?;
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        Some(mac.finalize().into_bytes().into())
    }

    /// The id of the key that seals (as blobs name it; not secret).
    pub fn sealing_key_id(&self) -> String {
        hex::encode(self.keys[0].id)
    }

    /// Whether a blob was sealed with an older key or in the older format
    /// (re-seal it).
    pub fn needs_reseal(&self, blob: &[u8]) -> bool {
        blob.len() > KEY_ID_LEN
            && (blob[0] != VERSION || blob[1..1 + KEY_ID_LEN] != self.keys[0].id)
    }
}

impl Key {
    fn new(bytes: &[u8]) -> anyhow::Result<Key> {
        let digest = Sha256::digest(bytes);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        let cipher =
            Aes256Gcm::new_from_slice(bytes).map_err(|_| anyhow::anyhow!("invalid key length"))?;
        let mut mac_key = [0u8; 32];
        mac_key.copy_from_slice(
            &Sha256::new()
                .chain_update(b"wacrm/mac/v1/")
                .chain_update(bytes)
                .finalize(),
        );
        Ok(Key {
            id,
            cipher,
            mac_key,
        })
    }
}

/// Version 2: workspace, purpose and row, each part length-prefixed so no
/// two different triples (a purpose ending where a row begins) give the same
/// bytes.
fn associated_data(org_id: Uuid, purpose: &str, row: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + purpose.len() + row.len());
    aad.extend_from_slice(b"wacrm/secret/v2/");
    aad.extend_from_slice(org_id.as_bytes());
    for part in [purpose, row] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// Version 1: workspace and purpose (blobs stored before rows were bound).
fn associated_data_v1(org_id: Uuid, purpose: &str) -> Vec<u8> {
    format!("wacrm/secret/v1/{org_id}/{purpose}").into_bytes()
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    /// A blob as version 1 sealed it (before rows were bound), made here
    /// independently of `seal`.
    fn v1_blob(key_byte: u8, org_id: Uuid, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let key = [key_byte; 32];
        let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
        let nonce = [9u8; NONCE_LEN];
        let aad = format!("wacrm/secret/v1/{org_id}/{purpose}");
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .unwrap();
        let mut blob = vec![1u8];
        blob.extend_from_slice(&Sha256::digest(key)[..KEY_ID_LEN]);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    #[test]
    fn sealed_secret_opens_only_for_its_org_purpose_and_row() -> anyhow::Result<()> {
        let secrets = SecretBox::from_config(&key(1))?;
        let (org_a, org_b) = (Uuid::new_v4(), Uuid::new_v4());
        let channel_a = Uuid::new_v4();
        let blob = secrets.seal(org_a, "whatsapp_token", channel_a, b"EAAG-token")?;
        assert_eq!(blob[0], 2, "new seals are version 2");
        assert!(
            !blob.windows(10).any(|w| w == b"EAAG-token"),
            "plaintext leaked"
        );
        assert_eq!(
            secrets.open(org_a, "whatsapp_token", channel_a, &blob)?,
            b"EAAG-token"
        );
        assert!(!secrets.needs_reseal(&blob));
        assert_eq!(
            secrets.open(org_b, "whatsapp_token", channel_a, &blob),
            Err(SecretsError::Tampered)
        );
        assert_eq!(
            secrets.open(org_a, "openai_key", channel_a, &blob),
            Err(SecretsError::Tampered)
        );
        Ok(())
    }

    #[test]
    fn a_blob_copied_into_another_row_of_the_same_workspace_and_purpose_does_not_open()
    -> anyhow::Result<()> {
        let secrets = SecretBox::from_config(&key(1))?;
        let org = Uuid::new_v4();
        let (channel_a, channel_b) = (Uuid::new_v4(), Uuid::new_v4());
        let a_token = secrets.seal(org, "whatsapp_token", channel_a, b"token of A")?;
        assert_eq!(
            secrets.open(org, "whatsapp_token", channel_b, &a_token),
            Err(SecretsError::Tampered)
        );
        // Job ids are rows too.
        let job = secrets.seal(Uuid::nil(), "job-payload", 41, b"{}")?;
        assert_eq!(
            secrets.open(Uuid::nil(), "job-payload", 42, &job),
            Err(SecretsError::Tampered)
        );
        assert_eq!(secrets.open(Uuid::nil(), "job-payload", 41, &job)?, b"{}");
        // Where the purpose ends and the row begins is part of the binding.
        let blob = secrets.seal(org, "ab", "c", b"x")?;
        assert_eq!(
            secrets.open(org, "a", "bc", &blob),
            Err(SecretsError::Tampered)
        );
        Ok(())
    }

    #[test]
    fn version_1_blobs_still_open_for_their_workspace_and_purpose_and_need_resealing()
    -> anyhow::Result<()> {
        let secrets = SecretBox::from_config(&key(5))?;
        let org = Uuid::new_v4();
        let blob = v1_blob(5, org, "whatsapp_token", b"stored last year");
        assert_eq!(
            secrets.open(org, "whatsapp_token", Uuid::new_v4(), &blob)?,
            b"stored last year"
        );
        assert!(secrets.needs_reseal(&blob), "v1 is re-sealed as v2");
        assert_eq!(
            secrets.open(Uuid::new_v4(), "whatsapp_token", "any", &blob),
            Err(SecretsError::Tampered)
        );
        assert_eq!(
            secrets.open(org, "openai_key", "any", &blob),
            Err(SecretsError::Tampered)
        );
        let mut unknown_version = blob.clone();
        unknown_version[0] = 3;
        assert_eq!(
            secrets.open(org, "whatsapp_token", "any", &unknown_version),
            Err(SecretsError::Malformed)
        );
        Ok(())
    }

    #[test]
    fn nonces_differ_and_tampering_is_detected() -> anyhow::Result<()> {
        let secrets = SecretBox::from_config(&key(2))?;
        let org = Uuid::new_v4();
        let a = secrets.seal(org, "p", "r", b"same")?;
        let b = secrets.seal(org, "p", "r", b"same")?;
        assert_ne!(a, b);
        let mut flipped = a.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            secrets.open(org, "p", "r", &flipped),
            Err(SecretsError::Tampered)
        );
        assert_eq!(
            secrets.open(org, "p", "r", &a[..5]),
            Err(SecretsError::Malformed)
        );
        Ok(())
    }

    #[test]
    fn rotated_keys_still_open_old_blobs() -> anyhow::Result<()> {
        let org = Uuid::new_v4();
        let old = SecretBox::from_config(&key(3))?;
        let blob = old.seal(org, "p", "r", b"v1")?;
        let rotated = SecretBox::from_config(&format!("{},{}", key(4), key(3)))?;
        assert_eq!(rotated.open(org, "p", "r", &blob)?, b"v1");
        assert!(rotated.needs_reseal(&blob));
        let only_new = SecretBox::from_config(&key(4))?;
        assert!(matches!(
            only_new.open(org, "p", "r", &blob),
            Err(SecretsError::UnknownKey(_))
        ));
        Ok(())
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        assert!(SecretBox::from_config("not base64!").is_err());
        assert!(SecretBox::from_config(&STANDARD.encode([0u8; 16])).is_err());
        assert!(SecretBox::from_config("").is_err());
    }
}
