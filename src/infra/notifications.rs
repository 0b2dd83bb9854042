//! The instance's one `LISTEN` connection. It wakes the job worker when a
//! job is queued, and keeps the per-process read caches honest: table
//! triggers `NOTIFY` when a cached row changes, in any instance, and the
//! entry is dropped here. While not listening, the caches are off.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgNotification};
use tokio::sync::Notify;
use tower_sessions::session::Id;

use crate::infra::db::conversations;
use crate::infra::jobs;
use crate::infra::live::{LiveEvent, LiveHub};
use crate::infra::session_store::SessionCache;

/// Sent by the `sessions` trigger with the session id as payload.
const SESSION_CHANNEL: &str = "wacrm_session_changed";

const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Who is told what.
#[derive(Clone)]
pub struct Subscribers {
    pub sessions: Arc<SessionCache>,
    pub job_queued: Arc<Notify>,
    pub live: LiveHub,
}

/// Listen until the returned handle is aborted, reconnecting as needed.
pub fn spawn(pool: PgPool, subscribers: Subscribers) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&pool, &subscribers).await {
                Ok(()) => tracing::warn!("notifications: connection lost; reconnecting"),
                Err(e) => tracing::warn!(error = %e, "notifications: listener failed"),
            }
            subscribers.sessions.reset(false);
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    })
}

/// Serve notifications until the connection drops.
async fn listen(pool: &PgPool, subscribers: &Subscribers) -> sqlx::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([
            SESSION_CHANNEL,
            jobs::NOTIFY_CHANNEL,
            conversations::NOTIFY_CHANNEL,
        ])
        .await?;
    // Anything that changed before LISTEN took effect was never heard of.
    subscribers.sessions.reset(true);
    // Jobs queued while we were not listening.
    subscribers.job_queued.notify_one();
    // Inbox changes missed meanwhile: open pages refresh. (No subscriber
    // is not an error.)
    let _ = subscribers.live.send(LiveEvent::Resync);
    // `try_recv` gives `None` when the connection was lost (notifications
    // may be missing): start over rather than let it reconnect silently.
    while let Some(notification) = listener.try_recv().await? {
        apply(&notification, subscribers);
    }
    Ok(())
}

fn apply(notification: &PgNotification, subscribers: &Subscribers) {
    match notification.channel() {
        SESSION_CHANNEL => match Id::from_str(notification.payload()) {
            Ok(id) => subscribers.sessions.invalidate(&id),
            // Not an id we could have cached; drop all to be safe.
            Err(_) => subscribers.sessions.reset(true),
        },
        jobs::NOTIFY_CHANNEL => subscribers.job_queued.notify_one(),
        conversations::NOTIFY_CHANNEL => {
            if let Some(event) = LiveEvent::parse(notification.payload()) {
                let _ = subscribers.live.send(event);
            }
        }
        _ => {}
    }
}
