//! tower-sessions store on our own sqlx pool (the published sqlx store is on
//! an older sqlx). The signed-in user id is copied into a column so that all
//! of a user's sessions can be ended at once. Loads go through a
//! [`ReadCache`] kept honest by the `sessions` trigger's `NOTIFY`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use uuid::Uuid;

use crate::infra::read_cache::ReadCache;

/// Session records by id, per process.
pub type SessionCache = ReadCache<Id, Record>;

/// Enough for every session active within [`CACHE_TTL`] on one instance.
const CACHE_CAPACITY: usize = 10_000;
/// A backstop only: notifications drop changed entries at once.
const CACHE_TTL: Duration = Duration::from_secs(60);

pub fn new_cache() -> Arc<SessionCache> {
    Arc::new(ReadCache::new(CACHE_CAPACITY, CACHE_TTL))
}

/// Drop sessions that were changed in SQL outside the store (after the
/// commit; other instances hear of it through the trigger).
pub fn forget(cache: &SessionCache, ids: &[String]) {
    for id in ids {
        match Id::from_str(id) {
            Ok(id) => cache.invalidate(&id),
            Err(_) => tracing::warn!("a sessions row has an id tower-sessions cannot parse"),
        }
    }
}

#[derive(Clone)]
pub struct PgSessionStore {
    pool: PgPool,
    cache: Arc<SessionCache>,
}

impl std::fmt::Debug for PgSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSessionStore").finish_non_exhaustive()
    }
}

impl PgSessionStore {
    pub fn new(pool: PgPool, cache: Arc<SessionCache>) -> Self {
        PgSessionStore { pool, cache }
    }
}

/// What a store error says when no database connection was free, so the
/// request is answered 503 like any other (see `AppError::is_busy`).
pub const BUSY: &str = "no database connection free";

tokio::task_local! {
    /// Set when the store found no free connection while serving this
    /// request. tower-sessions answers a failed save after the handler with
    /// a bare 500 of its own; [`crate::web::busy::answer_busy_saves`] reads
    /// this to make it the 503 every other busy request gets.
    pub static FOUND_BUSY: std::cell::Cell<bool>;
}

fn backend(e: sqlx::Error) -> session_store::Error {
    match e {
        sqlx::Error::PoolTimedOut => {
            // Outside a request (the sweeps) there is no flag to set.
            let _ = FOUND_BUSY.try_with(|busy| busy.set(true));
            session_store::Error::Backend(BUSY.to_owned())
        }
        other => session_store::Error::Backend(other.to_string()),
    }
}

fn user_of(record: &Record) -> Option<Uuid> {
    record
        .data
        .get("uid")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::try_parse(s).ok())
}

/// What an insert does when the id is taken.
#[derive(Clone, Copy)]
enum OnConflict {
    Skip,
    Overwrite,
}

impl PgSessionStore {
    /// Insert `record`; false if its id was taken and `Skip` left it alone.
    async fn write(&self, record: &Record, on_conflict: OnConflict) -> session_store::Result<bool> {
        let data = serde_json::to_value(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let id = record.id.to_string();
        let user_id = user_of(record);
        let done = match on_conflict {
            OnConflict::Skip => {
                sqlx::query!(
                    "insert into sessions (id, user_id, data, expires_at) \
                     values ($1, $2, $3, $4) on conflict (id) do nothing",
                    id,
                    user_id,
                    data,
                    record.expiry_date
                )
                .execute(&self.pool)
                .await
            }
            OnConflict::Overwrite => {
                sqlx::query!(
                    "insert into sessions (id, user_id, data, expires_at) \
                     values ($1, $2, $3, $4) on conflict (id) do update \
                     set user_id = excluded.user_id, data = excluded.data, \
                     expires_at = excluded.expires_at",
                    id,
                    user_id,
                    data,
                    record.expiry_date
                )
                .execute(&self.pool)
                .await
            }
        }
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A colliding id (2^-128) gets a fresh one rather than overwriting.
        while !self.write(record, OnConflict::Skip).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, OnConflict::Overwrite).await?;
        self.cache.invalidate(&record.id);
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(record) = self.cache.get(session_id)
            && record.expiry_date > OffsetDateTime::now_utc()
        {
            return Ok(Some(record));
        }
        let ticket = self.cache.ticket();
        let id = session_id.to_string();
        let row = sqlx::query!(
            "select data, expires_at from sessions where id = $1 and expires_at > now()",
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let data = serde_json::from_value(row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let record = Record {
            id: *session_id,
            data,
            expiry_date: row.expires_at,
        };
        self.cache.fill(*session_id, record.clone(), ticket);
        Ok(Some(record))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let id = session_id.to_string();
        sqlx::query!("delete from sessions where id = $1", id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        self.cache.invalidate(session_id);
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query!("delete from sessions where expires_at <= now()")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
