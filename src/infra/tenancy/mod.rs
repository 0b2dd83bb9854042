//! The tenant context: the only way to reach tenant rows.
//!
//! A [`TenantTx`] is a transaction that has run `SET LOCAL app.org_id`; row-level
//! security filters every tenant table by it. Its constructor is private to
//! this module, so it is opened only by the authenticated extractors in the
//! child modules ([`member::Tenant`], [`api_client::ApiClient`]) and by the
//! named system entry points in [`bootstrap`] (sign-up, invitation acceptance)
//! and [`departure`] (a user deleting their account, workspace by workspace).
//! The extractors also read the workspace's [`standing`]: whether its
//! payments let it send and import.

pub mod api_client;
pub mod bootstrap;
pub mod capability;
pub mod departure;
pub mod member;
pub mod session_state;
pub mod standing;

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// `BEGIN` and the transaction-local setting in one round trip, as utility
/// statements (nothing for the planner). The value is a `Uuid` (hex and
/// dashes only), so formatting it into the SQL is safe.
fn scoped_begin(setting: &'static str, id: Uuid) -> sqlx::AssertSqlSafe<String> {
    // runtime SQL: `BEGIN` and `SET LOCAL` take no parameters and are not
    // prepared (the macros check prepared statements only).
    sqlx::AssertSqlSafe(format!("begin; set local {setting} = '{id}'"))
}

/// A transaction of the linked-device supervisors, which run every
/// workspace's sessions: it sees every row of `whatsapp_web_leases` (ids
/// and lease times only) and no tenant table (policy `supervisor`).
pub async fn supervisor_tx(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    // runtime SQL: as in `scoped_begin`.
    pool.begin_with("begin; set local app.whatsapp_web_supervisor = 'on'")
        .await
}

/// A transaction scoped to one workspace.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    org_id: Uuid,
}

impl TenantTx {
    async fn open(pool: &PgPool, org_id: Uuid) -> sqlx::Result<TenantTx> {
        let tx = pool.begin_with(scoped_begin("app.org_id", org_id)).await?;
        Ok(TenantTx { tx, org_id })
    }

    /// The context of the workspace a webhook's channel belongs to, `None`
    /// for an unknown channel. Only that channel's route is readable while
    /// looking (policy `webhook_lookup`); the same transaction then becomes
    /// the workspace's context.
    async fn for_channel(pool: &PgPool, channel_id: Uuid) -> sqlx::Result<Option<TenantTx>> {
        // A delivery's statements all find rows by key (batches key by key,
        // see `crate::infra::db`), so their cached plans are as good as any: without
        // this PostgreSQL re-plans each batch lookup on every call (a batch
        // of one looks cheaper planned for its size), which cost a
        // one-message delivery more than running them.
        // runtime SQL: utility statements, as in `scoped_begin`.
        let begin = format!(
            "{}; set local plan_cache_mode = force_generic_plan",
            scoped_begin("app.webhook_channel_id", channel_id).0
        );
        let mut tx = pool.begin_with(sqlx::AssertSqlSafe(begin)).await?;
        let org_id: Option<Uuid> = sqlx::query_scalar!(
            "select org_id from channel_routes where channel_id = $1",
            channel_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(org_id) = org_id else {
            return Ok(None);
        };
        sqlx::query!(
            r#"select set_config('app.org_id', $1, true) as "org_id",
               set_config('app.webhook_channel_id', '', true) as "webhook_channel_id""#,
            org_id.to_string()
        )
        .fetch_one(&mut *tx)
        .await?;
        Ok(Some(TenantTx { tx, org_id }))
    }

    /// The workspace this transaction is scoped to.
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }

    /// The connection, for queries in `crate::infra::db`.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

/// A transaction scoped to one signed-in user: it sees that user's own
/// memberships and workspaces across tenants (the workspace switcher), and
/// nothing else of any tenant.
pub struct UserScopeTx {
    tx: Transaction<'static, Postgres>,
}

impl UserScopeTx {
    async fn open(pool: &PgPool, user_id: Uuid) -> sqlx::Result<UserScopeTx> {
        let tx = pool
            .begin_with(scoped_begin("app.user_id", user_id))
            .await?;
        Ok(UserScopeTx { tx })
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}
