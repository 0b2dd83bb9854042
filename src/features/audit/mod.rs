//! The workspace's audit log as members use it: recording an account's
//! events in each of its workspaces, the log page's filtered list, and the
//! chain's check ([`verify`]). Writing one entry is
//! [`crate::infra::audit_log`].

pub mod verify;

use time::OffsetDateTime;

pub use crate::infra::audit_log::{Actor, Entry, GENESIS, hash, record};
use crate::infra::tenancy::TenantTx;

/// Records something about a user's account (a sign-in, a failed one,
/// their other sessions ended) in every workspace of theirs: the account
/// opens each of them.
pub async fn for_user(
    pool: &sqlx::PgPool,
    actor: &Actor,
    action: &str,
    details: &[(&str, &str)],
) -> anyhow::Result<()> {
    let Some(user_id) = actor.user_id else {
        return Ok(());
    };
    for workspace in crate::infra::tenancy::member::workspaces_of(pool, user_id).await? {
        let mut tx = crate::infra::tenancy::bootstrap::for_job(pool, workspace.id).await?;
        record(&mut tx, actor, action, "", details).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// What the log page filters by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Actions starting with this (`member.`, `sign_in`).
    pub action: Option<String>,
    /// Entries of this member (by email, any case).
    pub actor_email: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Older than this entry.
    pub before: Option<i64>,
}

/// The newest `limit` entries matching `filter` (one more tells there is
/// more).
pub async fn list(tx: &mut TenantTx, filter: &Filter, limit: i64) -> sqlx::Result<Vec<Entry>> {
    // runtime SQL: the filters are the user's choice (`QueryBuilder`).
    let mut sql: sqlx::QueryBuilder<sqlx::Postgres> = sqlx::QueryBuilder::new(
        "select seq, at, actor_id, actor_email, ip, action, target, details, prev_hash, hash \
         from audit_log where org_id = ",
    );
    sql.push_bind(tx.org_id());
    if let Some(action) = &filter.action {
        sql.push(" and starts_with(action, ")
            .push_bind(action.clone())
            .push(")");
    }
    if let Some(email) = &filter.actor_email {
        sql.push(" and lower(actor_email) = lower(")
            .push_bind(email.clone())
            .push(")");
    }
    if let Some(from) = filter.from {
        sql.push(" and at >= ").push_bind(from);
    }
    if let Some(until) = filter.until {
        sql.push(" and at < ").push_bind(until);
    }
    if let Some(before) = filter.before {
        sql.push(" and seq < ").push_bind(before);
    }
    sql.push(" order by seq desc limit ").push_bind(limit + 1);
    sql.build_query_as()
        .persistent(false)
        .fetch_all(tx.conn())
        .await
}
