//! wacrm: a multi-tenant WhatsApp CRM in one binary.
//!
//! The tree shows the layers; imports point from `web` down to `domain`
//! (a channel and the inbox call each other: one delivers, the other sends):
//! - [`domain`]: types and rules with no I/O (phone numbers, money, roles).
//! - [`infra`]: what everything stands on: configuration, Postgres and the
//!   tenant context, the job queue, secrets, mail, media files, sessions.
//! - [`channels`]: the WhatsApp wire formats (Cloud API, linked phones, WAHA)
//!   and their clients, feeding the shared inbox.
//! - [`features`]: what a workspace does: inbox, campaigns, billing, AI, ...
//! - [`web`]: HTTP: the routes, the router and the plumbing they share.
//!
//! [`state`] assembles the services a request needs, [`worker`] those of a
//! job and the list of job kinds; [`server`] starts the process.
#![forbid(unsafe_code)]

pub mod channels;
pub mod domain;
pub mod error;
pub mod features;
pub mod infra;
pub mod server;
pub mod state;
pub mod web;
pub mod worker;

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
