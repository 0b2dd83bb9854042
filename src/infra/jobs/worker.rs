//! The worker loops (`WACRM_JOB_WORKERS` of them): each wakes when a job is
//! queued (`NOTIFY wacrm_jobs`, heard by [`crate::infra::notifications`]) or every
//! second, claims due jobs one at a time and runs them. A loop that claims
//! one wakes another, so a backlog is worked by all of them.
//!
//! [`Worker::run_pending`] runs every due job at once on the same path (for
//! tests, which then need no worker loop and no waiting).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;

use super::{Claimed, Registry};
use crate::infra::secrets::SecretBox;

/// The longest a job waits when a notification is lost.
const POLL: Duration = Duration::from_secs(1);

/// What claims and runs jobs: the queue's database and key, the job kinds
/// and the context they run with.
pub struct Worker<C> {
    pub pool: PgPool,
    pub secrets: Arc<SecretBox>,
    pub registry: Arc<Registry<C>>,
    pub context: Arc<C>,
    /// How long a claim lasts without renewal (see [`super::claim`]).
    pub lease_secs: i64,
}

impl<C> Clone for Worker<C> {
    fn clone(&self) -> Self {
        Worker {
            pool: self.pool.clone(),
            secrets: self.secrets.clone(),
            registry: self.registry.clone(),
            context: self.context.clone(),
            lease_secs: self.lease_secs,
        }
    }
}

impl<C: Send + Sync + 'static> Worker<C> {
    /// Run jobs in `workers` loops until the returned handle is aborted.
    pub fn spawn(self, job_queued: Arc<Notify>, workers: usize) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            // Dropped (the handle aborted): every loop is aborted with it.
            let mut loops = tokio::task::JoinSet::new();
            for _ in 0..workers.max(1) {
                let (worker, job_queued) = (self.clone(), job_queued.clone());
                loops.spawn(async move {
                    loop {
                        while worker.run_one(Some(&job_queued)).await {}
                        let _ = tokio::time::timeout(POLL, job_queued.notified()).await;
                    }
                });
            }
            while loops.join_next().await.is_some() {}
        })
    }

    /// Runs every due job, one after another, until none is due (a job that
    /// fails waits for its backoff, so it is not run again here); returns
    /// how many ran. Stops after `limit` runs, which only a job that keeps
    /// asking to run again at once reaches.
    pub async fn run_pending(&self, limit: usize) -> usize {
        let mut ran = 0;
        while ran < limit && self.run_one(None).await {
            ran += 1;
        }
        ran
    }

    /// Claim and run one job; false when there was none (or the queue
    /// failed). A claim wakes another loop (`job_queued`): there may be more.
    pub async fn run_one(&self, job_queued: Option<&Notify>) -> bool {
        let lease_secs = self.lease_secs;
        let claimed = match self.pool.acquire().await {
            Ok(mut conn) => super::claim(&mut conn, &self.secrets, lease_secs).await,
            Err(e) => Err(e.into()),
        };
        let Claimed {
            id,
            attempts,
            payload,
        } = match claimed {
            Ok(Some(c)) => c,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "job worker: claim failed");
                return false;
            }
        };
        if let Some(job_queued) = job_queued {
            job_queued.notify_one();
        }
        let job = match self.registry.decode(&payload) {
            Ok(job) => job,
            Err(e) => {
                // A kind this build does not know, or fields that do not fit
                // it: no try would read it better; keep it for inspection.
                tracing::warn!(job_id = id, kind = %payload.kind, error = %format!("{e:#}"), "job worker: unreadable job");
                let given_up = match self.pool.acquire().await {
                    Ok(mut conn) => {
                        super::give_up(&mut conn, id, &format!("unreadable payload: {e:#}")).await
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = given_up {
                    tracing::warn!(job_id = id, error = %e, "job worker: recording the outcome failed");
                }
                return true;
            }
        };
        let outcome = self
            .run_renewing(id, attempts, job.run(&self.context, attempts))
            .await;
        let recorded = match self.pool.acquire().await {
            Ok(mut conn) => match &outcome {
                Ok(()) => super::complete(&mut conn, id, attempts).await,
                Err(e) => {
                    let (retry_in, waiting) = match e.downcast_ref::<super::RetryLater>() {
                        Some(later) => (later.after, later.waiting),
                        None => (job.backoff(attempts), false),
                    };
                    let retry_in = retry_in.as_secs_f64();
                    if !waiting {
                        tracing::warn!(job_id = id, kind = %payload.kind, attempts, retry_in, error = %format!("{e:#}"), "job failed; will retry");
                    }
                    super::fail(
                        &mut conn,
                        id,
                        attempts,
                        retry_in,
                        &format!("{e:#}"),
                        waiting,
                    )
                    .await
                }
            },
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            tracing::warn!(job_id = id, error = %e, "job worker: recording the outcome failed");
        }
        true
    }

    /// Runs `job`, renewing its claim every third of the lease until it ends:
    /// a job may take as long as it needs, yet a worker that dies holds its
    /// job for at most one lease. A renewal that fails only warns: the job
    /// goes on, and what it does is safe to run twice (sends check their
    /// message, imports their last batch).
    async fn run_renewing(
        &self,
        id: i64,
        attempts: i32,
        job: impl std::future::Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        let lease_secs = self.lease_secs;
        let every = Duration::from_secs(u64::try_from(lease_secs / 3).unwrap_or(1).max(1));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(job);
        loop {
            tokio::select! {
                outcome = &mut job => return outcome,
                _ = ticks.tick() => {
                    let renewed = match self.pool.acquire().await {
                        Ok(mut conn) => super::renew(&mut conn, id, attempts, lease_secs).await,
                        Err(e) => Err(e),
                    };
                    match renewed {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job_id = id, "job worker: the claim lapsed and another worker took the job"),
                        Err(e) => tracing::warn!(job_id = id, error = %e, "job worker: renewing the claim failed"),
                    }
                }
            }
        }
    }
}
