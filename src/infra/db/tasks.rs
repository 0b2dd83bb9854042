//! Tasks: to-dos and calls, due at a time, assigned to a member, about a
//! contact or a deal.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::TaskKind;
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Task {
    pub id: Uuid,
    pub kind: TaskKind,
    pub title: String,
    pub details: Option<String>,
    pub due_at: Option<OffsetDateTime>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub deal_id: Option<Uuid>,
    pub deal_title: Option<String>,
    pub done_at: Option<OffsetDateTime>,
}

impl Task {
    pub fn is_call(&self) -> bool {
        self.kind.is_call()
    }
}

/// A task's fields as checked from its form.
#[derive(Debug, Clone)]
pub struct TaskFields {
    pub kind: TaskKind,
    pub title: String,
    pub details: Option<String>,
    pub due_at: Option<OffsetDateTime>,
    pub assignee_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
}

/// `query_as!` of [`Task`]s: the task `t` with the names it points at,
/// then `$rest`. A macro so that the SQL stays one literal the compiler
/// checks.
macro_rules! select_tasks {
    ($rest:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Task,
            r#"select t.id, t.kind as "kind: TaskKind", t.title, t.details, t.due_at, t.assignee_id,
               u.name as "assignee_name?", t.contact_id, c.name as "contact_name?",
               c.phone as "contact_phone?", t.deal_id, d.title as "deal_title?", t.done_at
               from tasks t left join users u on u.id = t.assignee_id
               left join contacts c on c.org_id = t.org_id and c.id = t.contact_id
               left join deals d on d.org_id = t.org_id and d.id = t.deal_id "#
                + $rest,
            $($arg),+
        )
    };
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Task>> {
    let org_id = tx.org_id();
    select_tasks!("where t.org_id = $1 and t.id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await
}

pub async fn insert(
    tx: &mut TenantTx,
    fields: &TaskFields,
    created_by: Uuid,
) -> sqlx::Result<Uuid> {
    let org_id = tx.org_id();
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into tasks (org_id, id, kind, title, details, due_at, assignee_id, created_by, \
           contact_id, deal_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        org_id,
        id,
        fields.kind.as_str(),
        &fields.title,
        fields.details.as_deref(),
        fields.due_at,
        fields.assignee_id,
        created_by,
        fields.contact_id,
        fields.deal_id
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Saves the fields; the contact and deal stay what they were.
pub async fn update(tx: &mut TenantTx, id: Uuid, fields: &TaskFields) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let updated = sqlx::query!(
        "update tasks set kind = $3, title = $4, details = $5, due_at = $6, assignee_id = $7, \
           updated_at = now() where org_id = $1 and id = $2",
        org_id,
        id,
        fields.kind.as_str(),
        &fields.title,
        fields.details.as_deref(),
        fields.due_at,
        fields.assignee_id
    )
    .execute(tx.conn())
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Done (now) or open again.
pub async fn set_done(tx: &mut TenantTx, id: Uuid, done: bool) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let updated = sqlx::query!(
        "update tasks set done_at = case when $3 then coalesce(done_at, now()) end, \
           updated_at = now() where org_id = $1 and id = $2",
        org_id,
        id,
        done
    )
    .execute(tx.conn())
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let deleted = sqlx::query!(
        "delete from tasks where org_id = $1 and id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Whose tasks a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Anyone,
    Member(Uuid),
    Nobody,
}

/// Open tasks due before `until` (overdue ones too), and when
/// `with_undated`, open ones without a due time; soonest first.
pub async fn open_until(
    tx: &mut TenantTx,
    assignee: Assignee,
    until: OffsetDateTime,
    with_undated: bool,
    limit: i64,
) -> sqlx::Result<Vec<Task>> {
    let org_id = tx.org_id();
    let (member, nobody) = match assignee {
        Assignee::Anyone => (None, false),
        Assignee::Member(id) => (Some(id), false),
        Assignee::Nobody => (None, true),
    };
    select_tasks!(
        "where t.org_id = $1 and t.done_at is null \
         and ($2::uuid is null or t.assignee_id = $2) and (not $3 or t.assignee_id is null) \
         and (t.due_at < $4 or ($5 and t.due_at is null)) \
         order by t.due_at nulls last, t.id limit $6",
        org_id,
        member,
        nobody,
        until,
        with_undated,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// Tasks (done or not) of `kind` due in `[from, to)`, in order of time.
pub async fn due_between(
    tx: &mut TenantTx,
    kind: TaskKind,
    assignee: Option<Uuid>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<Task>> {
    let org_id = tx.org_id();
    select_tasks!(
        "where t.org_id = $1 and t.kind = $2 \
         and ($3::uuid is null or t.assignee_id = $3) and t.due_at >= $4 and t.due_at < $5 \
         order by t.due_at, t.id",
        org_id,
        kind.as_str(),
        assignee,
        from,
        to
    )
    .fetch_all(tx.conn())
    .await
}

/// Open tasks about a contact or a deal, soonest first.
pub async fn open_about(
    tx: &mut TenantTx,
    contact_id: Option<Uuid>,
    deal_id: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<Task>> {
    let org_id = tx.org_id();
    select_tasks!(
        "where t.org_id = $1 and t.done_at is null \
         and (t.contact_id = $2 or t.deal_id = $3) order by t.due_at nulls last, t.id limit $4",
        org_id,
        contact_id,
        deal_id,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// What a reminder says, claimed once per due time: `None` when the task
/// is done, gone, due at another time now, or was reminded already.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reminder {
    pub title: String,
    pub kind: TaskKind,
    /// The assignee, or whoever made it when nobody is assigned.
    pub user_id: Option<Uuid>,
    pub contact_name: Option<String>,
}

pub async fn claim_reminder(
    tx: &mut TenantTx,
    id: Uuid,
    due_at: OffsetDateTime,
) -> sqlx::Result<Option<Reminder>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Reminder,
        r#"update tasks t set reminded_for = t.due_at
           where t.org_id = $1 and t.id = $2 and t.due_at = $3 and t.done_at is null
             and t.reminded_for is distinct from t.due_at
           returning t.title, t.kind as "kind: TaskKind",
             coalesce(t.assignee_id, t.created_by) as user_id,
             (select c.name from contacts c where c.org_id = t.org_id and c.id = t.contact_id)
               as contact_name"#,
        org_id,
        id,
        due_at
    )
    .fetch_optional(tx.conn())
    .await
}
