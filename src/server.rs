//! Start-up and shutdown: database, migrations, background sweeps, HTTP(S).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;

use crate::infra::config::{Command, Config, SecretsCommand};
use crate::infra::db::{self, Database};
use crate::infra::session_store::PgSessionStore;
use crate::state::AppState;
use crate::web::router::router;

/// `wacrm serve`, `wacrm migrate` and `wacrm secrets rotate`.
pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    crate::infra::tls::install_crypto_provider();
    let _lock = match config.database_url {
        None => Some(db::lock_data_dir(&config.data_dir)?),
        Some(_) => None,
    };
    let database = Database::open(&config).await?;
    let result = run_with(&database, config, command).await;
    database.shutdown().await;
    result
}

async fn run_with(database: &Database, config: Config, command: Command) -> anyhow::Result<()> {
    db::migrate(&database.admin).await?;
    match command {
        Command::Migrate => {
            tracing::info!("migrations applied");
            return Ok(());
        }
        Command::Secrets {
            action: SecretsCommand::Rotate,
        } => return rotate_secrets(database, &config).await,
        Command::Serve => {}
    }
    Application::build(config, &database.admin)
        .await?
        .run_until_stopped(Jobs::Run, shutdown_signal())
        .await
}

/// Whether an instance runs the job worker. Tests may leave it off and run
/// queued jobs on demand (`crate::infra::jobs::worker::Worker::run_pending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jobs {
    Run,
    OnDemand,
}

/// One wacrm instance, built the same way by `wacrm serve` and by the
/// tests: its pool, its state, its bound listener and TLS settings. The
/// database's migrations must have been applied.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Application {
    /// Binds `config.bind` (port 0: any free port) and connects as the
    /// application's role to the database `admin` points at.
    pub async fn build(config: Config, admin: &PgConnectOptions) -> anyhow::Result<Self> {
        let bind = config.bind;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        Self::build_on(listener, config, admin).await
    }

    /// [`Application::build`] on a listener bound already (a test that
    /// needs its address in the configuration).
    pub async fn build_on(
        listener: TcpListener,
        config: Config,
        admin: &PgConnectOptions,
    ) -> anyhow::Result<Self> {
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(crate::infra::tls::server_config(cert, key)?),
            _ => None,
        };
        // One more for the instance's LISTEN connection.
        let pool = db::app_pool(admin, config.pool_size() + 1).await?;
        let state = AppState::new(config, pool)?;
        Ok(Self {
            state,
            listener,
            tls,
        })
    }

    pub fn address(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The state before it starts, for what a test swaps in (a fake
    /// linked-device connector).
    pub fn state_mut(&mut self) -> &mut AppState {
        &mut self.state
    }

    /// Serves until `shutdown` resolves, with the background tasks beside
    /// it; dropping the future (a test killing the instance) stops them too.
    pub async fn run_until_stopped(
        self,
        jobs: Jobs,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            state,
            listener,
            tls,
        } = self;
        let background = AbortOnDrop(spawn_background_with(&state, jobs == Jobs::Run));
        let pool = state.pool.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(
            "wacrm listening on {scheme}://{} (public URL {})",
            listener.local_addr()?,
            state.config.public_base()
        );
        match tls {
            Some(tls) => serve_tls(listener.into_std()?, state, tls, shutdown).await?,
            None => serve(listener, state, shutdown).await?,
        }
        // A job cut off here is claimed again when its lease ends. The tasks
        // hold pooled connections that closing the pool would wait for.
        drop(background);
        if tokio::time::timeout(Duration::from_secs(10), pool.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections did not close within 10 s");
        }
        Ok(())
    }
}

/// Tasks aborted when this is dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// `wacrm secrets rotate`: as the application's role, so row-level security
/// holds as it does for requests (see `crate::features::secret_rotation`).
async fn rotate_secrets(database: &Database, config: &Config) -> anyhow::Result<()> {
    let secrets =
        crate::infra::secrets::SecretBox::load(config.secret_key.as_ref(), &config.data_dir)?;
    let pool = db::app_pool(&database.admin, 2).await?;
    println!("re-sealing with key {}", secrets.sealing_key_id());
    let rotated = crate::features::secret_rotation::rotate(&pool, &secrets).await;
    pool.close().await;
    let tallies = rotated?;
    for tally in &tallies {
        println!("{tally}");
    }
    let failed: u64 = tallies.iter().map(|t| t.failed).sum();
    anyhow::ensure!(
        failed == 0,
        "{failed} sealed value(s) did not open with the configured keys (listed in the log) \
         and were left as they are: keep the older keys until they are dealt with"
    );
    Ok(())
}

/// Plain HTTP until `shutdown` resolves, then drain in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    // Responses go out in several writes: without NODELAY, Nagle's algorithm
    // holds the last one for the peer's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server")
}

/// HTTPS with rustls until `shutdown` resolves.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    state: AppState,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    listener.set_nonblocking(true)?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(tls),
    )?
    .handle(handle)
    .serve(app)
    .await
    .context("HTTPS server")
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// What runs beside the HTTP server: the job worker (with `worker`),
/// the notification listener and the periodic sweeps. Abort the handles
/// to stop them.
fn spawn_background_with(state: &AppState, worker: bool) -> Vec<tokio::task::JoinHandle<()>> {
    let subscribers = crate::infra::notifications::Subscribers {
        sessions: state.session_cache.clone(),
        job_queued: Arc::new(tokio::sync::Notify::new()),
        live: state.live.clone(),
    };
    let mut tasks = Vec::new();
    if worker {
        tasks.push(
            crate::worker::worker(state)
                .spawn(subscribers.job_queued.clone(), state.config.job_workers()),
        );
    }
    tasks.extend([
        crate::infra::notifications::spawn(state.pool.clone(), subscribers),
        crate::channels::whatsapp_web::supervisor::spawn(state.env(), state.web_connector.clone()),
        spawn_sweeps(state.clone()),
        spawn_waiting_rules(state.clone()),
    ]);
    tasks
}

/// The "customer waits" automation rules, every minute.
fn spawn_waiting_rules(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::features::automation::idle::EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = crate::features::automation::idle::sweep(&state.env()).await {
                tracing::warn!(error = %format!("{e:#}"), "waiting-rules sweep failed");
            }
        }
    })
}

/// Periodic clean-up of expired sessions, old rate-limit windows and
/// canceled workspaces past their retention.
fn spawn_sweeps(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let store = PgSessionStore::new(state.pool.clone(), state.session_cache.clone());
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "expired session sweep failed");
            }
            if let Ok(mut conn) = state.pool.acquire().await
                && let Err(e) = db::rate_limits::delete_old(&mut conn).await
            {
                tracing::warn!(error = %e, "rate limit sweep failed");
            }
            if let Err(e) = crate::features::billing::lapsed_workspaces::sweep(&state.env()).await {
                tracing::warn!(error = %format!("{e:#}"), "lapsed workspaces sweep failed");
            }
            if let Err(e) = crate::features::retention::sweep(&state.env()).await {
                tracing::warn!(error = %format!("{e:#}"), "message retention sweep failed");
            }
            if let Err(e) = crate::channels::cloud_api::template_sync::sweep(&state.env()).await {
                tracing::warn!(error = %format!("{e:#}"), "template sync sweep failed");
            }
        }
    })
}
