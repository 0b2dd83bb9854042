//! Checking a second factor at sign-in (or before changing it): a code from
//! the user's authenticator app, accepted once, or one of their recovery
//! codes, used up.

use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use super::totp;
use crate::infra::db;
use crate::infra::rate_limit::{self, SECOND_FACTOR_PER_USER};
use crate::infra::secrets::SecretBox;
use crate::infra::tokens;

/// The purpose a TOTP secret is sealed for (bound to the user's id).
pub const SEALED_PURPOSE: &str = "totp";

/// What proved the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    AppCode,
    /// A recovery code, now used; how many are left.
    RecoveryCode {
        left: i64,
    },
}

impl Proof {
    /// For the audit log.
    pub fn label(self) -> &'static str {
        match self {
            Proof::AppCode => "authenticator code",
            Proof::RecoveryCode { .. } => "recovery code",
        }
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Checks `input` as the user's app code or one of their recovery codes;
/// `None` when it is neither (wrong, replayed, used up, or the user has no
/// second factor). Every code tried counts against the user's one attempt
/// limit, wherever it is typed (signing in, turning it off, new recovery
/// codes, leaving): six digits stay unguessable only if all of them count.
pub async fn check(
    pool: &sqlx::PgPool,
    secrets: &SecretBox,
    user_id: Uuid,
    input: &str,
) -> crate::error::Result<Option<Proof>> {
    rate_limit::check(pool, SECOND_FACTOR_PER_USER, &user_id.to_string()).await?;
    let mut conn = pool.acquire().await?;
    let Some(sealed) = db::two_factor::sealed_secret(&mut conn, user_id).await? else {
        return Ok(None);
    };
    if let Some(code) = totp::normalize_recovery_code(input) {
        if !db::two_factor::use_recovery_code(&mut conn, user_id, &tokens::hash(&code)).await? {
            return Ok(None);
        }
        let left = db::two_factor::recovery_codes_left(&mut conn, user_id).await?;
        return Ok(Some(Proof::RecoveryCode { left }));
    }
    let secret = secrets.open(user_id, SEALED_PURPOSE, user_id, &sealed)?;
    let Some(step) = totp::matching_step(&secret, input, unix_now()) else {
        return Ok(None);
    };
    if !db::two_factor::accept_step(&mut conn, user_id, step).await? {
        tracing::info!(%user_id, "a second-factor code was replayed");
        return Ok(None);
    }
    Ok(Some(Proof::AppCode))
}
