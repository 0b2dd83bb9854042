//! Limits on the endpoints attackers hammer, counted in Postgres.

use sqlx::PgPool;

use crate::error::{AppError, Result};
use crate::infra::db;

/// A limit: at most `max` hits per `window_secs` in one bucket.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: i32,
    pub window_secs: i64,
}

impl Limit {
    const fn new(name: &'static str, max: i32, window_secs: i64) -> Limit {
        Limit {
            name,
            max,
            window_secs,
        }
    }
}

pub const LOGIN_PER_IP: Limit = Limit::new("login:ip", 30, 300);
pub const LOGIN_PER_EMAIL: Limit = Limit::new("login:email", 10, 900);
/// Second-factor codes tried for one account (six digits: guessing must stay
/// hopeless).
pub const SECOND_FACTOR_PER_USER: Limit = Limit::new("login:2fa", 10, 900);
pub const SIGNUP_PER_IP: Limit = Limit::new("signup:ip", 10, 3600);
/// Repeated sign-ups for one address would tell which addresses have accounts.
pub const SIGNUP_PER_EMAIL: Limit = Limit::new("signup:email", 5, 3600);
pub const RESET_PER_IP: Limit = Limit::new("reset:ip", 10, 3600);
pub const RESET_PER_EMAIL: Limit = Limit::new("reset:email", 3, 3600);
/// Invitations are mail wacrm sends to any address: a workspace, and each
/// person in it, can send only so many (no spam relay).
pub const INVITE_PER_WORKSPACE: Limit = Limit::new("invite:org", 50, 86_400);
pub const INVITE_PER_INVITER: Limit = Limit::new("invite:user", 20, 3600);

/// Count a hit against `limit` for `key`; 429 when over.
pub async fn check(pool: &PgPool, limit: Limit, key: &str) -> Result<()> {
    let bucket = format!("{}:{}", limit.name, key.to_lowercase());
    let mut conn = pool.acquire().await?;
    let (hits, retry_after) = db::rate_limits::hit(&mut conn, &bucket, limit.window_secs).await?;
    if hits > limit.max {
        tracing::warn!(limit = limit.name, "rate limit reached");
        return Err(AppError::RateLimited {
            retry_after_secs: retry_after.max(1) as u64,
        });
    }
    Ok(())
}
