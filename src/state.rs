//! The application state every handler and job is given.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::features::environment::Environment;
use crate::infra::config::Config;
use crate::infra::mail::Mailer;
use crate::infra::secrets::SecretBox;
use crate::infra::session_store::{self, SessionCache};

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
    /// Read cache of session records; see [`crate::infra::notifications`].
    pub session_cache: Arc<SessionCache>,
    /// Live inbox events of this instance; see [`crate::infra::live`].
    pub live: crate::infra::live::LiveHub,
    /// Meta's Graph API (WhatsApp Cloud API channels).
    pub graph: crate::channels::cloud_api::graph::GraphClient,
    /// Media files fetched from providers, under the data dir.
    pub media: crate::infra::media_store::MediaStore,
    /// Starts linked-device (WhatsApp Web) sessions.
    pub web_connector: Arc<dyn crate::channels::whatsapp_web::link::Connector>,
    /// The linked-device sessions this process runs.
    pub web_sessions: crate::channels::whatsapp_web::running::Running,
    /// Calls to workspaces' WAHA servers (see [`crate::channels::waha::network`]).
    pub waha_http: crate::channels::waha::network::WahaHttp,
    /// The time billing goes by (tests move it).
    pub clock: crate::infra::clock::Clock,
    /// The AI provider (OpenAI-compatible) of the deployment and workspaces.
    pub ai: crate::features::ai::provider::Providers,
}

impl AppState {
    pub fn new(config: Config, pool: PgPool) -> anyhow::Result<AppState> {
        let mailer = Mailer::new(config.smtp_url.as_ref(), &config.mail_from)?;
        let secrets = SecretBox::load(config.secret_key.as_ref(), &config.data_dir)?;
        let graph = crate::channels::cloud_api::graph::GraphClient::new(
            config.whatsapp_graph_url.clone(),
            &config.whatsapp_graph_version,
            std::time::Duration::from_secs(config.whatsapp_timeout_secs),
        )?;
        let waha_http = crate::channels::waha::network::WahaHttp::new(
            config.waha_allow_private_networks,
            std::time::Duration::from_secs(config.whatsapp_timeout_secs),
        )?;
        let ai = crate::features::ai::provider::Providers::new(&config)?;
        Ok(AppState {
            ai,
            graph,
            waha_http,
            clock: crate::infra::clock::Clock::default(),
            media: crate::infra::media_store::MediaStore::new(&config.data_dir),
            pool,
            tls: config.tls_cert.is_some(),
            config: Arc::new(config),
            mailer: Arc::new(mailer),
            secrets: Arc::new(secrets),
            session_cache: session_store::new_cache(),
            live: crate::infra::live::new_hub(),
            web_connector: Arc::new(crate::channels::whatsapp_web::client::WhatsappRust),
            web_sessions: Default::default(),
        })
    }

    /// An absolute URL for links in mails and pages.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.public_base(), path)
    }
}

impl From<&AppState> for Environment {
    fn from(state: &AppState) -> Environment {
        Environment {
            pool: state.pool.clone(),
            config: state.config.clone(),
            mailer: state.mailer.clone(),
            secrets: state.secrets.clone(),
            graph: state.graph.clone(),
            media: state.media.clone(),
            web_sessions: state.web_sessions.clone(),
            waha_http: state.waha_http.clone(),
            clock: state.clock.clone(),
            ai: state.ai.clone(),
        }
    }
}

impl AppState {
    /// The jobs' context, for a request that runs a job's code itself
    /// (a handful of `Arc` clones).
    pub fn env(&self) -> Environment {
        Environment::from(self)
    }
}

// The pieces the tenancy extractors (`infra::tenancy`) and the client
// address read, so they need not name `AppState`.
impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.pool.clone()
    }
}

impl FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Arc<Config> {
        state.config.clone()
    }
}

impl FromRef<AppState> for crate::infra::clock::Clock {
    fn from_ref(state: &AppState) -> crate::infra::clock::Clock {
        state.clock.clone()
    }
}
