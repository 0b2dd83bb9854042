//! What a workspace does, one module per capability: the inbox, campaigns,
//! automation and AI, orders and bookings, documents, billing, imports and
//! exports, retention and erasure, the audit log, sign-in; the operator's
//! re-sealing of stored secrets; and the [`environment`] that jobs (and the
//! feature code requests share with them) run with.

pub mod account_deletion;
pub mod ai;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod billing;
pub mod bookings;
pub mod campaigns;
pub mod documents;
pub mod environment;
pub mod erasure;
pub mod export;
pub mod import;
pub mod inbox;
pub mod orders;
pub mod reminders;
pub mod retention;
pub mod secret_rotation;
