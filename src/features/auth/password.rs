//! Password hashing: argon2id for every new hash, legacy bcrypt verified and
//! upgraded at the next login. Hashing is CPU-heavy: run it off the reactor.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

/// OWASP minimum for argon2id: m=19 MiB, t=2, p=1.
fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's limits.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Matches and the hash is current.
    Ok,
    /// Matches, but the stored hash is legacy or weaker: store this one.
    OkRehashed(String),
    Wrong,
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h: PasswordHash| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

pub async fn verify(password: String, stored: String) -> anyhow::Result<Verified> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &stored)).await?
}

fn verify_blocking(password: &str, stored: &str) -> anyhow::Result<Verified> {
    if is_bcrypt(stored) {
        return Ok(if bcrypt::verify(password, stored).unwrap_or(false) {
            Verified::OkRehashed(hash_blocking(password)?)
        } else {
            Verified::Wrong
        });
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Ok(Verified::Wrong);
    };
    if hasher()
        .verify_password(password.as_bytes(), stored)
        .is_err()
    {
        return Ok(Verified::Wrong);
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed)
            .map(|p| p.m_cost() >= 19 * 1024 && p.t_cost() >= 2)
            .unwrap_or(false);
    Ok(if current {
        Verified::Ok
    } else {
        Verified::OkRehashed(hash_blocking(password)?)
    })
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

/// Spend the time of a real verification when no account matched, so the
/// response time does not tell whether the email has an account.
pub async fn burn_verification_time(password: String) {
    let _ = tokio::task::spawn_blocking(move || {
        let _ = verify_blocking(&password, DUMMY_HASH);
    })
    .await;
}

/// argon2id hash of a random string, with the production parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3tmUo5PI7vgOwmvUUUVhqbdbDdn+Jc7WFSDdcuWUCSI";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_hashes_are_argon2id_with_owasp_parameters() -> anyhow::Result<()> {
        let h = hash_blocking("correct horse battery")?;
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(verify_blocking("correct horse battery", &h)?, Verified::Ok);
        assert_eq!(verify_blocking("wrong horse battery", &h)?, Verified::Wrong);
        Ok(())
    }

    #[test]
    fn bcrypt_hashes_verify_and_are_upgraded() -> anyhow::Result<()> {
        let legacy = bcrypt::hash("legacy password 1", 4)?;
        match verify_blocking("legacy password 1", &legacy)? {
            Verified::OkRehashed(new) => assert!(new.starts_with("$argon2id$")),
            other => panic!("expected a rehash, got {other:?}"),
        }
        assert_eq!(verify_blocking("nope nope nope", &legacy)?, Verified::Wrong);
        Ok(())
    }

    #[test]
    fn weaker_argon2_parameters_are_upgraded() -> anyhow::Result<()> {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let stored: PasswordHash = weak
            .hash_password(b"some password here")
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let stored = stored.to_string();
        assert!(matches!(
            verify_blocking("some password here", &stored)?,
            Verified::OkRehashed(_)
        ));
        Ok(())
    }

    #[test]
    fn garbage_hash_is_a_wrong_password_not_an_error() -> anyhow::Result<()> {
        assert_eq!(
            verify_blocking("whatever at all", "not a hash")?,
            Verified::Wrong
        );
        Ok(())
    }
}
