//! wacrm: a multi-tenant WhatsApp CRM in one binary.
#![forbid(unsafe_code)]

pub mod account_deletion;
pub mod ai;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod billing;
pub mod bookings;
pub mod campaigns;
pub mod clock;
pub mod config;
pub mod db;
pub mod documents;
pub mod domain;
pub mod embedded_pg;
pub mod erasure;
pub mod error;
pub mod export;
pub mod import;
pub mod inbox;
pub mod jobs;
pub mod live;
pub mod mail;
pub mod media_store;
pub mod notifications;
pub mod orders;
pub mod read_cache;
pub mod reminders;
pub mod retention;
pub mod router;
pub mod routes;
pub mod secrets;
pub mod server;
pub mod session_store;
pub mod state;
pub mod tenancy;
pub mod tls;
pub mod waha;
pub mod web;
pub mod whatsapp;
pub mod whatsapp_web;

/// Logs to stderr; `RUST_LOG` overrides the default level.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
