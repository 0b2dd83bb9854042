//! Limits on the endpoints attackers hammer, counted in Postgres.

use crate::app::AppState;
use crate::db;
use crate::error::{AppError, Result};

/// A limit: at most `max` hits per `window_secs` in one bucket.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: i32,
    pub window_secs: i64,
}

pub const LOGIN_PER_IP: Limit = Limit {
    name: "login:ip",
    max: 30,
    window_secs: 300,
};
pub const LOGIN_PER_EMAIL: Limit = Limit {
    name: "login:email",
    max: 10,
    window_secs: 900,
};
pub const SIGNUP_PER_IP: Limit = Limit {
    name: "signup:ip",
    max: 10,
    window_secs: 3600,
};
pub const RESET_PER_IP: Limit = Limit {
    name: "reset:ip",
    max: 10,
    window_secs: 3600,
};
pub const RESET_PER_EMAIL: Limit = Limit {
    name: "reset:email",
    max: 3,
    window_secs: 3600,
};

/// Count a hit against `limit` for `key`; 429 when over.
pub async fn check(state: &AppState, limit: Limit, key: &str) -> Result<()> {
    let bucket = format!("{}:{}", limit.name, key.to_lowercase());
    let mut conn = state.pool.acquire().await?;
    let (hits, retry_after) = db::rate_limits::hit(&mut conn, &bucket, limit.window_secs).await?;
    if hits > limit.max {
        tracing::warn!(limit = limit.name, "rate limit reached");
        return Err(AppError::RateLimited {
            retry_after_secs: retry_after.max(1) as u64,
        });
    }
    Ok(())
}
