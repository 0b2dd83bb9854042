//! Infrastructure: configuration, the clock, Postgres (pool, embedded
//! cluster, queries, the tenant context), the job queue and the instance's
//! `LISTEN` connection, sealed secrets, random tokens, mail, media files,
//! sessions, TLS.
//! Nothing here knows about HTTP routes.

pub mod audit_log;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod db;
pub mod embedded_pg;
pub mod jobs;
pub mod live;
pub mod mail;
pub mod media_store;
pub mod notifications;
pub mod rate_limit;
pub mod read_cache;
pub mod secrets;
pub mod session_store;
pub mod tenancy;
pub mod tls;
pub mod tokens;
