//! The Postgres job queue: slow or external side effects (mail now; WhatsApp
//! sends, AI calls later) are enqueued in the transaction that causes them
//! and run by a worker after commit, with retries and backoff.

pub mod worker;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::mail::Email;
use crate::secrets::SecretBox;

/// Sealing purpose of job payloads (no workspace: the queue is shared).
const SEAL_PURPOSE: &str = "job-payload";
/// The channel workers listen on to wake up at once.
pub const NOTIFY_CHANNEL: &str = "wacrm_jobs";

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
    /// A snoozed conversation whose snooze ends now (if it still does).
    WakeConversation { org_id: Uuid, conversation_id: Uuid },
}

impl Job {
    fn queue(&self) -> &'static str {
        match self {
            Job::SendEmail { .. } => "email",
            Job::SendMessage { .. } => "messages",
            Job::ImportContacts { .. } => "imports",
            Job::WakeConversation { .. } => "snoozes",
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
    let sealed = secrets.seal(Uuid::nil(), SEAL_PURPOSE, &plain)?;
    let id: i64 = sqlx::query_scalar(
        "insert into jobs (queue, payload, run_at) values ($1, $2, coalesce($3, now())) \
         returning id",
    )
    .bind(job.queue())
    .bind(sealed)
    .bind(run_at)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("select pg_notify($1, $2)")
        .bind(NOTIFY_CHANNEL)
        .bind(job.queue())
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
    let opened = secrets.open(Uuid::nil(), SEAL_PURPOSE, &sealed);
    match opened
        .map_err(anyhow::Error::from)
        .and_then(|plain| Ok(serde_json::from_slice::<Job>(&plain)?))
    {
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

pub async fn complete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from jobs where id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Backoff before attempt `attempts + 1`: 5 s, 20 s, 80 s ... capped at an hour.
pub fn backoff_secs(attempts: i32) -> i64 {
    let exp = attempts.clamp(1, 8) as u32 - 1;
    (5 * 4i64.pow(exp)).min(3600)
}

pub async fn fail(
    conn: &mut PgConnection,
    id: i64,
    attempts: i32,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update jobs set locked_until = null, last_error = $3, \
                run_at = now() + make_interval(secs => $2) where id = $1",
    )
    .bind(id)
    .bind(backoff_secs(attempts) as f64)
    .bind(error)
    .execute(conn)
    .await?;
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
