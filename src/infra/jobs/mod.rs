//! The Postgres job queue: slow or external side effects (mail, WhatsApp
//! sends, AI calls, imports, exports...) are enqueued in the transaction
//! that causes them and run by a worker after commit, with retries and
//! backoff.
//!
//! Each kind of job is a type implementing [`BackgroundJob`], declared next
//! to the feature it belongs to; the worker finds a stored job's type by its
//! [`BackgroundJob::KIND`] in a [`Registry`] built in one place
//! (`crate::worker`), so this module names no feature.

pub mod email;
pub mod registry;
pub mod worker;

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::secrets::SecretBox;

pub use email::SendEmail;
pub use registry::Registry;

/// Sealing purpose of job payloads (no workspace: the queue is shared; the
/// job's id is the row a payload is bound to).
pub const SEAL_PURPOSE: &str = "job-payload";
/// The channel workers listen on to wake up at once.
pub const NOTIFY_CHANNEL: &str = "wacrm_jobs";

/// Tries of a job unless it says otherwise.
pub const DEFAULT_ATTEMPTS: i32 = 8;
/// Tries of a message send: with [`send_backoff`], about half an hour.
pub const SEND_ATTEMPTS: i32 = 12;

/// One kind of background job: the type is its payload (stored as sealed
/// JSON, `{"kind": KIND, ...its fields}`), and says how it runs and retries.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The payload's `kind`: unique, and never renamed while jobs of the
    /// kind may be queued (rows in production hold it).
    const KIND: &'static str;
    /// The queue rows are filed under (for inspection; every worker runs
    /// every queue).
    const QUEUE: &'static str;
    /// Tries before the job is given up.
    const MAX_ATTEMPTS: i32 = DEFAULT_ATTEMPTS;

    /// What the job runs with: the narrowest part of the worker's context
    /// it needs (the registry's context borrows as it).
    type Context: Send + Sync + 'static;

    /// Wait before try `attempts + 1` after a failed try (a job may also
    /// ask for its own wait with [`RetryLater`]).
    fn backoff(attempts: i32) -> Duration {
        Duration::from_secs(backoff_secs(attempts).unsigned_abs())
    }

    /// Does the work; `attempt` counts from 1. Safe to run twice: a worker
    /// that dies mid-job leaves it to run again.
    fn run(
        &self,
        ctx: &Self::Context,
        attempt: i32,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A job that asks to run again after `after` rather than the default
/// backoff (a throttled send, or a send waiting for its provider's report).
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct RetryLater {
    pub after: Duration,
    pub reason: String,
    /// A wait that is not a failed try (a rate limit, a pending report):
    /// it does not use up the job's attempts.
    pub waiting: bool,
}

/// The stored form of `job`: its fields with its `kind` (as the enum the
/// queue had before job types wrote them, so rows of either read alike).
pub fn stored_form<J: BackgroundJob>(job: &J) -> anyhow::Result<Vec<u8>> {
    let mut fields = match serde_json::to_value(job)? {
        serde_json::Value::Object(fields) => fields,
        _ => anyhow::bail!("job {} is not a struct with named fields", J::KIND),
    };
    fields.insert("kind".to_owned(), J::KIND.into());
    Ok(serde_json::to_vec(&fields)?)
}

/// Enqueue `job` in the caller's transaction: it runs only if that commits.
pub async fn enqueue<J: BackgroundJob>(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    job: &J,
) -> anyhow::Result<i64> {
    enqueue_at(conn, secrets, job, None).await
}

/// Like [`enqueue`], but not run before `run_at` (`None`: at once).
pub async fn enqueue_at<J: BackgroundJob>(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    job: &J,
    run_at: Option<OffsetDateTime>,
) -> anyhow::Result<i64> {
    let plain = stored_form(job)?;
    // The id first: the payload is sealed for it.
    let id: i64 = sqlx::query_scalar!(r#"select nextval('jobs_id_seq') as "id!""#)
        .fetch_one(&mut *conn)
        .await?;
    let sealed = secrets.seal(Uuid::nil(), SEAL_PURPOSE, id, &plain)?;
    sqlx::query!(
        "with queued as (insert into jobs (id, queue, payload, run_at, max_attempts) \
                         values ($1, $2, $3, coalesce($4, now()), $5) returning queue) \
         select pg_notify($6, queue) from queued",
        id,
        J::QUEUE,
        sealed,
        run_at,
        J::MAX_ATTEMPTS,
        NOTIFY_CHANNEL
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// A job claimed by a worker: its payload opened, not yet typed.
#[derive(Debug)]
pub struct Claimed {
    pub id: i64,
    pub attempts: i32,
    pub payload: Payload,
}

/// An opened payload: its `kind` and its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub kind: String,
    pub fields: serde_json::Value,
}

impl Payload {
    fn parse(plain: &[u8]) -> anyhow::Result<Payload> {
        let fields: serde_json::Value = serde_json::from_slice(plain)?;
        let kind = fields
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| anyhow::anyhow!("no kind"))?
            .to_owned();
        Ok(Payload { kind, fields })
    }

    /// The job of type `J` it holds (an error when it holds another kind).
    pub fn decode<J: BackgroundJob>(&self) -> anyhow::Result<J> {
        anyhow::ensure!(self.kind == J::KIND, "a {} job, not {}", self.kind, J::KIND);
        Ok(J::deserialize(&self.fields)?)
    }
}

/// Claim the next due job (any queue); `None` when there is nothing to do.
/// The claim lasts `lease_secs`: a worker that dies mid-job leaves it to be
/// claimed again after that.
pub async fn claim(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    lease_secs: i64,
) -> anyhow::Result<Option<Claimed>> {
    let row = sqlx::query!(
        "update jobs set attempts = attempts + 1, \
                locked_until = now() + make_interval(secs => $1) \
         where id = (select id from jobs \
                     where run_at <= now() and attempts < max_attempts \
                       and (locked_until is null or locked_until < now()) \
                     order by run_at, id limit 1 for update skip locked) \
         returning id, attempts, payload",
        lease_secs as f64
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, attempts, sealed)) = row.map(|r| (r.id, r.attempts, r.payload)) else {
        return Ok(None);
    };
    match open_raw(secrets, id, &sealed) {
        Ok(payload) => Ok(Some(Claimed {
            id,
            attempts,
            payload,
        })),
        Err(e) => {
            // Unreadable (e.g. sealed with a key no longer configured): keep it
            // for inspection, never retry.
            give_up(conn, id, &format!("unreadable payload: {e}")).await?;
            Ok(None)
        }
    }
}

/// Keeps a job that can never run (its payload unreadable, its kind
/// unknown) for inspection, and never tries it again.
pub async fn give_up(conn: &mut PgConnection, id: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update jobs set attempts = max_attempts, last_error = $2 where id = $1",
        id,
        error
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The payload a stored job holds (the job `id`'s own: a payload copied
/// from another job does not open).
pub fn open_raw(secrets: &SecretBox, id: i64, sealed: &[u8]) -> anyhow::Result<Payload> {
    let plain = secrets.open(Uuid::nil(), SEAL_PURPOSE, id, sealed)?;
    Payload::parse(&plain)
}

/// The job of type `J` a stored payload holds (see [`open_raw`]).
pub fn open_payload<J: BackgroundJob>(
    secrets: &SecretBox,
    id: i64,
    sealed: &[u8],
) -> anyhow::Result<J> {
    open_raw(secrets, id, sealed)?.decode()
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
    let renewed = sqlx::query!(
        "update jobs set locked_until = now() + make_interval(secs => $3) \
         where id = $1 and attempts = $2 and locked_until is not null",
        id,
        attempts,
        lease_secs as f64
    )
    .execute(conn)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Removes a job that ran, unless its claim lapsed and another worker took
/// it (then that worker records its own outcome).
pub async fn complete(conn: &mut PgConnection, id: i64, attempts: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from jobs where id = $1 and attempts = $2",
        id,
        attempts
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Backoff before attempt `attempts + 1`: 5 s, 20 s, 80 s ... capped at an hour
/// (the default of [`BackgroundJob::backoff`]).
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
    sqlx::query!(
        "update jobs set locked_until = null, last_error = $3, \
                run_at = now() + make_interval(secs => $2), \
                attempts = attempts - case when $4 then 1 else 0 end \
         where id = $1 and attempts = $5",
        id,
        retry_in_secs,
        error,
        waiting,
        attempts
    )
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
        let mail = crate::infra::mail::Email {
            body: body_for(&member.name),
            to: member.email,
            subject: subject.to_owned(),
        };
        enqueue(tx.conn(), secrets, &SendEmail::from(mail)).await?;
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
