//! The worker loops (`WACRM_JOB_WORKERS` of them): each wakes when a job is
//! queued (`NOTIFY wacrm_jobs`, heard by [`crate::infra::notifications`]) or every
//! second, claims due jobs one at a time and runs them. A loop that claims
//! one wakes another, so a backlog is worked by all of them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Claimed, Job};
use crate::state::AppState;

/// The longest a job waits when a notification is lost.
const POLL: Duration = Duration::from_secs(1);

/// Run jobs in `workers` loops until the returned handle is aborted.
pub fn spawn(
    state: AppState,
    job_queued: Arc<Notify>,
    workers: usize,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Dropped (the handle aborted): every loop is aborted with it.
        let mut loops = tokio::task::JoinSet::new();
        for _ in 0..workers.max(1) {
            let (state, job_queued) = (state.clone(), job_queued.clone());
            loops.spawn(async move {
                loop {
                    while run_one(&state, &job_queued).await {}
                    let _ = tokio::time::timeout(POLL, job_queued.notified()).await;
                }
            });
        }
        while loops.join_next().await.is_some() {}
    })
}

/// Claim and run one job; false when there was none (or the queue failed).
/// A claim wakes another loop: there may be more.
async fn run_one(state: &AppState, job_queued: &Notify) -> bool {
    let lease_secs = i64::from(state.config.job_lease_secs);
    let claimed = match state.pool.acquire().await {
        Ok(mut conn) => super::claim(&mut conn, &state.secrets, lease_secs).await,
        Err(e) => Err(e.into()),
    };
    let Claimed { id, attempts, job } = match claimed {
        Ok(Some(c)) => c,
        Ok(None) => return false,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "job worker: claim failed");
            return false;
        }
    };
    job_queued.notify_one();
    let outcome = run_renewing(state, id, attempts, lease_secs, run(state, &job, attempts)).await;
    let recorded = match state.pool.acquire().await {
        Ok(mut conn) => match &outcome {
            Ok(()) => super::complete(&mut conn, id, attempts).await,
            Err(e) => {
                let (retry_in, waiting) = match e.downcast_ref::<super::RetryLater>() {
                    Some(later) => (later.after.as_secs_f64(), later.waiting),
                    None => (super::backoff_secs(attempts) as f64, false),
                };
                if !waiting {
                    tracing::warn!(job_id = id, attempts, retry_in, error = %format!("{e:#}"), "job failed; will retry");
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
    state: &AppState,
    id: i64,
    attempts: i32,
    lease_secs: i64,
    job: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let every = Duration::from_secs(u64::try_from(lease_secs / 3).unwrap_or(1).max(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tokio::pin!(job);
    loop {
        tokio::select! {
            outcome = &mut job => return outcome,
            _ = ticks.tick() => {
                let renewed = match state.pool.acquire().await {
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

async fn run(state: &AppState, job: &Job, attempts: i32) -> anyhow::Result<()> {
    match job {
        Job::SendEmail { to, subject, body } => {
            state
                .mailer
                .send(&crate::infra::mail::Email {
                    to: to.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                })
                .await
        }
        Job::SendMessage { org_id, message_id } => {
            crate::features::inbox::outbound::send(state, *org_id, *message_id, attempts).await
        }
        Job::ImportContacts { org_id, import_id } => {
            crate::features::import::run::run(state, *org_id, *import_id).await
        }
        Job::FetchMedia { org_id, message_id } => {
            crate::channels::cloud_api::media::fetch(state, *org_id, *message_id, attempts).await
        }
        Job::WakeConversation {
            org_id,
            conversation_id,
        } => {
            let mut tx = crate::infra::tenancy::bootstrap::for_job(&state.pool, *org_id).await?;
            crate::features::inbox::snooze::wake_if_due(&mut tx, *conversation_id).await?;
            tx.commit().await?;
            Ok(())
        }
        Job::StripeEvent { event_id } => {
            crate::features::billing::events::process(state, event_id).await
        }
        Job::BotAnswer { org_id, message_id } => {
            crate::features::ai::bot::answer(state, *org_id, *message_id).await
        }
        Job::Automate { org_id, message_id } => {
            crate::features::automation::on_message(state, *org_id, *message_id).await
        }
        Job::StartCampaign {
            org_id,
            campaign_id,
        } => crate::features::campaigns::start(state, *org_id, *campaign_id).await,
        Job::DispatchCampaign {
            org_id,
            campaign_id,
            run,
        } => crate::features::campaigns::dispatch(state, *org_id, *campaign_id, *run).await,
        Job::SendScheduled {
            org_id,
            scheduled_id,
        } => {
            let last_try = attempts >= job.max_attempts();
            crate::features::inbox::scheduled::send(state, *org_id, *scheduled_id, last_try).await
        }
        Job::BuildExport { org_id, export_id } => {
            crate::features::export::build(state, *org_id, *export_id).await
        }
        Job::ExpireExport { org_id, export_id } => {
            crate::features::export::expire(state, *org_id, *export_id).await
        }
        Job::RemindTask {
            org_id,
            task_id,
            due_at,
        } => crate::features::reminders::remind(state, *org_id, *task_id, *due_at).await,
        Job::TakeOrder { org_id, message_id } => {
            crate::features::orders::take(state, *org_id, *message_id).await
        }
    }
}
