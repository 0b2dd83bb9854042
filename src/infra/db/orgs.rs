//! Workspaces (organizations).

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{AgentsSee, Country, RetentionDays, Role};
use crate::infra::tenancy::{TenantTx, UserScopeTx};

#[derive(Debug, Clone)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub time_zone: String,
    pub business_hours: Value,
    pub default_country: Option<String>,
    pub agents_see: AgentsSee,
    pub created_at: OffsetDateTime,
    /// Customers see their messages marked read when a member opens them.
    pub read_receipts: bool,
}

/// Create the workspace of this tenant context (its id is the context's).
pub async fn insert(tx: &mut TenantTx, name: &str) -> sqlx::Result<()> {
    let id = tx.org_id();
    sqlx::query!(
        "insert into organizations (id, name) values ($1, $2)",
        id,
        name
    )
    .execute(tx.conn())
    .await?;
    // Welcome and away messages, ready to switch on.
    super::automation::install_builtin(tx).await
}

pub async fn get(tx: &mut TenantTx) -> sqlx::Result<Option<Org>> {
    let id = tx.org_id();
    sqlx::query_as!(
        Org,
        r#"select id, name, time_zone, business_hours, default_country,
             agents_see as "agents_see: AgentsSee", created_at, read_receipts
           from organizations where id = $1"#,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// The workspace's IANA time zone (UTC if it has none).
pub async fn time_zone(tx: &mut TenantTx) -> sqlx::Result<String> {
    let id = tx.org_id();
    let zone: Option<String> =
        sqlx::query_scalar!("select time_zone from organizations where id = $1", id)
            .fetch_optional(tx.conn())
            .await?;
    Ok(zone.unwrap_or_else(|| "UTC".to_owned()))
}

pub async fn update_settings(
    tx: &mut TenantTx,
    name: &str,
    time_zone: &str,
    business_hours: &Value,
    default_country: Option<Country>,
    agents_see: AgentsSee,
    read_receipts: bool,
) -> sqlx::Result<()> {
    let id = tx.org_id();
    sqlx::query!(
        "update organizations set name = $2, time_zone = $3, business_hours = $4, \
         default_country = $5, agents_see = $6, read_receipts = $7 where id = $1",
        id,
        name,
        time_zone,
        business_hours,
        default_country.map(|c| c.code()),
        agents_see.as_str(),
        read_receipts
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether customers see their messages marked read when a member opens
/// the conversation.
pub async fn read_receipts(tx: &mut TenantTx) -> sqlx::Result<bool> {
    let id = tx.org_id();
    sqlx::query_scalar!("select read_receipts from organizations where id = $1", id)
        .fetch_optional(tx.conn())
        .await
        .map(|on| on.unwrap_or(false))
}

/// Delete the workspace and (by cascade) everything it owns.
pub async fn delete(tx: &mut TenantTx) -> sqlx::Result<()> {
    let id = tx.org_id();
    sqlx::query!("delete from organizations where id = $1", id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A workspace the user belongs to, for the switcher.
#[derive(Debug, Clone)]
pub struct UserWorkspace {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// Every member must sign in with a second factor.
    pub require_two_factor: bool,
}

pub async fn list_for_user(scope: &mut UserScopeTx) -> sqlx::Result<Vec<UserWorkspace>> {
    sqlx::query_as!(
        UserWorkspace,
        "select o.id, o.name, m.role as \"role: Role\", o.require_two_factor from memberships m \
         join organizations o on o.id = m.org_id \
         where m.user_id = current_app_user_id() order by o.name, o.id"
    )
    .fetch_all(scope.conn())
    .await
}

/// The country national phone numbers are read in, if the workspace set one.
pub async fn default_country(tx: &mut TenantTx) -> sqlx::Result<Option<Country>> {
    let id = tx.org_id();
    let code: Option<String> = sqlx::query_scalar!(
        "select default_country from organizations where id = $1",
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .flatten();
    Ok(code.and_then(|c| Country::parse(&c).ok()))
}

/// When an owner asked to delete the workspace (kept 30 days from then).
pub async fn deletion_requested_at(tx: &mut TenantTx) -> sqlx::Result<Option<OffsetDateTime>> {
    let id = tx.org_id();
    sqlx::query_scalar!(
        "select deletion_requested_at from organizations where id = $1",
        id
    )
    .fetch_optional(tx.conn())
    .await
    .map(Option::flatten)
}

/// Marks the workspace for deletion at `at` (or, `None`, restores it).
pub async fn request_deletion(tx: &mut TenantTx, at: Option<OffsetDateTime>) -> sqlx::Result<()> {
    let id = tx.org_id();
    sqlx::query!(
        "update organizations set deletion_requested_at = $2 where id = $1",
        id,
        at
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// How long the workspace keeps its messages (`None`: forever).
pub async fn retention_days(tx: &mut TenantTx) -> sqlx::Result<Option<RetentionDays>> {
    let id = tx.org_id();
    let days: Option<i32> =
        sqlx::query_scalar!("select retention_days from organizations where id = $1", id)
            .fetch_optional(tx.conn())
            .await?
            .flatten();
    Ok(days.map(RetentionDays::from_stored))
}

pub async fn set_retention_days(
    tx: &mut TenantTx,
    days: Option<RetentionDays>,
) -> sqlx::Result<()> {
    let id = tx.org_id();
    sqlx::query!(
        "update organizations set retention_days = $2 where id = $1",
        id,
        days.map(RetentionDays::days)
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
