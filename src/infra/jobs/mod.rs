//! The Postgres job queue: slow or external side effects (mail now; WhatsApp
//! sends, AI calls later) are enqueued in the transaction that causes them
//! and run by a worker after commit, with retries and backoff.

pub mod worker;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::mail::Email;
use crate::infra::secrets::SecretBox;

/// Sealing purpose of job payloads (no workspace: the queue is shared; the
/// job's id is the row a payload is bound to).
pub const SEAL_PURPOSE: &str = "job-payload";
/// The channel workers listen on to wake up at once.
pub const NOTIFY_CHANNEL: &str = "wacrm_jobs";

/// Tries of a message send: with [`send_backoff`], about half an hour.
pub const SEND_ATTEMPTS: i32 = 12;

/// A job that asks to run again after `after` rather than the default
/// backoff (a throttled send, or a send waiting for its provider's report).
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct RetryLater {
    pub after: std::time::Duration,
    pub reason: String,
    /// A wait that is not a failed try (a rate limit, a pending report):
    /// it does not use up the job's attempts.
    pub waiting: bool,
}

/// What a job does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    SendEmail {
        to: String,
        subject: String,
        body: String,
    },
    /// A queued reply, sent through its conversation's channel.
    SendMessage { org_id: Uuid, message_id: Uuid },
    /// The next batches of a contact import.
    ImportContacts { org_id: Uuid, import_id: Uuid },
    /// A customer's media, fetched from the provider.
    FetchMedia { org_id: Uuid, message_id: Uuid },
    /// A snoozed conversation whose snooze ends now (if it still does).
    WakeConversation { org_id: Uuid, conversation_id: Uuid },
    /// A Stripe event received (stored by its id), applied once.
    StripeEvent { event_id: String },
    /// A customer's message on a channel whose bot is on: the bot answers
    /// it from the knowledge base or hands over (once per message).
    BotAnswer { org_id: Uuid, message_id: Uuid },
    /// A customer's message: the automation rules it sets off (once each).
    Automate { org_id: Uuid, message_id: Uuid },
    /// A scheduled campaign whose time came (or "start now").
    StartCampaign { org_id: Uuid, campaign_id: Uuid },
    /// A running campaign's next step; `run` is the start or resume it
    /// belongs to (an older run's job stops).
    DispatchCampaign {
        org_id: Uuid,
        campaign_id: Uuid,
        run: i32,
    },
    /// A scheduled message due now (if it still is: an edit queues another).
    SendScheduled { org_id: Uuid, scheduled_id: Uuid },
    /// A data export to build (workspace or one contact).
    BuildExport { org_id: Uuid, export_id: Uuid },
    /// A finished export whose 7 days are over: its file goes.
    ExpireExport { org_id: Uuid, export_id: Uuid },
    /// A task's reminder, for the due time it was queued for (a task due
    /// at another time now has another job).
    RemindTask {
        org_id: Uuid,
        task_id: Uuid,
        due_at: OffsetDateTime,
    },
    /// A customer's catalogue cart: the order made of it (once).
    TakeOrder { org_id: Uuid, message_id: Uuid },
}

impl Job {
    fn queue(&self) -> &'static str {
        match self {
            Job::SendEmail { .. } => "email",
            Job::SendMessage { .. } => "messages",
            Job::ImportContacts { .. } => "imports",
            Job::WakeConversation { .. } => "snoozes",
            Job::FetchMedia { .. } => "media",
            Job::StripeEvent { .. } => "billing",
            Job::BotAnswer { .. } => "bot",
            Job::Automate { .. } => "automation",
            Job::StartCampaign { .. } | Job::DispatchCampaign { .. } => "campaigns",
            Job::SendScheduled { .. } => "scheduled",
            Job::BuildExport { .. } | Job::ExpireExport { .. } => "exports",
            Job::RemindTask { .. } => "reminders",
            Job::TakeOrder { .. } => "orders",
        }
    }

    /// Tries before a job is given up. A send's last try marks its message
    /// failed itself (see `crate::channels::cloud_api::sender`), so none stays queued.
    pub fn max_attempts(&self) -> i32 {
        match self {
            Job::SendMessage { .. } => SEND_ATTEMPTS,
            _ => 8,
        }
    }

    pub fn email(email: Email) -> Job {
        Job::SendEmail {
            to: email.to,
            subject: email.subject,
            body: email.body,
        }
    }
}

/// Enqueue `job` in the caller's transaction: it runs only if that commits.
pub async fn enqueue(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    job: &Job,
) -> anyhow::Result<i64> {
    enqueue_at(conn, secrets, job, None).await
}

/// Like [`enqueue`], but not run before `run_at` (`None`: at once).
pub async fn enqueue_at(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    job: &Job,
    run_at: Option<OffsetDateTime>,
) -> anyhow::Result<i64> {
    let plain = serde_json::to_vec(job)?;
    // The id first: the payload is sealed for it.
    let id: i64 = sqlx::query_scalar("select nextval('jobs_id_seq')")
        .fetch_one(&mut *conn)
        .await?;
    let sealed = secrets.seal(Uuid::nil(), SEAL_PURPOSE, id, &plain)?;
    sqlx::query(
        "with queued as (insert into jobs (id, queue, payload, run_at, max_attempts) \
                         values ($1, $2, $3, coalesce($4, now()), $5) returning queue) \
         select pg_notify($6, queue) from queued",
    )
    .bind(id)
    .bind(job.queue())
    .bind(sealed)
    .bind(run_at)
    .bind(job.max_attempts())
    .bind(NOTIFY_CHANNEL)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// A job claimed by a worker.
#[derive(Debug)]
pub struct Claimed {
    pub id: i64,
    pub attempts: i32,
    pub job: Job,
}

/// Claim the next due job (any queue); `None` when there is nothing to do.
/// The claim lasts `lease_secs`: a worker that dies mid-job leaves it to be
/// claimed again after that.
pub async fn claim(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    lease_secs: i64,
) -> anyhow::Result<Option<Claimed>> {
    let row: Option<(i64, i32, Vec<u8>)> = sqlx::query_as(
        "update jobs set attempts = attempts + 1, \
                locked_until = now() + make_interval(secs => $1) \
         where id = (select id from jobs \
                     where run_at <= now() and attempts < max_attempts \
                       and (locked_until is null or locked_until < now()) \
                     order by run_at, id limit 1 for update skip locked) \
         returning id, attempts, payload",
    )
    .bind(lease_secs as f64)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, attempts, sealed)) = row else {
        return Ok(None);
    };
    match open_payload(secrets, id, &sealed) {
        Ok(job) => Ok(Some(Claimed { id, attempts, job })),
        Err(e) => {
            // Unreadable (e.g. sealed with a key no longer configured): keep it
            // for inspection, never retry.
            sqlx::query("update jobs set attempts = max_attempts, last_error = $2 where id = $1")
                .bind(id)
                .bind(format!("unreadable payload: {e}"))
                .execute(&mut *conn)
                .await?;
            Ok(None)
        }
    }
}

/// The job a stored payload holds (the job `id`'s own: a payload copied from
/// another job does not open).
pub fn open_payload(secrets: &SecretBox, id: i64, sealed: &[u8]) -> anyhow::Result<Job> {
    let plain = secrets.open(Uuid::nil(), SEAL_PURPOSE, id, sealed)?;
    Ok(serde_json::from_slice(&plain)?)
}

/// Extends the claim on a running job by `lease_secs` from now; false when
/// the claim is no longer this worker's (it lapsed and another worker took
/// the job: its claim counted another attempt).
pub async fn renew(
    conn: &mut PgConnection,
    id: i64,
    attempts: i32,
    lease_secs: i64,
) -> sqlx::Result<bool> {
    let renewed = sqlx::query(
        "update jobs set locked_until = now() + make_interval(secs => $3) \
         where id = $1 and attempts = $2 and locked_until is not null",
    )
    .bind(id)
    .bind(attempts)
    .bind(lease_secs as f64)
    .execute(conn)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Removes a job that ran, unless its claim lapsed and another worker took
/// it (then that worker records its own outcome).
pub async fn complete(conn: &mut PgConnection, id: i64, attempts: i32) -> sqlx::Result<()> {
    sqlx::query("delete from jobs where id = $1 and attempts = $2")
        .bind(id)
        .bind(attempts)
        .execute(conn)
        .await?;
    Ok(())
}

/// Backoff before attempt `attempts + 1`: 5 s, 20 s, 80 s ... capped at an hour.
pub fn backoff_secs(attempts: i32) -> i64 {
    let exp = attempts.clamp(1, 8) as u32 - 1;
    (5 * 4i64.pow(exp)).min(3600)
}

/// Backoff of a message send after `attempts` tries: 1 s doubling, with
/// ±25 % jitter so throttled senders do not come back in step, capped at
/// ten minutes.
pub fn send_backoff(attempts: i32) -> std::time::Duration {
    let exp = attempts.clamp(1, 11) as u32 - 1;
    let base = (1u64 << exp).min(600) as f64;
    let mut byte = [0u8; 1];
    // Without randomness the backoff is merely not jittered.
    let _ = getrandom::fill(&mut byte);
    let jitter = 0.75 + f64::from(byte[0]) / 255.0 * 0.5;
    std::time::Duration::from_secs_f64(base * jitter)
}

/// Puts a job back to run in `retry_in_secs`; `waiting` gives back the try
/// its claim counted (see [`RetryLater::waiting`]). Like [`complete`], only
/// while the claim (`attempts`) is still this worker's.
pub async fn fail(
    conn: &mut PgConnection,
    id: i64,
    attempts: i32,
    retry_in_secs: f64,
    error: &str,
    waiting: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "update jobs set locked_until = null, last_error = $3, \
                run_at = now() + make_interval(secs => $2), \
                attempts = attempts - case when $4 then 1 else 0 end \
         where id = $1 and attempts = $5",
    )
    .bind(id)
    .bind(retry_in_secs)
    .bind(error)
    .bind(waiting)
    .bind(attempts)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues, in the caller's transaction, one mail to each member of its
/// workspace whose role is in `roles`: `subject`, and a body made for
/// each member's name.
pub async fn mail_members(
    tx: &mut crate::infra::tenancy::TenantTx,
    secrets: &SecretBox,
    roles: &[&str],
    subject: &str,
    body_for: impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    for member in crate::infra::db::memberships::list(tx).await? {
        if !roles.contains(&member.role.as_str()) {
            continue;
        }
        let mail = Email {
            body: body_for(&member.name),
            to: member.email,
            subject: subject.to_owned(),
        };
        enqueue(tx.conn(), secrets, &Job::email(mail)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_secs(1), 5);
        assert_eq!(backoff_secs(2), 20);
        assert!(backoff_secs(5) > backoff_secs(4));
        assert_eq!(backoff_secs(30), 3600);
    }
}
