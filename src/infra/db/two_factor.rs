//! A user's second factor: the sealed TOTP secret and the last step a code
//! was accepted for, recovery codes and remembered devices (their SHA-256
//! only). Users are global, so these take a plain connection; the
//! workspace-side queries (who has it, whether it is required) take the
//! tenant context.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::Role;
use crate::infra::tenancy::TenantTx;

/// The user's sealed TOTP secret, when two-factor sign-in is on.
pub async fn sealed_secret(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> sqlx::Result<Option<Vec<u8>>> {
    let secret: Option<Option<Vec<u8>>> = sqlx::query_scalar!(
        "select totp_secret from users where id = $1 and totp_enabled_at is not null",
        user_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(secret.flatten())
}

/// Turns two-factor sign-in on with a confirmed secret, and the step its
/// confirming code was for (that code cannot sign in afterwards).
pub async fn enable(
    conn: &mut PgConnection,
    user_id: Uuid,
    sealed_secret: &[u8],
    confirmed_step: u64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3, \
         updated_at = now() where id = $1",
        user_id,
        sealed_secret,
        step_value(confirmed_step)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Turns it off: the secret, recovery codes and remembered devices go.
pub async fn disable(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set totp_secret = null, totp_enabled_at = null, totp_last_step = null, \
         updated_at = now() where id = $1",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "delete from user_recovery_codes where user_id = $1",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    forget_devices(conn, user_id).await?;
    Ok(())
}

fn step_value(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// Records that a code for `step` was used. False when that step or a
/// later one was used already: a replayed code (one statement, so two
/// requests racing with the same code cannot both win).
pub async fn accept_step(conn: &mut PgConnection, user_id: Uuid, step: u64) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "update users set totp_last_step = $2 where id = $1 and totp_enabled_at is not null \
         and (totp_last_step is null or totp_last_step < $2)",
        user_id,
        step_value(step)
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Replaces the user's recovery codes with these (hashes of).
pub async fn replace_recovery_codes(
    conn: &mut PgConnection,
    user_id: Uuid,
    hashes: &[Vec<u8>],
) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from user_recovery_codes where user_id = $1",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into user_recovery_codes (user_id, code_hash) select $1, unnest($2::bytea[])",
        user_id,
        hashes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses a recovery code up; false when it is not one of the user's unused
/// codes.
pub async fn use_recovery_code(
    conn: &mut PgConnection,
    user_id: Uuid,
    hash: &[u8],
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "update user_recovery_codes set used_at = now() \
         where user_id = $1 and code_hash = $2 and used_at is null",
        user_id,
        hash
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn recovery_codes_left(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from user_recovery_codes
           where user_id = $1 and used_at is null"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

pub async fn remember_device(
    conn: &mut PgConnection,
    user_id: Uuid,
    token_hash: &[u8],
    user_agent: &str,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into remembered_devices (token_hash, user_id, user_agent, expires_at) \
         values ($1, $2, $3, $4)",
        token_hash,
        user_id,
        user_agent,
        expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether this device token was remembered for this user and has not
/// expired.
pub async fn is_remembered(
    conn: &mut PgConnection,
    user_id: Uuid,
    token_hash: &[u8],
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from remembered_devices
           where token_hash = $1 and user_id = $2 and expires_at > now()) as "remembered!""#,
        token_hash,
        user_id
    )
    .fetch_one(conn)
    .await
}

pub async fn remembered_devices(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from remembered_devices
           where user_id = $1 and expires_at > now()"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

/// Forgets every remembered device of the user; how many there were.
pub async fn forget_devices(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<u64> {
    let deleted = sqlx::query!("delete from remembered_devices where user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected())
}

/// A member as the security page lists them.
#[derive(Debug, Clone)]
pub struct MemberTwoFactor {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub enabled: bool,
}

pub async fn members(tx: &mut TenantTx) -> sqlx::Result<Vec<MemberTwoFactor>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        MemberTwoFactor,
        r#"select u.name, u.email, m.role as "role: Role", u.totp_enabled_at is not null as "enabled!"
           from memberships m join users u on u.id = m.user_id
           where m.org_id = $1 order by lower(u.name), u.email"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn required(tx: &mut TenantTx) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select require_two_factor from organizations where id = $1",
        org_id
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn set_required(tx: &mut TenantTx, required: bool) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update organizations set require_two_factor = $2 where id = $1",
        org_id,
        required
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
