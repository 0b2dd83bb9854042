//! What background jobs (and the feature code they share with requests) run
//! with: the services they call and nothing of the HTTP side (sessions, live
//! events, TLS). Built from the app state in one place, `crate::state`
//! (crates.io's worker `Environment`).

use std::borrow::Borrow;
use std::sync::Arc;

use sqlx::PgPool;

use crate::infra::config::Config;
use crate::infra::mail::Mailer;
use crate::infra::secrets::SecretBox;

/// The context of every job; cheap to clone.
#[derive(Clone)]
pub struct Environment {
    /// Connections run as the non-privileged `wacrm_app` role.
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub mailer: Arc<Mailer>,
    pub secrets: Arc<SecretBox>,
    /// Meta's Graph API (WhatsApp Cloud API channels).
    pub graph: crate::channels::cloud_api::graph::GraphClient,
    /// Media files fetched from providers, under the data dir.
    pub media: crate::infra::media_store::MediaStore,
    /// The linked-device sessions this process runs (sends go through them).
    pub web_sessions: crate::channels::whatsapp_web::running::Running,
    /// Calls to workspaces' WAHA servers.
    pub waha_http: crate::channels::waha::network::WahaHttp,
    /// The time billing goes by (tests move it).
    pub clock: crate::infra::clock::Clock,
    /// The AI provider (OpenAI-compatible) of the deployment and workspaces.
    pub ai: crate::features::ai::provider::Providers,
}

impl Environment {
    /// An absolute URL for links in mails.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.public_base(), path)
    }
}

/// The mail job needs only the mailer.
impl Borrow<Mailer> for Environment {
    fn borrow(&self) -> &Mailer {
        &self.mailer
    }
}
