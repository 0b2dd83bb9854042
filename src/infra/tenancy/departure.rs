//! A user deleting their account: one transaction that visits each of their
//! workspaces in turn — scoped to one workspace at a time, as every tenant
//! transaction is — and ends with the user's own rows, so that all of it
//! happens or none of it does.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{TenantTx, scoped_begin};

use crate::domain::Role;

/// One of the user's workspaces, as their membership shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Membership {
    pub org_id: Uuid,
    pub org_name: String,
    pub role: Role,
}

/// The transaction of a departure. Tenant rows are reached only through
/// [`DepartureTx::enter`], which scopes it to one of the user's workspaces.
pub struct DepartureTx {
    tx: TenantTx,
    memberships: Vec<Membership>,
}

impl DepartureTx {
    /// Opens the transaction and reads the user's memberships (their own
    /// rows only, as the workspace switcher sees them), in the order of the
    /// workspaces' ids, the order their rows are locked in.
    pub async fn begin(pool: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<DepartureTx> {
        let mut tx = pool
            .begin_with(scoped_begin("app.user_id", user_id))
            .await?;
        let memberships = sqlx::query_as!(
            Membership,
            "select m.org_id, o.name as org_name, m.role as \"role: Role\" from memberships m \
             join organizations o on o.id = m.org_id \
             where m.user_id = current_app_user_id() order by m.org_id"
        )
        .fetch_all(&mut *tx)
        .await?;
        // From here on the user scope is over: each workspace is entered
        // on its own.
        sqlx::query!("select set_config('app.user_id', '', true)")
            .fetch_one(&mut *tx)
            .await?;
        Ok(DepartureTx {
            // No workspace until one is entered (tenant rows fail closed).
            tx: TenantTx {
                tx,
                org_id: Uuid::nil(),
            },
            memberships,
        })
    }

    /// The user's workspaces when the transaction began.
    pub fn memberships(&self) -> &[Membership] {
        &self.memberships
    }

    /// The tenant context of one of the user's workspaces (`None` for any
    /// other id).
    pub async fn enter(&mut self, org_id: Uuid) -> sqlx::Result<Option<&mut TenantTx>> {
        if !self.memberships.iter().any(|m| m.org_id == org_id) {
            return Ok(None);
        }
        sqlx::query!(
            "select set_config('app.org_id', $1, true)",
            org_id.to_string()
        )
        .fetch_one(&mut *self.tx.tx)
        .await?;
        self.tx.org_id = org_id;
        Ok(Some(&mut self.tx))
    }

    /// The connection for the user's own rows (users, sessions, jobs), out
    /// of any workspace.
    pub async fn account(&mut self) -> sqlx::Result<&mut PgConnection> {
        sqlx::query!("select set_config('app.org_id', '', true)")
            .fetch_one(&mut *self.tx.tx)
            .await?;
        self.tx.org_id = Uuid::nil();
        Ok(&mut self.tx.tx)
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}
