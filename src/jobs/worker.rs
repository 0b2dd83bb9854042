//! The worker loop: wakes on `NOTIFY wacrm_jobs` (or every second), claims
//! due jobs one at a time and runs them.

use std::time::Duration;

use sqlx::postgres::PgListener;

use super::{Claimed, Job, NOTIFY_CHANNEL};
use crate::app::AppState;

/// How long a claimed job may run before another worker may take it.
const LEASE_SECS: i64 = 300;
const POLL: Duration = Duration::from_secs(1);

/// Run jobs until the returned handle is aborted (at shutdown: the listener
/// holds a pooled connection that closing the pool would wait for).
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut listener = match PgListener::connect_with(&state.pool).await {
            Ok(mut l) => match l.listen(NOTIFY_CHANNEL).await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "job worker: LISTEN failed; polling only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "job worker: no listener connection; polling only");
                None
            }
        };
        loop {
            while run_one(&state).await {}
            match listener.as_mut() {
                Some(l) => {
                    let _ = tokio::time::timeout(POLL, l.recv()).await;
                }
                None => tokio::time::sleep(POLL).await,
            }
        }
    })
}

/// Claim and run one job; false when there was none (or the queue failed).
pub async fn run_one(state: &AppState) -> bool {
    let claimed = match state.pool.acquire().await {
        Ok(mut conn) => super::claim(&mut conn, &state.secrets, LEASE_SECS).await,
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
    let outcome = run(state, &job).await;
    let recorded = match state.pool.acquire().await {
        Ok(mut conn) => match &outcome {
            Ok(()) => super::complete(&mut conn, id).await,
            Err(e) => {
                tracing::warn!(job_id = id, attempts, error = %format!("{e:#}"), "job failed; will retry");
                super::fail(&mut conn, id, attempts, &format!("{e:#}")).await
            }
        },
        Err(e) => Err(e),
    };
    if let Err(e) = recorded {
        tracing::warn!(job_id = id, error = %e, "job worker: recording the outcome failed");
    }
    true
}

async fn run(state: &AppState, job: &Job) -> anyhow::Result<()> {
    match job {
        Job::SendEmail { to, subject, body } => {
            state
                .mailer
                .send(&crate::mail::Email {
                    to: to.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                })
                .await
        }
    }
}
