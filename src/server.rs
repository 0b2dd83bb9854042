//! Start-up and shutdown: database, migrations, background sweeps, HTTP(S).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
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
    // One more for the instance's LISTEN connection.
    let pool = db::app_pool(&database.admin, config.pool_size() + 1).await?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::infra::tls::server_config(cert, key)?),
        _ => None,
    };
    let bind = config.bind;
    let state = AppState::new(config, pool.clone())?;
    let background = spawn_background(&state);
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        "wacrm listening on {scheme}://{bind} (public URL {})",
        state.config.public_base()
    );
    match tls {
        Some(tls) => serve_tls(listener.into_std()?, state, tls, shutdown_signal()).await?,
        None => serve(listener, state, shutdown_signal()).await?,
    }
    // A job cut off here is claimed again when its lease ends. The tasks
    // hold pooled connections that closing the pool would wait for.
    for task in background {
        task.abort();
    }
    if tokio::time::timeout(Duration::from_secs(10), pool.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections did not close within 10 s");
    }
    Ok(())
}

/// `wacrm secrets rotate`: as the application's role, so row-level security
/// holds as it does for requests (see `crate::infra::secrets::rotate`).
async fn rotate_secrets(database: &Database, config: &Config) -> anyhow::Result<()> {
    let secrets =
        crate::infra::secrets::SecretBox::load(config.secret_key.as_ref(), &config.data_dir)?;
    let pool = db::app_pool(&database.admin, 2).await?;
    println!("re-sealing with key {}", secrets.sealing_key_id());
    let rotated = crate::infra::secrets::rotate::rotate(&pool, &secrets).await;
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

/// What runs beside the HTTP server: the job worker, the notification
/// listener and the periodic sweeps. Abort the handles to stop them.
pub fn spawn_background(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    spawn_background_with(state, true)
}

/// [`spawn_background`], with the job worker only when `worker` is true:
/// without it queued jobs wait for whoever runs them (tests run them on
/// demand with [`crate::infra::jobs::worker::Worker::run_pending`]).
pub fn spawn_background_with(state: &AppState, worker: bool) -> Vec<tokio::task::JoinHandle<()>> {
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
        crate::channels::whatsapp_web::supervisor::spawn(state.clone()),
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
            if let Err(e) = crate::features::automation::idle::sweep(&state).await {
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
            if let Err(e) = crate::features::billing::retention::sweep(&state).await {
                tracing::warn!(error = %format!("{e:#}"), "retention sweep failed");
            }
            if let Err(e) = crate::features::retention::sweep(&state).await {
                tracing::warn!(error = %format!("{e:#}"), "message retention sweep failed");
            }
        }
    })
}
