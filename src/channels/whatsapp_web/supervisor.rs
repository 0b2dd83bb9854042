//! Which process runs which linked-device session, and running them.
//!
//! A linked device may have one connection at a time: a second one makes
//! WhatsApp drop the first ("replaced"), so two processes must never run
//! the same session. Each process's supervisor, every third of
//! `WHATSAPP_WEB_LEASE_SECS`:
//! - renews the lease of every session it runs (`owner` = this process);
//!   a session whose lease it no longer holds is stopped at once;
//! - stops everything it runs if its last renewal is older than two thirds
//!   of the lease (the database unreachable): it stops before the lease
//!   can lapse, so nobody else can have claimed it yet;
//! - claims sessions whose lease has lapsed (their process died, or they
//!   are new) and starts them.
//!
//! So a dead process's sessions are resumed by another within one lease,
//! and there is never a second owner (claims are one atomic `UPDATE` each,
//! `FOR UPDATE SKIP LOCKED`). What a session reports is written to the
//! workspace by [`super::events`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::link::{Connector, LinkedSession, SessionEvent, Start};
use super::running::Running;
use super::store::SessionStore;
use crate::features::environment::Environment;
use crate::infra::tenancy::bootstrap;

/// Sessions claimed per round at most (the rest wait for the next round
/// or another process).
const CLAIMS_PER_ROUND: i64 = 50;
/// How often a supervisor looks for sessions to claim.
const CLAIM_EVERY: Duration = Duration::from_secs(1);
/// How long stopping or logging out one session may take: a hung one must
/// not hold up the renewal of the others.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a session that did not start (its stored state unreadable,
/// say) waits before another try.
const START_RETRY: Duration = Duration::from_secs(120);

/// Empties the registry when the supervisor ends (aborted with its
/// process's background tasks): its sessions die with it.
struct ForgetOnDrop(Running);

impl Drop for ForgetOnDrop {
    fn drop(&mut self) {
        self.0.clear();
    }
}

/// Runs this process's share of sessions until the handle is aborted,
/// starting each with `connector` and registering it in `env.web_sessions`.
pub fn spawn(env: Environment, connector: Arc<dyn Connector>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let owner = Uuid::now_v7();
        let lease = Duration::from_secs(u64::from(env.config.whatsapp_web_lease_secs));
        let _forget = ForgetOnDrop(env.web_sessions.clone());
        let mut sessions: HashMap<Uuid, tokio::task::AbortHandle> = HashMap::new();
        let mut tasks = JoinSet::new();
        let mut last_renewal = Instant::now();
        let mut renewal_due = Instant::now();
        // Claims every second (a restarted fleet's sessions resume
        // CLAIMS_PER_ROUND a second, not a lease), renewals every third of
        // the lease.
        let mut ticks = tokio::time::interval(CLAIM_EVERY.min(lease / 3));
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                Some(ended) = tasks.join_next_with_id() => {
                    let id = ended.as_ref().map_or_else(|e| e.id(), |(id, _)| *id);
                    sessions.retain(|_, handle| handle.id() != id);
                    continue;
                }
            }
            let running: Vec<Uuid> = sessions.keys().copied().collect();
            let renewed = if Instant::now() >= renewal_due {
                renewal_due = Instant::now() + lease / 3;
                // A renewal that hangs counts as failed (see below).
                Some(
                    tokio::time::timeout(lease / 3, renew(&env, owner, &running, lease))
                        .await
                        .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut)),
                )
            } else {
                None
            };
            match renewed {
                None => {}
                Some(Ok(held)) => {
                    last_renewal = Instant::now();
                    for channel in &running {
                        match held.iter().find(|(c, _)| c == channel) {
                            Some((_, true)) => {}
                            // Unlinked by the owner: tell the phone, forget
                            // the keys, let go.
                            Some((_, false)) => {
                                if let Some(session) = env.web_sessions.get(*channel)
                                    && tokio::time::timeout(STOP_TIMEOUT, session.log_out())
                                        .await
                                        .is_err()
                                {
                                    tracing::warn!(%channel, "whatsapp web: logging out timed out");
                                }
                                stop(&env, &mut sessions, *channel).await;
                                if let Err(e) = forget(&env, owner, *channel).await {
                                    tracing::warn!(%channel, error = %format!("{e:#}"), "whatsapp web: forgetting an unlinked session failed");
                                }
                            }
                            None => {
                                tracing::warn!(%channel, "whatsapp web: lease lost; stopping the session");
                                stop(&env, &mut sessions, *channel).await;
                            }
                        }
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "whatsapp web: renewing leases failed");
                    if last_renewal.elapsed() > lease * 2 / 3 {
                        for channel in running {
                            stop(&env, &mut sessions, channel).await;
                        }
                    }
                    continue;
                }
            }
            // Up to this process's share (WHATSAPP_WEB_MAX_SESSIONS); the
            // rest wait for another process.
            let room = env
                .config
                .whatsapp_web_max_sessions
                .saturating_sub(sessions.len());
            if room == 0 {
                continue;
            }
            match claim(&env, owner, lease, room).await {
                Ok(claimed) => {
                    for (channel_id, org_id) in claimed {
                        let handle = tasks.spawn(run(
                            env.clone(),
                            connector.clone(),
                            owner,
                            org_id,
                            channel_id,
                        ));
                        sessions.insert(channel_id, handle);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "whatsapp web: claiming sessions failed"),
            }
        }
    })
}

/// Renews this process's leases: the channels it still holds, and whether
/// each is still wanted (not when its owner unlinked it).
async fn renew(
    env: &Environment,
    owner: Uuid,
    running: &[Uuid],
    lease: Duration,
) -> sqlx::Result<Vec<(Uuid, bool)>> {
    if running.is_empty() {
        return Ok(vec![]);
    }
    let mut tx = crate::infra::tenancy::supervisor_tx(&env.pool).await?;
    let kept = sqlx::query!(
        "update whatsapp_web_leases set lease_until = now() + make_interval(secs => $3) \
         where owner = $1 and channel_id = any($2) and lease_until > now() \
         returning channel_id, wanted",
        owner,
        running,
        lease.as_secs_f64()
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(kept.into_iter().map(|r| (r.channel_id, r.wanted)).collect())
}

/// Claims sessions nobody runs: (channel, workspace).
async fn claim(
    env: &Environment,
    owner: Uuid,
    lease: Duration,
    room: usize,
) -> sqlx::Result<Vec<(Uuid, Uuid)>> {
    let mut tx = crate::infra::tenancy::supervisor_tx(&env.pool).await?;
    let claimed = sqlx::query!(
        "update whatsapp_web_leases set owner = $1, lease_until = now() + make_interval(secs => $2) \
         where channel_id in (select channel_id from whatsapp_web_leases \
                              where wanted and (lease_until is null or lease_until < now()) \
                              order by lease_until nulls first limit $3 for update skip locked) \
         returning channel_id, org_id",
        owner,
        lease.as_secs_f64(),
        CLAIMS_PER_ROUND.min(i64::try_from(room).unwrap_or(i64::MAX))
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claimed
        .into_iter()
        .map(|r| (r.channel_id, r.org_id))
        .collect())
}

/// Stops a session this process runs, keeping its env.
async fn stop(
    env: &Environment,
    sessions: &mut HashMap<Uuid, tokio::task::AbortHandle>,
    channel_id: Uuid,
) {
    if let Some(handle) = sessions.remove(&channel_id) {
        handle.abort();
    }
    if let Some(session) = env.web_sessions.remove(channel_id) {
        stop_session(channel_id, session.as_ref()).await;
    }
}

/// Stops a session, giving up after [`STOP_TIMEOUT`] (dropping it then
/// aborts it; its store is fenced, so a late write cannot land).
async fn stop_session(channel_id: Uuid, session: &dyn LinkedSession) {
    if tokio::time::timeout(STOP_TIMEOUT, session.stop())
        .await
        .is_err()
    {
        tracing::warn!(%channel_id, "whatsapp web: stopping the session timed out");
    }
}

/// Lets go of a session's lease, keeping it wanted, so that no process
/// starts it again before `retry_after` (zero: at once).
async fn release(
    env: &Environment,
    owner: Uuid,
    channel_id: Uuid,
    retry_after: Duration,
) -> sqlx::Result<()> {
    let mut tx = crate::infra::tenancy::supervisor_tx(&env.pool).await?;
    sqlx::query!(
        "update whatsapp_web_leases set owner = null, \
           lease_until = now() + make_interval(secs => $3) \
         where channel_id = $1 and owner = $2",
        channel_id,
        owner,
        retry_after.as_secs_f64()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Clears a session that is over (its keys are dead) and lets its lease
/// go, so that it can be linked again at once.
async fn forget(env: &Environment, owner: Uuid, channel_id: Uuid) -> anyhow::Result<()> {
    let mut tx = crate::infra::tenancy::supervisor_tx(&env.pool).await?;
    let org_id: Option<Uuid> = sqlx::query_scalar!(
        "update whatsapp_web_leases set owner = null, lease_until = null \
         where channel_id = $1 and owner = $2 and not wanted returning org_id",
        channel_id,
        owner
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(org_id) = org_id else {
        // Wanted again or taken meanwhile: not ours to clear.
        return Ok(());
    };
    SessionStore::new(env.pool.clone(), env.secrets.clone(), org_id, channel_id)
        .clear()
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One session, from start until it ends or is aborted.
async fn run(
    env: Environment,
    connector: Arc<dyn Connector>,
    owner: Uuid,
    org_id: Uuid,
    channel_id: Uuid,
) {
    let (pair_phone, history_days) = match link_options(&env, org_id, channel_id).await {
        Ok(options) => options,
        Err(e) => {
            tracing::warn!(%channel_id, error = %e, "whatsapp web: reading the session failed");
            return;
        }
    };
    let (events, mut received) = mpsc::unbounded_channel();
    let start = Start {
        org_id,
        channel_id,
        store: SessionStore::new(env.pool.clone(), env.secrets.clone(), org_id, channel_id)
            .fenced_by(owner),
        events,
        inbox: Arc::new(super::events::WorkspaceInbox {
            env: env.clone(),
            org_id,
            channel_id,
        }),
        pair_phone,
        history_days,
    };
    let session = match connector.start(start).await {
        Ok(session) => session,
        Err(e) => {
            // Shown on the page; another try after a while, not every round.
            let reason = format!("The session could not start: {e:#}");
            tracing::warn!(%channel_id, %reason, "whatsapp web: the session did not start");
            let paused = SessionEvent::Paused {
                reason,
                retry_after: START_RETRY,
            };
            if let Err(e) = super::events::apply(&env, org_id, channel_id, paused).await {
                tracing::warn!(%channel_id, error = %format!("{e:#}"), "whatsapp web: recording the failed start failed");
            }
            if let Err(e) = release(&env, owner, channel_id, START_RETRY).await {
                tracing::warn!(%channel_id, error = %e, "whatsapp web: releasing the lease failed");
            }
            return;
        }
    };
    env.web_sessions.insert(channel_id, session.clone());
    // Dropped with this task (stopped or aborted): out of the registry.
    let _registered = Registered(env.web_sessions.clone(), channel_id);
    let finished = session.finished();
    tokio::pin!(finished);
    loop {
        let event = tokio::select! {
            event = received.recv() => event,
            () = &mut finished => None,
        };
        let Some(event) = event else {
            // The session died by itself: let go, so that the next claim
            // round (here or elsewhere) starts it again.
            tracing::warn!(%channel_id, "whatsapp web: the session ended by itself; restarting it");
            if let Err(e) = release(&env, owner, channel_id, Duration::ZERO).await {
                tracing::warn!(%channel_id, error = %e, "whatsapp web: releasing the lease failed");
            }
            return;
        };
        match super::events::apply(&env, org_id, channel_id, event).await {
            Ok(super::events::Next::Continue) => {}
            Ok(super::events::Next::End) => {
                stop_session(channel_id, session.as_ref()).await;
                if let Err(e) = forget(&env, owner, channel_id).await {
                    tracing::warn!(%channel_id, error = %format!("{e:#}"), "whatsapp web: forgetting an ended session failed");
                }
                return;
            }
            Ok(super::events::Next::Pause(retry_after)) => {
                stop_session(channel_id, session.as_ref()).await;
                if let Err(e) = release(&env, owner, channel_id, retry_after).await {
                    tracing::warn!(%channel_id, error = %e, "whatsapp web: releasing the lease failed");
                }
                return;
            }
            Err(e) => {
                tracing::warn!(%channel_id, error = %format!("{e:#}"), "whatsapp web: recording an event failed");
            }
        }
    }
}

struct Registered(Running, Uuid);

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

/// How the session links: by a pairing code for this number (else a QR),
/// and how many days of history it imports.
async fn link_options(
    env: &Environment,
    org_id: Uuid,
    channel_id: Uuid,
) -> anyhow::Result<(Option<String>, u16)> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let session = crate::infra::db::web_sessions::find(&mut tx, channel_id).await?;
    tx.commit().await?;
    Ok(session.map_or((None, 0), |s| (s.pair_phone, s.history_days)))
}
