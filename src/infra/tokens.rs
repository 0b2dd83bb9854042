//! Random secrets given to users (links, API tokens). Only their SHA-256 is
//! stored. Tokens that belong to a workspace carry its id in clear, so the
//! lookup runs inside that tenant's context without a cross-tenant query.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use uuid::Uuid;

const SECRET_LEN: usize = 32;

/// A fresh 256-bit secret, URL-safe.
pub fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; SECRET_LEN];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored for a secret.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// `<prefix>_<org id, 32 hex><secret>`: a token scoped to one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantToken {
    pub org_id: Uuid,
    pub secret: String,
}

impl TenantToken {
    pub fn generate(org_id: Uuid) -> anyhow::Result<TenantToken> {
        Ok(TenantToken {
            org_id,
            secret: random_secret()?,
        })
    }

    pub fn encode(&self, prefix: &str) -> String {
        format!("{prefix}_{}{}", self.org_id.simple(), self.secret)
    }

    /// Parse a token of this prefix; `None` for anything malformed.
    pub fn parse(prefix: &str, input: &str) -> Option<TenantToken> {
        let rest = input.trim().strip_prefix(prefix)?.strip_prefix('_')?;
        if rest.len() <= 32 || !rest.is_char_boundary(32) {
            return None;
        }
        let (org, secret) = rest.split_at(32);
        let org_id = Uuid::try_parse(org).ok()?;
        let decoded = URL_SAFE_NO_PAD.decode(secret).ok()?;
        (decoded.len() == SECRET_LEN).then(|| TenantToken {
            org_id,
            secret: secret.to_owned(),
        })
    }

    pub fn hash(&self) -> Vec<u8> {
        hash(&self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_token_round_trips_and_rejects_tampering() -> anyhow::Result<()> {
        let org = Uuid::new_v4();
        let token = TenantToken::generate(org)?;
        let text = token.encode("wacrm");
        assert_eq!(TenantToken::parse("wacrm", &text), Some(token.clone()));
        assert_eq!(TenantToken::parse("other", &text), None);
        assert_eq!(TenantToken::parse("wacrm", &text[..text.len() - 2]), None);
        assert_eq!(TenantToken::parse("wacrm", "wacrm_zz"), None);
        assert_eq!(
            TenantToken::parse("wacrm", "wacrm_ééééééééééééééééééééééééééééééééé"),
            None
        );
        Ok(())
    }

    #[test]
    fn secrets_are_distinct_and_hashes_fixed_length() -> anyhow::Result<()> {
        let a = random_secret()?;
        let b = random_secret()?;
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 32);
        Ok(())
    }
}
