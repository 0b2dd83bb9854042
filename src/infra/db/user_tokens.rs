//! Single-purpose links mailed to a user: email verification, password reset.

use sqlx::PgConnection;
use uuid::Uuid;

pub use crate::domain::TokenPurpose as Purpose;

pub async fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: Purpose,
    token_hash: &[u8],
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into user_tokens (token_hash, user_id, purpose, expires_at) \
         values ($1, $2, $3, now() + make_interval(secs => $4))",
        token_hash,
        user_id,
        purpose.as_str(),
        purpose.lifetime().whole_seconds() as f64
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Consume a valid, unused, unexpired token: returns its user. Single use:
/// the row is marked used in the same statement.
pub async fn consume(
    conn: &mut PgConnection,
    purpose: Purpose,
    token_hash: &[u8],
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "update user_tokens set used_at = now() \
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now() \
         returning user_id",
        token_hash,
        purpose.as_str()
    )
    .fetch_optional(conn)
    .await
}

/// Whether a token would be accepted (to show the form before consuming it).
pub async fn is_valid(
    conn: &mut PgConnection,
    purpose: Purpose,
    token_hash: &[u8],
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from user_tokens where token_hash = $1 and purpose = $2
           and used_at is null and expires_at > now()) as "valid!""#,
        token_hash,
        purpose.as_str()
    )
    .fetch_one(conn)
    .await
}

/// Invalidate every outstanding token of this purpose for the user.
pub async fn revoke_all(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: Purpose,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update user_tokens set used_at = now() where user_id = $1 and purpose = $2 and used_at is null",
        user_id,
        purpose.as_str()
    )
    .execute(conn)
    .await?;
    Ok(())
}
