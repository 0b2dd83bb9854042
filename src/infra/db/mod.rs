//! Connections, migrations and the queries of each entity.
//!
//! Two kinds of connection: the *admin* options (the configured user, which
//! owns the schema and runs migrations) and the *app* pool, whose connections
//! `SET ROLE wacrm_app` so every request query obeys row-level security.
//!
//! Lookups by a batch of keys go key by key (`unnest($n)` joined `lateral`
//! to a `limit 1` subquery on a unique key), never `= any($n)`: when the
//! statistics think a workspace small (a new one, or before the first
//! `ANALYZE`) PostgreSQL turns `= any` into a filter over all of the
//! workspace's rows (found by the WhatsApp benchmark: 50 ms instead of
//! 0.2 ms per 100 keys), while a lateral `limit 1` can only be run per key.

pub mod ai;
pub mod api_tokens;
pub mod attributes;
pub mod automation;
pub mod billing;
pub mod bookings;
pub mod bot;
pub mod campaigns;
pub mod canned;
pub mod channels;
pub mod cloud_channels;
pub mod companies;
pub mod contact_batches;
pub mod contacts;
pub mod conversation_referrals;
pub mod conversations;
pub mod deals;
pub mod exports;
pub mod imports;
pub mod invitations;
pub mod keyset;
pub mod knowledge;
pub mod labels;
pub mod media;
pub mod memberships;
pub mod mentions;
pub mod messages;
pub mod notes;
pub mod orders;
pub mod orgs;
pub mod pending_statuses;
pub mod pipelines;
pub mod products;
pub mod rate_limits;
pub mod reports;
pub mod retention;
pub mod sales_documents;
pub mod scheduled;
pub mod search;
pub mod sequences;
pub mod tasks;
pub mod templates;
pub mod today;
pub mod two_factor;
pub mod user_notifications;
pub mod user_tokens;
pub mod users;
pub mod waha_bridges;
pub mod web_sessions;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::infra::config::Config;
use crate::infra::embedded_pg::{Cluster, Durability};

/// Migrations compiled into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Where the data lives: a configured server or our private cluster.
#[derive(Debug)]
pub struct Database {
    pub admin: PgConnectOptions,
    pub cluster: Option<Cluster>,
}

impl Database {
    /// `DATABASE_URL` if set, else the private cluster under the data dir.
    pub async fn open(config: &Config) -> anyhow::Result<Database> {
        if let Some(url) = &config.database_url {
            let admin = PgConnectOptions::from_str(url.expose_secret())
                .context("DATABASE_URL is not a valid postgres:// URL")?;
            return Ok(Database {
                admin,
                cluster: None,
            });
        }
        let dir = config.data_dir.join("postgres");
        let cluster = Cluster::start(&dir, Durability::Durable).await?;
        ensure_database(&cluster, "wacrm").await?;
        Ok(Database {
            admin: cluster.connect_options("wacrm"),
            cluster: Some(cluster),
        })
    }

    /// Stop the private cluster. It is ours even when a wacrm that was
    /// killed left it running: the data dir's lock ([`lock_data_dir`]) says
    /// no other wacrm uses it.
    pub async fn shutdown(&self) {
        if let Some(cluster) = &self.cluster
            && let Err(e) = cluster.stop().await
        {
            tracing::warn!(error = %e, "stopping the private PostgreSQL cluster failed");
        }
    }
}

/// Create `name` in the cluster unless it exists.
/// Whether a write failed on this constraint (a unique key or index, by
/// name): the one place that reads constraint names off a database error.
pub fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    e.as_database_error().and_then(|d| d.constraint()) == Some(constraint)
}

pub async fn ensure_database(cluster: &Cluster, name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(&cluster.connect_options("postgres"))
        .await
        .context("connecting to the private PostgreSQL cluster")?;
    let exists: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from pg_database where datname = $1) as "exists!""#,
        name
    )
    .fetch_one(&mut conn)
    .await?;
    if !exists {
        // A name from our own code, not from input: quoted as an identifier.
        // runtime SQL: DDL takes no parameters; the name is an identifier.
        let sql = format!("create database \"{}\"", name.replace('"', "\"\""));
        conn.execute(sqlx::AssertSqlSafe(sql)).await?;
    }
    conn.close().await?;
    Ok(())
}

/// Apply every pending migration as the admin user.
pub async fn migrate(admin: &PgConnectOptions) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(admin)
        .await
        .context("connecting to Postgres to migrate")?;
    MIGRATOR
        .run(&mut conn)
        .await
        .context("applying migrations")?;
    conn.close().await?;
    Ok(())
}

/// How long a request waits for a free database connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The pool request work uses: every connection runs as [`APP_ROLE`].
pub async fn app_pool(admin: &PgConnectOptions, max_connections: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        // Every connection taken is answered 503 with Retry-After at once
        // rather than after a long wait (see `AppError::status`).
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A broken connection fails its query and is dropped; pinging before
        // every acquire would add a round trip to each request.
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // A transaction left idle (a bug, a stalled stream) is ended
                // by the server rather than holding its connection and locks.
                conn.execute(
                    "set role wacrm_app; set statement_timeout = '30s'; \
                     set idle_in_transaction_session_timeout = '60s'",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(admin.clone())
        .await
        .context("connecting the application pool")
}

/// A file lock that keeps a second wacrm from using the same data dir.
pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let path = data_dir.join("wacrm.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another wacrm is already running with the data dir {} (lock {} is held); \
             stop it first, or give this one another WACRM_DATA_DIR",
            data_dir.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}
