//! Users are global (a person may belong to several workspaces), so these
//! queries take a plain connection, not a tenant context.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::EmailAddress;

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub email_verified_at: Option<OffsetDateTime>,
    /// The language AI translates customers' messages into for them.
    pub language: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub async fn find_by_email(
    conn: &mut PgConnection,
    email: &EmailAddress,
) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(
        User,
        "select id, name, email, password_hash, email_verified_at, language \
         from users where lower(email) = lower($1)",
        email.as_str()
    )
    .fetch_optional(conn)
    .await
}

pub async fn find(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(
        User,
        "select id, name, email, password_hash, email_verified_at, language from users where id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    name: &str,
    email: &EmailAddress,
    password_hash: &str,
    verified: bool,
) -> Result<Uuid, InsertUserError> {
    let id = Uuid::new_v4();
    let result = sqlx::query!(
        "insert into users (id, name, email, password_hash, email_verified_at) \
         values ($1, $2, $3, $4, case when $5 then now() end)",
        id,
        name,
        email.as_str(),
        password_hash,
        verified
    )
    .execute(conn)
    .await;
    match result {
        Ok(_) => Ok(id),
        Err(e) if super::violates(&e, "users_email_key") => Err(InsertUserError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

pub async fn set_password_hash(
    conn: &mut PgConnection,
    id: Uuid,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set password_hash = $2, updated_at = now() where id = $1",
        id,
        password_hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_name(conn: &mut PgConnection, id: Uuid, name: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set name = $2, updated_at = now() where id = $1",
        id,
        name
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_email_verified(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set email_verified_at = coalesce(email_verified_at, now()) where id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// End every session of a user except `keep` (password change, reset);
/// the ids of the ended ones.
pub async fn end_other_sessions(
    conn: &mut PgConnection,
    user_id: Uuid,
    keep: Option<&str>,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "delete from sessions where user_id = $1 and id is distinct from $2 returning id",
        user_id,
        keep
    )
    .fetch_all(conn)
    .await
}

/// One of a user's sessions, as their list shows it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The session's id: compared with the current one, never shown.
    pub id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Unix seconds.
    pub signed_in_at: Option<i64>,
    pub seen_at: Option<i64>,
}

/// The user's live sessions, the most recently seen first.
pub async fn sessions_of(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        "select id, data->>'ip' as ip, data->>'ua' as user_agent, \
           (data->>'signed_in_at')::bigint as signed_in_at, (data->>'seen_at')::bigint as seen_at \
         from sessions where user_id = $1 and expires_at > now() \
         order by (data->>'seen_at')::bigint desc nulls last limit 100",
        user_id
    )
    .fetch_all(conn)
    .await
}

/// The language the user reads translations in (a code of
/// `crate::features::ai::language::LANGUAGES`).
pub async fn language(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<String> {
    sqlx::query_scalar!("select language from users where id = $1", id)
        .fetch_one(conn)
        .await
}

pub async fn set_language(conn: &mut PgConnection, id: Uuid, language: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set language = $2, updated_at = now() where id = $1",
        id,
        language
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the user: what is only theirs goes with them (memberships,
/// one-time links, recovery codes, remembered devices, notifications,
/// reads, mentions); what the workspaces keep (messages, notes, tasks...)
/// loses its link to them (`on delete set null`) and shows "former member".
/// Their sessions are not tied by a key: end them first
/// ([`end_other_sessions`] with no session kept).
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!("delete from users where id = $1", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Which of `ids` are still users (the others deleted their account).
pub async fn still_here(conn: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!("select id from users where id = any($1)", ids)
        .fetch_all(conn)
        .await
}
