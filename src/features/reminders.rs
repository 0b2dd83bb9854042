//! Task reminders: each due time gets a job at that instant (the member
//! typed it on the workspace's clock; it is stored as an instant, so a
//! daylight-saving change in between moves nothing). The job tells the
//! assignee in the app and by mail, once per due time: a task moved to
//! another time leaves its old job nothing to do, and a job run twice finds
//! the reminder claimed.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::local_time;
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::jobs;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Queues the reminder for the task's due time, in the caller's
/// transaction.
pub async fn schedule(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    task_id: Uuid,
    due_at: OffsetDateTime,
) -> anyhow::Result<()> {
    let job = RemindTask {
        org_id: tx.org_id(),
        task_id,
        due_at,
    };
    jobs::enqueue_at(tx.conn(), secrets, &job, Some(due_at)).await?;
    Ok(())
}

/// The job: a notification and a mail to the assignee (or the task's
/// author when nobody is assigned), if the task is still open and due then.
pub async fn remind(
    env: &Environment,
    org_id: Uuid,
    task_id: Uuid,
    due_at: OffsetDateTime,
) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(reminder) = db::tasks::claim_reminder(&mut tx, task_id, due_at).await? else {
        return Ok(());
    };
    let member = match reminder.user_id {
        Some(user) => db::memberships::list(&mut tx)
            .await?
            .into_iter()
            .find(|m| m.user_id == user),
        None => None,
    };
    // Nobody to tell (unassigned, and its author left): claimed all the same.
    let Some(member) = member else {
        tx.commit().await?;
        return Ok(());
    };
    let what = if reminder.kind.is_call() {
        "Call"
    } else {
        "To-do"
    };
    let with = reminder
        .contact_name
        .filter(|n| !n.trim().is_empty())
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let title = format!("{what} due: {}{with}", reminder.title);
    let path = format!("/tasks/{task_id}");
    db::user_notifications::insert(&mut tx, member.user_id, &title, &path).await?;
    let zone = db::orgs::time_zone(&mut tx).await?;
    let email = crate::infra::mail::Email {
        to: member.email.clone(),
        subject: format!("wacrm: {title}"),
        body: format!(
            "Hello {},\n\n{title}\nDue {} ({zone}).\n\n{}\n",
            member.name,
            local_time::shown(due_at, &zone),
            env.url(&path)
        ),
    };
    jobs::enqueue(tx.conn(), &env.secrets, &jobs::SendEmail::from(email)).await?;
    tx.commit().await?;
    Ok(())
}

/// A task's reminder, for the due time it was queued for (a task due at another time now has another job) (`kind: remind_task`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RemindTask {
    pub org_id: Uuid,
    pub task_id: Uuid,
    pub due_at: time::OffsetDateTime,
}

impl crate::infra::jobs::BackgroundJob for RemindTask {
    const KIND: &'static str = "remind_task";
    const QUEUE: &'static str = "reminders";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        remind(env, self.org_id, self.task_id, self.due_at).await
    }
}
