//! Application state and the router with its middleware stack.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::middleware;
use sqlx::PgPool;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::mail::Mailer;
use crate::secrets::SecretBox;
use crate::session_store::{self, PgSessionStore, SessionCache};
use crate::tenancy::session_state::IDLE_TIMEOUT;
use crate::web;

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Connections run as the non-privileged `wacrm_app` role.
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub mailer: Arc<Mailer>,
    pub secrets: Arc<SecretBox>,
    /// Serving HTTPS ourselves (HSTS).
    pub tls: bool,
    /// Read cache of session records; see [`crate::notifications`].
    pub session_cache: Arc<SessionCache>,
    /// Live inbox events of this instance; see [`crate::live`].
    pub live: crate::live::LiveHub,
    /// Meta's Graph API (WhatsApp Cloud API channels).
    pub graph: crate::whatsapp::graph::GraphClient,
    /// Media files fetched from providers, under the data dir.
    pub media: crate::media_store::MediaStore,
    /// Starts linked-device (WhatsApp Web) sessions.
    pub web_connector: Arc<dyn crate::whatsapp_web::link::Connector>,
    /// The linked-device sessions this process runs.
    pub web_sessions: crate::whatsapp_web::supervisor::Running,
    /// Calls to workspaces' WAHA servers (see [`crate::waha::network`]).
    pub waha_http: crate::waha::network::WahaHttp,
    /// The time billing goes by (tests move it).
    pub clock: crate::clock::Clock,
    /// The AI provider (OpenAI-compatible) of the deployment and workspaces.
    pub ai: crate::ai::provider::Providers,
}

impl AppState {
    pub fn new(config: Config, pool: PgPool) -> anyhow::Result<AppState> {
        let mailer = Mailer::new(config.smtp_url.as_ref(), &config.mail_from)?;
        let secrets = SecretBox::load(config.secret_key.as_ref(), &config.data_dir)?;
        let graph = crate::whatsapp::graph::GraphClient::new(
            config.whatsapp_graph_url.clone(),
            &config.whatsapp_graph_version,
            std::time::Duration::from_secs(config.whatsapp_timeout_secs),
        )?;
        let waha_http = crate::waha::network::WahaHttp::new(
            config.waha_allow_private_networks,
            std::time::Duration::from_secs(config.whatsapp_timeout_secs),
        )?;
        let ai = crate::ai::provider::Providers::new(&config)?;
        Ok(AppState {
            ai,
            graph,
            waha_http,
            clock: crate::clock::Clock::default(),
            media: crate::media_store::MediaStore::new(&config.data_dir),
            pool,
            tls: config.tls_cert.is_some(),
            config: Arc::new(config),
            mailer: Arc::new(mailer),
            secrets: Arc::new(secrets),
            session_cache: session_store::new_cache(),
            live: crate::live::new_hub(),
            web_connector: Arc::new(crate::whatsapp_web::client::WhatsappRust),
            web_sessions: Default::default(),
        })
    }

    /// An absolute URL for links in mails and pages.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.public_base(), path)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: routes, sessions, CSRF, security headers, tracing.
pub fn router(state: AppState) -> Router {
    let secure = state.config.secure_cookies();
    let sessions = SessionManagerLayer::new(PgSessionStore::new(
        state.pool.clone(),
        state.session_cache.clone(),
    ))
    // `__Host-` pins the cookie to this host and path, but needs Secure.
    .with_name(if secure {
        "__Host-wacrm"
    } else {
        "wacrm_session"
    })
    .with_secure(secure)
    .with_http_only(true)
    .with_same_site(SameSite::Lax)
    .with_path("/")
    .with_expiry(Expiry::OnInactivity(IDLE_TIMEOUT));
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
        let request_id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
    });
    let body_deadline = web::request_body::BodyDeadline(std::time::Duration::from_secs(
        state.config.body_timeout_secs,
    ));
    // A handler that does not answer in time is cut off with 503 (its
    // transaction rolls back); the body is read before the clock starts.
    let handler_timeout = TimeoutLayer::with_status_code(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        std::time::Duration::from_secs(state.config.request_timeout_secs),
    );
    crate::routes::router()
        .layer(handler_timeout)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::csrf::require_token,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            body_deadline,
            web::request_body::read_first,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::headers::security_headers,
        ))
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
