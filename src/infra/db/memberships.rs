//! Who belongs to the workspace, with which role.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{AgentsSee, Role};
use crate::infra::tenancy::TenantTx;

pub async fn insert(tx: &mut TenantTx, user_id: Uuid, role: Role) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "insert into memberships (org_id, user_id, role) values ($1, $2, $3) \
         on conflict (org_id, user_id) do nothing",
        org_id,
        user_id,
        role.as_str()
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn role_of(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<Option<Role>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select role as "role: Role" from memberships where org_id = $1 and user_id = $2"#,
        org_id,
        user_id
    )
    .fetch_optional(tx.conn())
    .await
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: OffsetDateTime,
}

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Member>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Member,
        "select m.user_id, u.name, u.email, m.role as \"role: Role\", m.created_at as joined_at \
         from memberships m join users u on u.id = m.user_id \
         where m.org_id = $1 \
         order by case m.role when 'owner' then 0 when 'admin' then 1 else 2 end, u.name",
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn count(tx: &mut TenantTx) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from memberships where org_id = $1"#,
        org_id
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn count_owners(tx: &mut TenantTx) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from memberships where org_id = $1 and role = 'owner'"#,
        org_id
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn set_role(tx: &mut TenantTx, user_id: Uuid, role: Role) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update memberships set role = $3 where org_id = $1 and user_id = $2",
        org_id,
        user_id,
        role.as_str()
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn remove(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "delete from memberships where org_id = $1 and user_id = $2",
        org_id,
        user_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Serialize membership changes of one workspace (last-owner checks).
pub async fn lock_org(tx: &mut TenantTx) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    // The row is read (one at most: the key) only to hold its lock.
    sqlx::query!(
        "select id from organizations where id = $1 for update",
        org_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(())
}

/// What the tenant extractor needs about the member, in one query.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub user_name: String,
    pub user_email: String,
    pub email_verified: bool,
    pub org_name: String,
    pub role: Role,
    /// The workspace's `agents_see` setting.
    pub agents_see: AgentsSee,
    /// A linked phone is logged out or outdated.
    pub phones_need_attention: bool,
    /// The workspace requires a second factor and this member has none.
    pub must_enrol_two_factor: bool,
    pub unread_notifications: i64,
    /// The sidebar's counts, each capped at [`SIDEBAR_COUNT_CAP`].
    pub inbox_mine: i64,
    pub inbox_unassigned: i64,
    pub new_mentions: i64,
}

/// The sidebar counts no further (it shows "99+"): every page pays for
/// them, so none reads more than this many index entries.
pub const SIDEBAR_COUNT_CAP: i64 = 100;

pub async fn load_member(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<Option<MemberRow>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        MemberRow,
        r#"select u.name as user_name, u.email as user_email,
           u.email_verified_at is not null as "email_verified!", o.name as org_name, m.role as "role: Role",
           o.agents_see as "agents_see: AgentsSee", exists (select 1 from whatsapp_web_sessions s
             where s.org_id = m.org_id and s.status in ('logged_out', 'outdated'))
             as "phones_need_attention!",
           o.require_two_factor and u.totp_enabled_at is null as "must_enrol_two_factor!",
           (select count(*) from user_notifications n where n.org_id = m.org_id
             and n.user_id = m.user_id and n.read_at is null) as "unread_notifications!",
           (select count(*) from (select 1 from conversations c where c.org_id = m.org_id
             and c.assignee_id = m.user_id and c.status = 'open' limit $3) mine)
             as "inbox_mine!",
           (select count(*) from (select 1 from conversations c where c.org_id = m.org_id
             and c.assignee_id is null and c.status = 'open' limit $3) unassigned)
             as "inbox_unassigned!",
           (select count(*) from (select 1 from note_mentions nm where nm.org_id = m.org_id
             and nm.user_id = m.user_id and nm.seen_at is null limit $3) mentions)
             as "new_mentions!"
           from memberships m join users u on u.id = m.user_id
           join organizations o on o.id = m.org_id
           where m.org_id = $1 and m.user_id = $2"#,
        org_id,
        user_id,
        SIDEBAR_COUNT_CAP
    )
    .fetch_optional(tx.conn())
    .await
}
